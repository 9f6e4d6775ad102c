"""Selzy (seed 002) through the real handlers, worker and store, on generated data."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
from tests.builders import api_event
from tests.expectations import SELZY_SEND_RESULT, delivery_statuses, selzy_report, selzy_time
from tests.unit.dialects.support import (
    Answer,
    Dataset,
    call,
    fetch,
    follow_download_link,
    form_event,
    queued_exports,
    run_worker,
    stored_tasks,
)

from mailexports.config import Settings
from mailexports.dialects.dialect import payload_builders
from mailexports.dialects.selzy_webhook import WEBHOOK
from mailexports.exports.task_store import DynamoTaskStore
from mailexports.marketing.records import parse_line
from mailexports.marketing.writer import MarketingWriter
from mailexports.notify.payloads import build_payload
from mailexports.tenants.models import CreatedTenant
from mailexports.tenants.service import create_tenant

pytestmark = pytest.mark.usefixtures("public_dns")

STATS = "/selzy/en/api/async/getCampaignDeliveryStats"
RESULT = "/selzy/en/api/async/getTaskResult"
HOOK = "https://hooks.example.com/selzy"

PAYLOADS = payload_builders([WEBHOOK])  # what the notify handler hands the notifier


def request(handlers: dict[str, ModuleType], method: str, path: str, params: list[tuple[str, str]]) -> Answer:
    function = "submit" if path == STATS else "status"
    return call(handlers, function, form_event(method, path, params))


def task_result(handlers: dict[str, ModuleType], key: str, task_uuid: str, method: str = "GET") -> Answer:
    return request(handlers, method, RESULT, [("api_key", key), ("task_uuid", task_uuid)])


def exported(
    handlers: dict[str, ModuleType], settings: Settings, method: str, params: list[tuple[str, str]]
) -> tuple[str, Any]:
    """getCampaignDeliveryStats, the worker, getTaskResult, the file."""
    answer = request(handlers, method, STATS, params)
    assert answer.status == 200, answer.raw
    task_uuid = answer.body["result"]["task_uuid"]
    assert answer.body == {"result": {"task_uuid": task_uuid, "status": "new"}}
    key = dict(params)["api_key"]
    waiting = task_result(handlers, key, task_uuid).body
    assert waiting == {
        "result": {"task_uuid": task_uuid, "task_type": "getCampaignDeliveryStats", "status": "new"}
    }
    assert run_worker(handlers, settings) == 1
    done = task_result(handlers, key, task_uuid).body["result"]
    assert set(done) == {"task_uuid", "task_type", "status", "file_to_download"}
    assert (done["task_type"], done["status"]) == ("getCampaignDeliveryStats", "completed")
    return task_uuid, json.loads(fetch(done["file_to_download"]))


def test_seed_example_by_get(handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset) -> None:
    campaign_id = data.of("send")[0]["campaign_id"]
    params = [("api_key", data.tenant.api_key), ("campaign_id", campaign_id)]
    _, document = exported(handlers, aws_stack, "GET", params)
    want = delivery_statuses(data, campaign_id, None, [])
    assert want
    assert len({r["status"] for r in want}) >= 2
    assert document == selzy_report(data, campaign_id, None, [])
    assert len(document["result"]["data"]) == len(want)


@pytest.mark.parametrize(
    "spelling",
    [
        [("field_ids[]", "1"), ("field_ids[]", "3")],  # the seed's
        [("field_ids[0]", "1"), ("field_ids[1]", "3")],  # PHP's http_build_query
        [("field_ids", "1,3")],
    ],
)
def test_form_post_with_changed_since_and_field_ids(
    handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset, spelling: list[tuple[str, str]]
) -> None:
    campaign_id = data.of("send")[0]["campaign_id"]
    everything = delivery_statuses(data, campaign_id, None, [])
    since = selzy_time(everything[len(everything) // 2]["changed_at"])
    params = [
        ("api_key", data.tenant.api_key),
        ("campaign_id", campaign_id),
        ("changed_since", since),
        *spelling,
    ]
    _, document = exported(handlers, aws_stack, "POST", params)
    want = delivery_statuses(data, campaign_id, since.replace(" ", "T") + ".000Z", ["1", "3"])
    assert 0 < len(want) < len(everything)
    assert any(value is not None for r in want for value in r["fields"].values())
    report = selzy_report(data, campaign_id, since.replace(" ", "T") + ".000Z", ["1", "3"])
    assert document == report
    assert document["result"]["fields"] == ["email", "send_result", "last_update", "1", "3"]
    assert len(document["result"]["data"]) == len(want)


@pytest.mark.parametrize(
    ("since", "included"), [("2025-03-01 09:00:05", True), ("2025-03-01 09:00:06", False)]
)
def test_changed_since_is_inclusive_utc(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant, since: str, included: bool
) -> None:
    delivery = '{"kind":"event","event_id":"d-1","type":"delivery","stat_id":"981","contact_id":"51","email":"abc@example.com","at":"2025-03-01T09:00:05Z"}'
    MarketingWriter(minimal.tenant_id).write([parse_line(delivery)])
    params = [("api_key", minimal.api_key), ("campaign_id", "1100394165287"), ("changed_since", since)]
    _, document = exported(handlers, aws_stack, "GET", params)
    assert [row[2] for row in document["result"]["data"]] == (["2025-03-01 09:00:05"] if included else [])


def test_every_delivery_status_becomes_the_vendors_send_result(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant
) -> None:
    """One recipient per delivery-kind event; the report says each in the vendor's code."""
    kinds = ["send", "delivery", "soft_bounce", "hard_bounce", "complaint", "unsubscribe", "reject"]
    lines = []
    for n, kind in enumerate(kinds):
        contact = f"c-{n}"
        email = f"{kind}@example.com"
        lines.append(
            f'{{"kind":"contact","contact_id":"{contact}","email":"{email}","status":"active",'
            f'"created_at":"2025-01-02T03:04:05Z","custom_fields":{{"First Name":"N{n}"}}}}'
        )
        lines.append(
            f'{{"kind":"event","event_id":"d-{n}","type":"{kind}","stat_id":"981","contact_id":"{contact}",'
            f'"email":"{email}","at":"2025-03-01T09:00:0{n}.250Z"}}'
        )
    MarketingWriter(minimal.tenant_id).write([parse_line(line) for line in lines])
    params = [("api_key", minimal.api_key), ("campaign_id", "1100394165287"), ("field_ids[]", "1")]
    _, document = exported(handlers, aws_stack, "POST", params)
    assert document["result"]["fields"] == ["email", "send_result", "last_update", "1"]
    statuses = ["sent", "delivered", "soft_bounce", "hard_bounce", "complaint", "unsubscribe", "reject"]
    assert document["result"]["data"] == [
        [f"{kind}@example.com", SELZY_SEND_RESULT[status], f"2025-03-01 09:00:0{n}", f"N{n}"]
        for n, (kind, status) in enumerate(zip(kinds, statuses, strict=True))
    ]


