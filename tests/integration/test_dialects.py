"""Each seed's own example request, placeholders filled and comments removed, sent over
HTTP to the running local stack; the export is driven to completion by the stack's queue
pumps, and its file, notification or listing is checked against what the demo data says
(recomputed here from the same generated NDJSON lines)."""

from __future__ import annotations

import email
import email.policy
import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import requests
from standardwebhooks import Webhook

from mailexports_dev.generate import GenerateOptions, generate_lines
from mailexports_dev.local.demo import DEMO_SEED
from tests.expectations import (
    Lines,
    busiest_address,
    contact_document,
    delivery_statuses,
    newsletter_activity,
    segment_subscribers,
    selzy_report,
    send_day,
    tracking_rows,
    yyyymmdd,
)
from tests.integration.conftest import RunningStack
from tests.unit.notify.receiver import Received, WebhookReceiver

pytestmark = pytest.mark.integration

WAIT_S = 60


@pytest.fixture(scope="module")
def demo_lines(local_stack: RunningStack) -> Lines:
    """The demo tenant's data, generated again exactly as the stack generated it."""
    options = GenerateOptions(contacts=int(local_stack.demo["contacts"]), seed=DEMO_SEED)
    return Lines([json.loads(line) for line in generate_lines(options)])


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


def wait_for[T](what: str, probe: Callable[[], T | None], timeout: float = WAIT_S) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.25)
    pytest.fail(f"no {what} after {timeout} s")


def webhook(hooks: WebhookReceiver, path: str, secret: str) -> Received:
    """The signed webhook POSTed to `path`, its Standard Webhooks signature verified."""
    received = wait_for(
        f"webhook at {path}", lambda: next((r for r in hooks.received if r.path == path), None)
    )
    assert received.method == "POST"
    Webhook(secret).verify(received.body, received.headers)  # raises unless signed with the tenant's secret
    return received


def outbox_email(stack: RunningStack, recipient: str, marker: str) -> EmailMessage:
    """The email to `recipient` whose text mentions `marker`, as the stack's SES sent it."""

    def find() -> EmailMessage | None:
        for path in sorted(stack.outbox.glob("*.json")) if stack.outbox.is_dir() else []:
            saved = json.loads(path.read_text())
            if recipient in saved["to"] and marker in saved["text"]:
                message = email.message_from_bytes(
                    (stack.outbox / saved["eml"]).read_bytes(), policy=email.policy.default
                )
                assert isinstance(message, EmailMessage)
                return message
        return None

    return wait_for(f"email to {recipient} about {marker}", find)


def download_link_in(text: str) -> str:
    return next(word for word in text.split() if "/v1/downloads/" in word)


def get_json(url: str) -> Any:
    answer = requests.get(url, timeout=10)  # a download link redirects to the signed S3 URL
    assert answer.status_code == 200, answer.text
    return answer.json()


# ------------------------------------------------------------------ Pinpointe
def test_pinpointe_000_newsletter_contact_data_summary_by_webhook(
    local_stack: RunningStack, demo_lines: Lines, hooks: WebhookReceiver
) -> None:
    demo = local_stack.demo
    day = send_day(demo_lines, demo["stat_id"])
    request = {
        "username": demo["username"],
        "usertoken": demo["api_key"],
        "requesttype": "Newsletters",
        "requestmethod": "GetNewsletterContactDataSummaryAsync",
        "details": {
            "stat": demo["stat_id"],
            "startdate": yyyymmdd(day),
            "enddate": yyyymmdd(day + timedelta(days=1)),
            "notify": {"type": "webhook", "value": hooks.url("/pinpointe-000")},
        },
    }
    answer = requests.post(f"{local_stack.api_url}/pinpointe", json=request, timeout=10)
    assert answer.status_code == 200
    assert answer.json()["status"] == "SUCCESS", answer.text
    job_id = answer.json()["data"]

    payload = json.loads(webhook(hooks, "/pinpointe-000", demo["webhook_secret"]).body)
    assert payload["status"] == "SUCCESS"
    assert payload["data"]["jobid"] == job_id
    document = get_json(payload["data"]["url"])
    want = newsletter_activity(demo_lines, demo["stat_id"], day, day + timedelta(days=1))
    assert want
    assert document["records"] == want
    assert document["count"] == payload["data"]["count"] == len(want)


