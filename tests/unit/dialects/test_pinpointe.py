"""Pinpointe (seeds 000 and 001) through the real handlers, worker and store, on generated data."""

from __future__ import annotations

import copy
import json
from types import ModuleType
from typing import Any

import pytest
from tests.builders import api_event
from tests.expectations import (
    day_after,
    newsletter_activity,
    segment_subscribers,
    send_day,
    yyyymmdd,
)
from tests.unit.dialects.support import (
    Answer,
    Dataset,
    call,
    fetch,
    follow_download_link,
    queued_exports,
    run_worker,
    stored_tasks,
)

from mailexports.config import Settings
from mailexports.dialects.dialect import payload_builders
from mailexports.dialects.pinpointe_webhook import WEBHOOK
from mailexports.dialects.pinpointe_wire import LOGIN_FAILED
from mailexports.exports.task import TaskError, TaskStatus
from mailexports.exports.task_store import DynamoTaskStore
from mailexports.exports.task_view import presigned_url
from mailexports.marketing.records import parse_line
from mailexports.marketing.writer import MarketingWriter
from mailexports.notify.payloads import build_payload
from mailexports.tenants.models import CreatedTenant

pytestmark = pytest.mark.usefixtures("public_dns")

HOOK = "https://hooks.example.com/pinpointe"

PAYLOADS = payload_builders([WEBHOOK])  # what the notify handler hands the notifier


def newsletter_request(tenant: CreatedTenant, stat: str, start: str, end: str) -> dict[str, Any]:
    """Seed 000's JSON request example, placeholders filled and comments removed."""
    return {
        "username": tenant.username,
        "usertoken": tenant.api_key,
        "requesttype": "Newsletters",
        "requestmethod": "GetNewsletterContactDataSummaryAsync",
        "details": {
            "stat": stat,
            "startdate": start,
            "enddate": end,
            "notify": {"type": "webhook", "value": HOOK},
        },
    }


def segments_request(tenant: CreatedTenant, segments: list[str]) -> dict[str, Any]:
    """Seed 001's JSON request example, placeholders filled and comments removed."""
    return {
        "username": tenant.username,
        "usertoken": tenant.api_key,
        "requesttype": "Segments",
        "requestmethod": "GetSegmentSubscribersAsync",
        "details": {
            "segmentid": segments,
            "status": "active",
            "include_membership": "true",
            "customfields": ["First Name"],
            "notify": {"type": "email", "value": "reports@example.com"},
        },
    }


def post(handlers: dict[str, ModuleType], body: Any) -> Answer:
    raw = body if isinstance(body, str) else json.dumps(body)
    return call(handlers, "submit", api_event("POST", "/pinpointe", body=raw))


def job(handlers: dict[str, ModuleType], settings: Settings, body: dict[str, Any]) -> tuple[str, Any]:
    """Submit, run the worker, return the job id and the JSON file it produced."""
    answer = post(handlers, body)
    assert answer.status == 200, answer.raw
    assert answer.body["status"] == "SUCCESS", answer.raw
    job_id = answer.body["data"]
    assert run_worker(handlers, settings) == 1
    task = DynamoTaskStore().load(job_id)
    assert task is not None
    assert task.status == "completed"
    return job_id, json.loads(fetch(presigned_url(task.files[0])))


# ------------------------------------------------------------------ 000: newsletters
def test_seed_000_example_exports_opens_and_clicks_of_the_send_day(
    handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset
) -> None:
    stat = data.of("send")[0]["stat_id"]
    day = send_day(data, stat)
    body = newsletter_request(data.tenant, stat, yyyymmdd(day), yyyymmdd(day_after(day)))
    job_id, document = job(handlers, aws_stack, body)

    want = newsletter_activity(data, stat, day, day_after(day))
    everything = newsletter_activity(data, stat)
    assert want
    assert want != everything  # the window really cuts: some activity falls after the end
    assert document["records"] == want
    assert document["count"] == len(want)
    assert document["task_uuid"] == job_id

    task = DynamoTaskStore().get(job_id, data.tenant.tenant_id)
    assert task.dialect == "pinpointe"
    assert task.notification is not None
    assert (task.notification.type, task.notification.target) == ("webhook", HOOK)