def test_get_task_result_by_post_form(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant
) -> None:
    answer = request(
        handlers, "POST", STATS, [("api_key", minimal.api_key), ("campaign_id", "1100394165287")]
    )
    task_uuid = answer.body["result"]["task_uuid"]
    run_worker(handlers, aws_stack)
    result = task_result(handlers, minimal.api_key, task_uuid, "POST").body["result"]
    assert result["status"] == "completed"
    assert result["file_to_download"].startswith("https://")


def test_notify_url_receives_the_completed_get_task_result_json(
    handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset
) -> None:
    campaign_id = data.of("send")[0]["campaign_id"]
    params = [("api_key", data.tenant.api_key), ("campaign_id", campaign_id), ("notify_url", HOOK)]
    task_uuid, document = exported(handlers, aws_stack, "GET", params)
    task = DynamoTaskStore().get(task_uuid, data.tenant.tenant_id)
    assert task.notification is not None
    assert (task.notification.type, task.notification.target) == ("webhook", HOOK)
    payload = json.loads(build_payload(task, "export.completed", PAYLOADS))
    link = payload["result"]["file_to_download"]
    assert payload == {
        "result": {
            "task_uuid": task_uuid,
            "task_type": "getCampaignDeliveryStats",
            "status": "completed",
            "file_to_download": link,
        }
    }
    assert json.loads(follow_download_link(handlers, link)) == document  # valid for days, not minutes