def test_pinpointe_000_by_email(local_stack: RunningStack, demo_lines: Lines) -> None:
    demo = local_stack.demo
    request = {
        "username": demo["username"],
        "usertoken": demo["api_key"],
        "requesttype": "Newsletters",
        "requestmethod": "GetNewsletterContactDataSummaryAsync",
        "details": {
            "stat": demo["stat_id"],
            "notify": {"type": "email", "value": "pinpointe-000@example.com"},
        },
    }
    answer = requests.post(f"{local_stack.api_url}/pinpointe", json=request, timeout=10)
    job_id = answer.json()["data"]
    message = outbox_email(local_stack, "pinpointe-000@example.com", job_id)
    text = message.get_body(("plain",))
    assert text is not None
    document = get_json(download_link_in(text.get_content()))
    assert document["records"] == newsletter_activity(demo_lines, demo["stat_id"])


def test_pinpointe_001_segment_subscribers(
    local_stack: RunningStack, demo_lines: Lines, hooks: WebhookReceiver
) -> None:
    demo = local_stack.demo
    segments = ["seg-1", "seg-2"]
    request = {
        "username": demo["username"],
        "usertoken": demo["api_key"],
        "requesttype": "Segments",
        "requestmethod": "GetSegmentSubscribersAsync",
        "details": {
            "segmentid": segments,
            "status": "active",
            "include_membership": "true",
            "customfields": ["First Name"],
            "notify": {"type": "webhook", "value": hooks.url("/pinpointe-001")},
        },
    }
    answer = requests.post(f"{local_stack.api_url}/pinpointe", json=request, timeout=10)
    assert answer.json()["status"] == "SUCCESS", answer.text

    payload = json.loads(webhook(hooks, "/pinpointe-001", demo["webhook_secret"]).body)
    document = get_json(payload["data"]["url"])
    want = segment_subscribers(demo_lines, segments, "active", True, ["First Name"])
    assert want
    assert document == {"status": "SUCCESS", "data": {"subscribers": want, "count": len(want)}}


def test_pinpointe_errors_over_http(local_stack: RunningStack) -> None:
    demo = local_stack.demo
    request = {
        "username": demo["username"],
        "usertoken": "wrong",
        "requesttype": "Segments",
        "requestmethod": "GetSegmentSubscribersAsync",
        "details": {"segmentid": ["seg-1"], "notify": {"type": "email", "value": "a@example.com"}},
    }
    answer = requests.post(f"{local_stack.api_url}/pinpointe", json=request, timeout=10)
    assert answer.status_code == 401
    assert answer.json() == {"status": "FAILED", "errormessage": "Unable to verify user credentials"}
    request["usertoken"] = demo["api_key"]
    request["details"]["segmentid"] = ["seg-404"]
    answer = requests.post(f"{local_stack.api_url}/pinpointe", json=request, timeout=10)
    assert answer.status_code == 400
    assert answer.json() == {"status": "ERROR", "errormessage": "details.segmentid.0: no segment seg-404"}


# ------------------------------------------------------------------ Selzy
def selzy_task_result(stack: RunningStack, task_uuid: str) -> dict[str, Any] | None:
    query = urlencode({"api_key": stack.demo["api_key"], "task_uuid": task_uuid})
    answer = requests.get(f"{stack.api_url}/selzy/en/api/async/getTaskResult?{query}", timeout=10)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["result"]
    assert result["task_type"] == "getCampaignDeliveryStats"
    assert result["status"] in ("new", "processing", "completed")
    return result if result["status"] == "completed" else None