def test_startdate_and_enddate_are_optional(
    handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset
) -> None:
    stat = data.of("send")[1]["stat_id"]
    body = newsletter_request(data.tenant, stat, "", "")
    del body["details"]["startdate"], body["details"]["enddate"]
    _, document = job(handlers, aws_stack, body)
    assert document["records"] == newsletter_activity(data, stat)


def test_the_seeds_20250101_to_20250102_selects_exactly_january_1(
    handlers: dict[str, ModuleType], aws_stack: Settings, tenant: CreatedTenant
) -> None:
    times = [
        "2024-12-31T23:59:59.999Z",
        "2025-01-01T00:00:00Z",
        "2025-01-01T23:59:59.999Z",
        "2025-01-02T00:00:00Z",
    ]
    lines = [
        '{"kind":"campaign","campaign_id":"c-1","name":"New year","subject":"Hi"}',
        '{"kind":"send","stat_id":"981","campaign_id":"c-1","sent_at":"2024-12-31T09:00:00Z"}',
    ] + [
        json.dumps(
            {
                "kind": "event",
                "event_id": f"e{i}",
                "type": "open",
                "stat_id": "981",
                "contact_id": f"{50 + i}",
                "email": f"c{i}@example.com",
                "at": at,
            }
        )
        for i, at in enumerate(times)
    ]
    MarketingWriter(tenant.tenant_id).write([parse_line(line) for line in lines])
    _, document = job(handlers, aws_stack, newsletter_request(tenant, "981", "20250101", "20250102"))
    assert [r["contact_id"] for r in document["records"]] == ["51", "52"]


def test_the_webhook_payload_carries_the_job_and_the_link_to_the_json_file(
    handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset
) -> None:
    stat = data.of("send")[0]["stat_id"]
    job_id, document = job(handlers, aws_stack, newsletter_request(data.tenant, stat, "", ""))
    task = DynamoTaskStore().get(job_id, data.tenant.tenant_id)
    payload = json.loads(build_payload(task, "export.completed", PAYLOADS))
    assert payload["status"] == "SUCCESS"
    sent = payload["data"]
    assert sent["jobid"] == job_id
    assert sent["requesttype"] == "Newsletters"
    assert sent["requestmethod"] == "GetNewsletterContactDataSummaryAsync"
    assert sent["status"] == "completed"
    assert sent["count"] == document["count"]
    assert sent["urls"] == [sent["url"]]
    assert sent["url"].startswith("https://api.example.test/v1/downloads/")
    assert json.loads(follow_download_link(handlers, sent["url"])) == document


def test_a_failed_job_is_reported_as_error(
    handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset
) -> None:
    answer = post(handlers, newsletter_request(data.tenant, data.of("send")[0]["stat_id"], "", ""))
    store = DynamoTaskStore()
    task = store.get(answer.body["data"], data.tenant.tenant_id)
    failed = task.model_copy(
        update={"status": TaskStatus.FAILED, "error": TaskError(code="export_failed", message="disk on fire")}
    )
    payload = json.loads(build_payload(failed, "export.failed", PAYLOADS))
    assert payload["status"] == "ERROR"
    assert payload["errormessage"] == "disk on fire"
    assert payload["data"]["jobid"] == task.task_uuid


# ------------------------------------------------------------------ 001: segments
def test_seed_001_example_file_carries_count_and_subscribers(
    handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset
) -> None:
    segments = ["seg-1", "seg-2"]
    job_id, document = job(handlers, aws_stack, segments_request(data.tenant, segments))
    want = segment_subscribers(data, segments, "active", True, ["First Name"])
    assert want
    assert document == {"status": "SUCCESS", "data": {"subscribers": want, "count": len(want)}}
    task = DynamoTaskStore().get(job_id, data.tenant.tenant_id)
    assert task.notification is not None
    assert (task.notification.type, task.notification.target) == ("email", "reports@example.com")