# ------------------------------------------------------------------ errors
STATS_ERRORS: list[tuple[str, list[tuple[str, str]], str, str]] = [
    ("no api_key", [("campaign_id", "1100394165287")], "invalid_api_key", "api_key is required"),
    (
        "wrong api_key",
        [("api_key", "mxk_wrong"), ("campaign_id", "1100394165287")],
        "invalid_api_key",
        "invalid api_key",
    ),
    ("no campaign_id", [("api_key", "KEY")], "invalid_arg", "campaign_id is required"),
    (
        "unknown campaign",
        [("api_key", "KEY"), ("campaign_id", "404")],
        "invalid_arg",
        "campaign_id: no campaign 404",
    ),
    (
        "unknown field id",
        [("api_key", "KEY"), ("campaign_id", "1100394165287"), ("field_ids[]", "1"), ("field_ids[]", "77")],
        "invalid_arg",
        "no custom field with id 77",
    ),
    *[
        (
            f"changed_since {value!r}",
            [("api_key", "KEY"), ("campaign_id", "1100394165287"), ("changed_since", value)],
            "invalid_arg",
            "changed_since must be a UTC time as YYYY-MM-DD hh:mm:ss",
        )
        for value in ("2025/03/01 10:00:00", "yesterday", "2025-03-01 25:00:00", "2025-03-01T10:00:00Z")
    ],
    (
        "http notify_url",
        [("api_key", "KEY"), ("campaign_id", "1100394165287"), ("notify_url", "http://hooks.example.com/x")],
        "invalid_arg",
        "notify_url is not usable: the URL must use https",
    ),
    (
        "loopback notify_url",
        [("api_key", "KEY"), ("campaign_id", "1100394165287"), ("notify_url", "https://127.0.0.1/x")],
        "invalid_arg",
        "notify_url is not usable",
    ),
]