def test_selzy_get_campaign_delivery_stats_by_get(
    local_stack: RunningStack, demo_lines: Lines, hooks: WebhookReceiver
) -> None:
    demo = local_stack.demo
    notify_url = quote(hooks.url("/selzy"), safe="")
    url = (
        f"{local_stack.api_url}/selzy/en/api/async/getCampaignDeliveryStats?api_key={demo['api_key']}"
        f"&campaign_id={demo['campaign_id']}&notify_url={notify_url}&field_ids[]=1&field_ids[]=2"
    )
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200, answer.text
    task_uuid = answer.json()["result"]["task_uuid"]
    assert answer.json() == {"result": {"task_uuid": task_uuid, "status": "new"}}

    result = wait_for("a completed task", lambda: selzy_task_result(local_stack, task_uuid))
    document = get_json(result["file_to_download"])
    want = delivery_statuses(demo_lines, demo["campaign_id"], None, ["1", "2"])
    assert want
    assert document == selzy_report(demo_lines, demo["campaign_id"], None, ["1", "2"])

    sent = json.loads(webhook(hooks, "/selzy", demo["webhook_secret"]).body)
    assert sent == {
        "result": {
            "task_uuid": task_uuid,
            "task_type": "getCampaignDeliveryStats",
            "status": "completed",
            "file_to_download": sent["result"]["file_to_download"],
        }
    }
    assert get_json(sent["result"]["file_to_download"]) == document