@pytest.mark.parametrize(
    ("changes", "segments", "status", "membership", "fields"),
    [
        ({"segmentid": "seg-3"}, ["seg-3"], "active", True, ["First Name"]),  # a single string
        ({"status": None}, ["seg-1", "seg-2"], "any", True, ["First Name"]),  # default any
        ({"status": "unsubscribed"}, ["seg-1", "seg-2"], "unsubscribed", True, ["First Name"]),
        ({"include_membership": "1"}, ["seg-1", "seg-2"], "active", True, ["First Name"]),
        ({"include_membership": "yes"}, ["seg-1", "seg-2"], "active", True, ["First Name"]),
        ({"include_membership": True}, ["seg-1", "seg-2"], "active", True, ["First Name"]),
        ({"include_membership": "false"}, ["seg-1", "seg-2"], "active", False, ["First Name"]),
        ({"include_membership": "0"}, ["seg-1", "seg-2"], "active", False, ["First Name"]),
        ({"include_membership": "no"}, ["seg-1", "seg-2"], "active", False, ["First Name"]),
        ({"include_membership": None}, ["seg-1", "seg-2"], "active", False, ["First Name"]),
        ({"customfields": "all"}, ["seg-1", "seg-2"], "active", True, "all"),
        ({"customfields": ["all"]}, ["seg-1", "seg-2"], "active", True, "all"),
        ({"customfields": ["City", "No Such"]}, ["seg-1", "seg-2"], "active", True, ["City", "No Such"]),
        ({"customfields": None}, ["seg-1", "seg-2"], "active", True, []),
    ],
)
def test_segment_details(
    handlers: dict[str, ModuleType],
    aws_stack: Settings,
    data: Dataset,
    changes: dict[str, Any],
    segments: list[str],
    status: str,
    membership: bool,
    fields: list[str] | str,
) -> None:
    body = segments_request(data.tenant, ["seg-1", "seg-2"])
    for name, value in changes.items():
        if value is None:
            del body["details"][name]
        else:
            body["details"][name] = value
    _, document = job(handlers, aws_stack, body)
    want = segment_subscribers(data, segments, status, membership, fields)
    assert want
    assert document["data"] == {"subscribers": want, "count": len(want)}


def test_the_tables_requesttype_seg_is_accepted(
    handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset
) -> None:
    body = segments_request(data.tenant, ["seg-1"])
    body["requesttype"] = "seg"
    _, document = job(handlers, aws_stack, body)
    assert document["data"]["count"] == len(
        segment_subscribers(data, ["seg-1"], "active", True, ["First Name"])
    )


# ------------------------------------------------------------------ errors
def _without(body: dict[str, Any], *path: str) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    target = changed
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return changed