@pytest.mark.parametrize(
    ("case", "params", "code", "message"), STATS_ERRORS, ids=[c[0] for c in STATS_ERRORS]
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_delivery_stats_errors_are_selzy_errors_and_write_nothing(
    handlers: dict[str, ModuleType],
    aws_stack: Settings,
    minimal: CreatedTenant,
    method: str,
    case: str,
    params: list[tuple[str, str]],
    code: str,
    message: str,
) -> None:
    filled = [(name, minimal.api_key if value == "KEY" else value) for name, value in params]
    answer = request(handlers, method, STATS, filled)
    assert answer.status == 200, answer.raw  # in-band, as the vendor answers errors
    assert set(answer.body) == {"error", "code"}
    assert answer.body["code"] == code
    assert message in answer.body["error"]
    assert stored_tasks(aws_stack) == 0
    assert queued_exports(aws_stack) == 0


def test_task_result_errors(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant
) -> None:
    created = request(
        handlers, "GET", STATS, [("api_key", minimal.api_key), ("campaign_id", "1100394165287")]
    )
    task_uuid = created.body["result"]["task_uuid"]
    other = create_tenant("other", "other@example.org")

    def error(params: list[tuple[str, str]]) -> tuple[int, dict[str, Any]]:
        answer = request(handlers, "GET", RESULT, params)
        return answer.status, answer.body

    assert error([("task_uuid", task_uuid)]) == (
        200,
        {"error": "api_key is required", "code": "invalid_api_key"},
    )
    assert error([("api_key", minimal.api_key)]) == (
        200,
        {"error": "task_uuid is required", "code": "invalid_arg"},
    )
    for unknown in ("ff719cf2-4ed9-11e9-8647-d663bd873d93", "not-a-uuid", "x" * 3000):
        status, body = error([("api_key", minimal.api_key), ("task_uuid", unknown)])
        assert (status, body["code"]) == (200, "invalid_arg")
        assert "task_uuid" in body["error"]
    # Another tenant's task is indistinguishable from an unknown one.
    status, body = error([("api_key", other.api_key), ("task_uuid", task_uuid)])
    assert (status, body["code"]) == (200, "invalid_arg")
    assert task_uuid in body["error"]


def test_a_task_of_another_dialect_answers_with_its_method_name(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant
) -> None:
    event = api_event(
        "POST",
        "/v1/exports",
        body={"type": "campaign_activity", "params": {"stat_id": "981"}},
        api_key=minimal.api_key,
    )
    task_uuid = call(handlers, "submit", event).body["task_uuid"]
    result = task_result(handlers, minimal.api_key, task_uuid).body["result"]
    assert result == {"task_uuid": task_uuid, "task_type": "campaign_activity", "status": "new"}


def test_a_multipart_form_post(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant
) -> None:
    from urllib3 import encode_multipart_formdata

    fields = [
        ("api_key", minimal.api_key),
        ("campaign_id", "1100394165287"),
        ("field_ids[]", "1"),
        ("field_ids[]", "2"),
    ]
    body, content_type = encode_multipart_formdata(fields)
    event = api_event("POST", STATS, body=body.decode(), headers={"Content-Type": content_type})
    answer = call(handlers, "submit", event)
    assert answer.status == 200, answer.raw
    task = DynamoTaskStore().get(answer.body["result"]["task_uuid"], minimal.tenant_id)
    assert task.params["field_ids"] == ["1", "2"]


# ------------------------------------------------------------------ language segment, other methods
@pytest.mark.parametrize("lang", ["en", "ru", "de", "EN"])
def test_any_two_letter_language(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant, lang: str
) -> None:
    stats = STATS.replace("/en/", f"/{lang}/")
    params = [("api_key", minimal.api_key), ("campaign_id", "1100394165287")]
    created = call(handlers, "submit", form_event("POST", stats, params))
    assert created.status == 200, created.raw
    task_uuid = created.body["result"]["task_uuid"]
    result = RESULT.replace("/en/", f"/{lang}/")
    answer = call(handlers, "status", form_event("GET", result, [*params[:1], ("task_uuid", task_uuid)]))
    assert answer.body["result"]["task_uuid"] == task_uuid


@pytest.mark.parametrize("lang", ["eng", "e1", "e", "%D1%80%D1%83"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_language_segment_that_is_not_two_letters_is_refused_in_band(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant, lang: str, method: str
) -> None:
    params = [("api_key", minimal.api_key), ("campaign_id", "1100394165287")]
    for function, path in (("submit", STATS), ("status", RESULT)):
        answer = call(handlers, function, form_event(method, path.replace("/en/", f"/{lang}/"), params))
        assert answer.status == 200, answer.raw
        assert answer.body["code"] == "invalid_arg"
        assert "language segment" in answer.body["error"]
    assert stored_tasks(aws_stack) == 0
    assert queued_exports(aws_stack) == 0


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_another_vendor_method_is_unknown_method(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant, method: str
) -> None:
    path = "/selzy/en/api/getCampaignDeliveryStats"  # the synchronous method, not served
    answer = call(handlers, "status", form_event(method, path, [("api_key", minimal.api_key)]))
    assert (answer.status, answer.body["code"]) == (200, "unknown_method"), answer.raw
    assert "getCampaignDeliveryStats" in answer.body["error"]
    # The key is checked first, as on every route.
    answer = call(handlers, "status", form_event(method, path, [("api_key", "mxk_wrong")]))
    assert (answer.status, answer.body["code"]) == (200, "invalid_api_key"), answer.raw
    assert stored_tasks(aws_stack) == 0


def test_an_http_method_the_vendor_does_not_take_is_unknown_method(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant
) -> None:
    answer = call(handlers, "status", api_event("DELETE", RESULT, query={"api_key": minimal.api_key}))
    assert (answer.status, answer.body["code"]) == (200, "unknown_method"), answer.raw