def test_selzy_by_post_form_with_changed_since(local_stack: RunningStack, demo_lines: Lines) -> None:
    demo = local_stack.demo
    everything = delivery_statuses(demo_lines, demo["campaign_id"], None, [])
    middle = everything[len(everything) // 2]["changed_at"]
    since = f"{middle[:10]} {middle[11:19]}"
    form = [("api_key", demo["api_key"]), ("campaign_id", demo["campaign_id"]), ("changed_since", since)]
    answer = requests.post(  # any two-letter language segment
        f"{local_stack.api_url}/selzy/ru/api/async/getCampaignDeliveryStats", data=form, timeout=10
    )
    task_uuid = answer.json()["result"]["task_uuid"]
    result = wait_for("a completed task", lambda: selzy_task_result(local_stack, task_uuid))
    want = delivery_statuses(demo_lines, demo["campaign_id"], f"{middle[:19]}.000Z", [])
    assert 0 < len(want) < len(everything)
    report = selzy_report(demo_lines, demo["campaign_id"], f"{middle[:19]}.000Z", [])
    assert get_json(result["file_to_download"]) == report
    assert len(report["result"]["data"]) == len(want)


def test_selzy_errors_over_http(local_stack: RunningStack) -> None:
    base = f"{local_stack.api_url}/selzy/en/api/async"
    answer = requests.get(f"{base}/getCampaignDeliveryStats?api_key=wrong&campaign_id=1", timeout=10)
    # In-band with HTTP 200, as the vendor answers errors.
    assert (answer.status_code, answer.json()) == (
        200,
        {"error": "invalid api_key", "code": "invalid_api_key"},
    )
    answer = requests.post(f"{base}/getTaskResult", data={"api_key": local_stack.demo["api_key"]}, timeout=10)
    assert (answer.status_code, answer.json()) == (
        200,
        {"error": "task_uuid is required", "code": "invalid_arg"},
    )
    key = local_stack.demo["api_key"]
    answer = requests.post(
        f"{local_stack.api_url}/selzy/eng/api/async/getTaskResult", data={"api_key": key}, timeout=10
    )
    assert (answer.status_code, answer.json()["code"]) == (200, "invalid_arg")
    assert "lang" in answer.json()["error"]
    answer = requests.post(f"{local_stack.api_url}/selzy/en/api/getLists", data={"api_key": key}, timeout=10)
    assert (answer.status_code, answer.json()["code"]) == (200, "unknown_method")


# ------------------------------------------------------------------ Copernica
def copernica_data(stack: RunningStack, identifier: str) -> dict[str, Any] | None:
    answer = requests.get(
        f"{stack.api_url}/copernica/v3/datarequest/{identifier}?access_token={stack.demo['api_key']}",
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "application/json"
    document: dict[str, Any] = answer.json()
    if document["data"] == "Data not available (yet)":
        return None
    return document


def test_copernica_seed_example_report_by_email(local_stack: RunningStack, demo_lines: Lines) -> None:
    address = busiest_address(demo_lines)
    answer = requests.post(
        f"{local_stack.api_url}/copernica/v3/email/{address}/datarequest?access_token={local_stack.demo['api_key']}",
        json={"report": "example@example.com"},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    identifier = answer.headers["X-Created"]
    assert identifier.isdigit()

    want = contact_document(demo_lines, address)
    assert want["data"][0]
    assert want["data"][1]
    assert wait_for("the data", lambda: copernica_data(local_stack, identifier)) == want

    message = outbox_email(local_stack, "example@example.com", address)
    (attachment,) = list(message.iter_attachments())
    assert json.loads(attachment.get_content()) == want  # small enough: attached


def test_copernica_report_web_address_gets_the_json_data(
    local_stack: RunningStack, demo_lines: Lines, hooks: WebhookReceiver
) -> None:
    address = busiest_address(demo_lines)
    query = urlencode({"access_token": local_stack.demo["api_key"], "report": hooks.url("/copernica")})
    answer = requests.post(
        f"{local_stack.api_url}/copernica/v3/email/{quote(address)}/datarequest?{query}", timeout=10
    )
    assert answer.status_code == 201, answer.text
    received = webhook(hooks, "/copernica", local_stack.demo["webhook_secret"])
    assert json.loads(received.body) == contact_document(demo_lines, address)
    assert copernica_data(local_stack, answer.headers["X-Created"]) == json.loads(received.body)


def test_copernica_errors_over_http(local_stack: RunningStack) -> None:
    answer = requests.post(
        f"{local_stack.api_url}/copernica/v3/email/someone@example.com/datarequest?access_token=wrong",
        timeout=10,
    )
    assert (answer.status_code, answer.json()) == (400, {"error": {"message": "invalid access_token"}})
    answer = requests.get(
        f"{local_stack.api_url}/copernica/v3/datarequest/123?access_token={local_stack.demo['api_key']}",
        timeout=10,
    )
    assert (answer.status_code, answer.json()) == (404, {"error": {"message": "no data request 123"}})


# ------------------------------------------------------------------ Constant Contact
def test_constant_contact_opens_listing_follows_next_link(
    local_stack: RunningStack, demo_lines: Lines
) -> None:
    demo = local_stack.demo
    prefix = f"/constantcontact/v2/emailmarketing/campaigns/{demo['campaign_id']}/tracking/opens"
    url = f"{local_stack.api_url}{prefix}?api_key={demo['api_key']}&limit=5"
    rows: list[dict[str, Any]] = []
    while True:
        answer = requests.get(url, headers={"Accept": "application/json"}, timeout=10)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert len(page["results"]) <= 5
        rows += page["results"]
        link = page["meta"]["pagination"].get("next_link")
        if link is None:
            break
        # The vendor's own path: a client puts its base URL (ours ends in /constantcontact/v2) before
        # what follows /v2/.
        assert link.startswith(f"{prefix.removeprefix('/constantcontact')}?next=")
        url = f"{local_stack.api_url}/constantcontact{link}&api_key={demo['api_key']}"
    want = tracking_rows(demo_lines, demo["campaign_id"], "opens", None)
    assert len(want) > 5
    assert rows == want


@pytest.mark.parametrize(
    ("tail", "key", "accept", "status"),
    [
        ("tracking/opens", "wrong", "application/json", 401),
        ("tracking/clicks", "KEY", "text/html", 406),
        ("tracking/opens?limit=501", "KEY", "application/json", 400),
    ],
)
def test_constant_contact_errors_over_http(
    local_stack: RunningStack, tail: str, key: str, accept: str, status: int
) -> None:
    demo = local_stack.demo
    separator = "&" if "?" in tail else "?"
    api_key = demo["api_key"] if key == "KEY" else key
    url = f"{local_stack.api_url}/constantcontact/v2/emailmarketing/campaigns/{demo['campaign_id']}/{tail}"
    answer = requests.get(f"{url}{separator}api_key={api_key}", headers={"Accept": accept}, timeout=10)
    assert answer.status_code == status
    (error,) = answer.json()
    assert set(error) == {"error_key", "error_message"}


def test_constant_contact_unknown_campaign_is_404(local_stack: RunningStack) -> None:
    url = f"{local_stack.api_url}/constantcontact/v2/emailmarketing/campaigns/404404/tracking/opens"
    answer = requests.get(f"{url}?api_key={local_stack.demo['api_key']}", timeout=10)
    assert answer.status_code == 404
    assert answer.json() == [
        {"error_key": "http.status.not_found", "error_message": "Campaign ID 404404 not found."}
    ]