def _with(body: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


NEWSLETTER_ERRORS: list[tuple[str, Any, str]] = [
    ("wrong usertoken", lambda b: _with(b, "mxk_not_a_key", "usertoken"), LOGIN_FAILED),
    ("wrong username", lambda b: _with(b, "someone@else.example", "username"), LOGIN_FAILED),
    ("no username", lambda b: _without(b, "username"), LOGIN_FAILED),
    ("no usertoken", lambda b: _without(b, "usertoken"), LOGIN_FAILED),
    ("usertoken not a string", lambda b: _with(b, ["mxk_x"], "usertoken"), LOGIN_FAILED),
    ("unknown requesttype", lambda b: _with(b, "Lists", "requesttype"), "unknown requesttype 'Lists'"),
    ("no requesttype", lambda b: _without(b, "requesttype"), "requesttype is required"),
    ("unknown requestmethod", lambda b: _with(b, "GetSummary", "requestmethod"), "unknown requestmethod"),
    (
        "the other type's method",
        lambda b: _with(b, "GetSegmentSubscribersAsync", "requestmethod"),
        "use GetNewsletterContactDataSummaryAsync",
    ),
    ("no details", lambda b: _without(b, "details"), "details is required"),
    ("details not an object", lambda b: _with(b, ["981"], "details"), "details must be an object"),
    ("no stat", lambda b: _without(b, "details", "stat"), "details.stat is required"),
    ("unknown stat", lambda b: _with(b, "999999", "details", "stat"), "no campaign send with stat_id 999999"),
    (
        "dashed startdate",
        lambda b: _with(b, "2025-01-01", "details", "startdate"),
        "details.startdate must be",
    ),
    ("impossible enddate", lambda b: _with(b, "20251301", "details", "enddate"), "details.enddate must be"),
    ("short startdate", lambda b: _with(b, "2025011", "details", "startdate"), "YYYYMMDD"),
    (
        "enddate before startdate",
        lambda b: _with(_with(b, "20250105", "details", "startdate"), "20250105", "details", "enddate"),
        "details.enddate must be after details.startdate",
    ),
    ("no notify", lambda b: _without(b, "details", "notify"), "details.notify is required"),
    ("notify type sms", lambda b: _with(b, "sms", "details", "notify", "type"), "email or webhook"),
    (
        "no notify value",
        lambda b: _without(b, "details", "notify", "value"),
        "details.notify.value is required",
    ),
    (
        "bad email",
        lambda b: _with(
            _with(b, "email", "details", "notify", "type"), "nobody", "details", "notify", "value"
        ),
        "details.notify.value is not usable",
    ),
    ("http webhook", lambda b: _with(b, "http://hooks.example.com/x", "details", "notify", "value"), "https"),
    (
        "private webhook",
        lambda b: _with(b, "https://10.1.2.3/hook", "details", "notify", "value"),
        "details.notify.value is not usable",
    ),
]


@pytest.mark.parametrize(
    ("case", "change", "message"), NEWSLETTER_ERRORS, ids=[c[0] for c in NEWSLETTER_ERRORS]
)
def test_newsletter_errors_are_pinpointe_errors_and_write_nothing(
    handlers: dict[str, ModuleType],
    aws_stack: Settings,
    minimal: CreatedTenant,
    case: str,
    change: Any,
    message: str,
) -> None:
    body = change(newsletter_request(minimal, "981", "20250301", "20250305"))
    answer = post(handlers, body)
    if message == LOGIN_FAILED:  # the vendor's failed login: 401, one fixed message
        assert answer.status == 401, answer.raw
        assert answer.body == {"status": "FAILED", "errormessage": LOGIN_FAILED}
    else:
        assert answer.status == 400, answer.raw
        assert answer.body["status"] == "ERROR", answer.raw
        assert message in answer.body["errormessage"]
        assert set(answer.body) == {"status", "errormessage"}
    assert stored_tasks(aws_stack) == 0
    assert queued_exports(aws_stack) == 0


SEGMENT_ERRORS: list[tuple[str, Any, str]] = [
    ("no segmentid", lambda b: _without(b, "details", "segmentid"), "details.segmentid is required"),
    ("empty segmentid", lambda b: _with(b, [], "details", "segmentid"), "details.segmentid is required"),
    ("blank segment", lambda b: _with(b, ["seg-1", " "], "details", "segmentid"), "details.segmentid.1"),
    (
        "unknown segment",
        lambda b: _with(b, ["seg-1", "seg-404"], "details", "segmentid"),
        "no segment seg-404",
    ),
    ("unknown status", lambda b: _with(b, "deleted", "details", "status"), "details.status must be one of"),
    (
        "include_membership maybe",
        lambda b: _with(b, "maybe", "details", "include_membership"),
        "details.include_membership must be true, 1 or yes",
    ),
    ("customfields not names", lambda b: _with(b, [1], "details", "customfields"), "details.customfields"),
    ("no notify", lambda b: _without(b, "details", "notify"), "details.notify is required"),
]


@pytest.mark.parametrize(("case", "change", "message"), SEGMENT_ERRORS, ids=[c[0] for c in SEGMENT_ERRORS])
def test_segment_errors_are_pinpointe_errors_and_write_nothing(
    handlers: dict[str, ModuleType],
    aws_stack: Settings,
    minimal: CreatedTenant,
    case: str,
    change: Any,
    message: str,
) -> None:
    answer = post(handlers, change(segments_request(minimal, ["seg-1", "seg-2"])))
    assert answer.status == 400, answer.raw
    assert answer.body["status"] == "ERROR", answer.raw
    assert message in answer.body["errormessage"]
    assert stored_tasks(aws_stack) == 0
    assert queued_exports(aws_stack) == 0


@pytest.mark.parametrize(
    ("raw", "message"), [("", "empty"), ("{not json", "not valid JSON"), ("[1]", "JSON object")]
)
def test_a_body_that_is_not_a_json_object_is_an_error(
    handlers: dict[str, ModuleType], aws_stack: Settings, raw: str, message: str
) -> None:
    answer = post(handlers, raw)
    assert answer.status == 400
    assert answer.body["status"] == "ERROR"
    assert message in answer.body["errormessage"]
