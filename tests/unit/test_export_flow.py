"""The canonical API end to end in-process: submit, the worker, status, download."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
import requests
from tests.builders import FakeLambdaContext, api_event, sqs_event

from mailexports.config import Settings
from mailexports.marketing.records import parse_line
from mailexports.marketing.writer import MarketingWriter
from mailexports.tenants.models import CreatedTenant

LINES = [
    '{"kind":"campaign","campaign_id":"c-1","name":"Spring","subject":"Hi"}',
    '{"kind":"send","stat_id":"981","campaign_id":"c-1","sent_at":"2025-01-01T09:00:00Z"}',
    '{"kind":"event","event_id":"e1","type":"open","stat_id":"981","contact_id":"51","email":"a@example.com","at":"2025-01-01T10:00:00.250Z","ip":"198.51.100.7","user_agent":"UA"}',
    '{"kind":"event","event_id":"e2","type":"click","stat_id":"981","contact_id":"51","email":"a@example.com","at":"2025-01-01T10:01:00Z","url":"https://example.com/x"}',
    '{"kind":"event","event_id":"e3","type":"open","stat_id":"981","contact_id":"52","email":"b@example.com","at":"2025-01-02T00:00:00Z"}',
    '{"kind":"event","event_id":"e4","type":"delivery","stat_id":"981","contact_id":"53","email":"c@example.com","at":"2025-01-01T09:00:05Z"}',
]


@pytest.fixture
def seeded(tenant: CreatedTenant) -> CreatedTenant:
    MarketingWriter(tenant.tenant_id).write([parse_line(line) for line in LINES])
    return tenant


def call(handlers: dict[str, ModuleType], function: str, event: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = handlers[function].lambda_handler(event, FakeLambdaContext())
    return response


def body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def on_task(
    handlers: dict[str, ModuleType], method: str, task_uuid: str, key: str, suffix: str = ""
) -> dict[str, Any]:
    """GET (status), GET .../download or DELETE (submit) one task, as API Gateway would call it."""
    event = api_event(
        method, f"/v1/exports/{task_uuid}{suffix}", resource="/v1/exports/{task_uuid}" + suffix, api_key=key
    )
    return call(handlers, "submit" if method == "DELETE" else "status", event)


def download(url: str) -> bytes:
    """Fetch a presigned URL the way a client would (moto answers it in-process)."""
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.content


def header(response: dict[str, Any], name: str) -> str | None:
    """A response header, whichever of API Gateway's two header maps carries it."""
    single = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    multi = {k.lower(): v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()}
    return single.get(name.lower(), multi.get(name.lower()))


def drain_export_queue(handlers: dict[str, ModuleType], settings: Settings) -> int:
    """Deliver every queued export message to the worker, as the SQS event source would."""
    sqs = boto3.client("sqs")
    delivered = 0
    while messages := sqs.receive_message(QueueUrl=settings.export_queue_url, MaxNumberOfMessages=1).get(
        "Messages"
    ):
        result = call(handlers, "worker", sqs_event(messages[0]["Body"]))
        assert result == {"batchItemFailures": []}
        sqs.delete_message(QueueUrl=settings.export_queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
        delivered += 1
    return delivered


def submit(handlers: dict[str, ModuleType], key: str, payload: Any, **headers: str) -> dict[str, Any]:
    return call(
        handlers, "submit", api_event("POST", "/v1/exports", body=payload, api_key=key, headers=headers)
    )


def test_campaign_activity_export_from_submit_to_file(
    handlers: dict[str, ModuleType], aws_stack: Settings, seeded: CreatedTenant
) -> None:
    response = submit(handlers, seeded.api_key, {"type": "campaign_activity", "params": {"stat_id": "981"}})
    assert response["statusCode"] == 202
    task = body(response)
    assert task["status"] == "new"
    assert header(response, "Location") == f"https://api.example.test/v1/exports/{task['task_uuid']}"

    assert drain_export_queue(handlers, aws_stack) == 1

    status = on_task(handlers, "GET", task["task_uuid"], seeded.api_key)
    assert status["statusCode"] == 200
    assert header(status, "Retry-After") is None
    done = body(status)
    assert done["status"] == "completed"
    assert done["progress"]["records"] == 2
    url = urlparse(done["file_to_download"])
    assert int(parse_qs(url.query)["X-Amz-Expires"][0]) == aws_stack.presign_ttl_seconds

    document = json.loads(download(done["file_to_download"]))
    assert document["count"] == 2
    assert document["task_uuid"] == task["task_uuid"]
    by_contact = {r["contact_id"]: r for r in document["records"]}
    assert by_contact["51"]["email"] == "a@example.com"
    assert [o["at"] for o in by_contact["51"]["opens"]] == ["2025-01-01T10:00:00.250Z"]
    assert [c["url"] for c in by_contact["51"]["clicks"]] == ["https://example.com/x"]
    assert by_contact["52"]["clicks"] == []
    assert "53" not in by_contact  # a delivery is not activity


def test_date_window_is_start_inclusive_end_exclusive(
    handlers: dict[str, ModuleType], aws_stack: Settings, seeded: CreatedTenant
) -> None:
    params = {"stat_id": "981", "start_date": "2025-01-01", "end_date": "2025-01-02"}
    task = body(
        submit(handlers, seeded.api_key, {"type": "campaign_activity", "params": params, "format": "ndjson"})
    )
    drain_export_queue(handlers, aws_stack)
    done = body(on_task(handlers, "GET", task["task_uuid"], seeded.api_key))
    lines = download(done["file_to_download"]).splitlines()
    assert [json.loads(line)["contact_id"] for line in lines] == ["51"]  # 52 opened at exactly the end


def test_unfinished_task_says_when_to_poll_again(
    handlers: dict[str, ModuleType], aws_stack: Settings, seeded: CreatedTenant
) -> None:
    task = body(submit(handlers, seeded.api_key, {"type": "campaign_activity", "params": {"stat_id": "981"}}))
    status = on_task(handlers, "GET", task["task_uuid"], seeded.api_key)
    assert header(status, "Retry-After") == "5"
    assert body(status)["file_to_download"] is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": "campaign_activity", "params": {}}, "params.stat_id"),
        (
            {"type": "campaign_activity", "params": {"stat_id": "981", "events": ["bounce"]}},
            "params.events.0",
        ),
        (
            {"type": "campaign_activity", "params": {"stat_id": "981", "start_date": "2025-13-01"}},
            "params.start_date",
        ),
        ({"type": "mystery", "params": {}}, "type"),
        ({"type": "campaign_activity", "params": {"stat_id": "981"}, "format": "xml"}, "format"),
        ({"type": "campaign_activity", "params": {"stat_id": "404"}}, "params.stat_id"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field_and_writes_nothing(
    handlers: dict[str, ModuleType], aws_stack: Settings, seeded: CreatedTenant, payload: Any, field: str
) -> None:
    response = submit(handlers, seeded.api_key, payload)
    assert 400 <= response["statusCode"] < 500
    error = body(response)["error"]
    assert field in [d["field"] for d in error["details"]]
    assert boto3.client("dynamodb").scan(TableName=aws_stack.tasks_table)["Count"] == 0
    assert "Messages" not in boto3.client("sqs").receive_message(QueueUrl=aws_stack.export_queue_url)


@pytest.mark.parametrize("raw", ["", "{not json", "[1, 2]"])
def test_malformed_bodies_are_400(handlers: dict[str, ModuleType], seeded: CreatedTenant, raw: str) -> None:
    response = submit(handlers, seeded.api_key, raw)
    assert response["statusCode"] == 400
    assert body(response)["error"]["code"] == "validation_error"


def test_missing_or_wrong_key_is_401_json(handlers: dict[str, ModuleType], seeded: CreatedTenant) -> None:
    for key in (None, "mxk_wrong"):
        response = submit(handlers, key, {"type": "campaign_activity", "params": {"stat_id": "981"}})  # type: ignore[arg-type]
        assert response["statusCode"] == 401
        assert body(response)["error"]["code"] == "unauthorized"


def test_another_tenants_task_is_404(
    handlers: dict[str, ModuleType], aws_stack: Settings, seeded: CreatedTenant
) -> None:
    from mailexports.tenants.service import create_tenant

    other = create_tenant("other", "other@example.com")
    task = body(submit(handlers, seeded.api_key, {"type": "campaign_activity", "params": {"stat_id": "981"}}))
    for method, function in (("GET", "status"), ("DELETE", "submit")):
        event = api_event(
            method,
            f"/v1/exports/{task['task_uuid']}",
            resource="/v1/exports/{task_uuid}",
            api_key=other.api_key,
        )
        assert call(handlers, function, event)["statusCode"] == 404


def test_idempotency_key_returns_the_same_task_and_refuses_another_body(
    handlers: dict[str, ModuleType], aws_stack: Settings, seeded: CreatedTenant
) -> None:
    payload = {"type": "campaign_activity", "params": {"stat_id": "981"}}
    first = body(submit(handlers, seeded.api_key, payload, **{"Idempotency-Key": "k-1"}))
    again = body(submit(handlers, seeded.api_key, payload, **{"Idempotency-Key": "k-1"}))
    assert again["task_uuid"] == first["task_uuid"]
    other = submit(handlers, seeded.api_key, {**payload, "format": "ndjson"}, **{"Idempotency-Key": "k-1"})
    assert other["statusCode"] == 422
    assert boto3.client("dynamodb").scan(TableName=aws_stack.tasks_table)["Count"] == 1
    # The retried submit re-sent the message; the duplicate makes no second file.
    assert drain_export_queue(handlers, aws_stack) == 2
    objects = boto3.client("s3").list_objects_v2(Bucket=aws_stack.exports_bucket).get("Contents", [])
    assert len(objects) == 1


def test_cancel_then_worker_does_nothing(
    handlers: dict[str, ModuleType], aws_stack: Settings, seeded: CreatedTenant
) -> None:
    task = body(submit(handlers, seeded.api_key, {"type": "campaign_activity", "params": {"stat_id": "981"}}))
    cancel = on_task(handlers, "DELETE", task["task_uuid"], seeded.api_key)
    assert body(cancel)["status"] == "cancelled"
    drain_export_queue(handlers, aws_stack)
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=aws_stack.exports_bucket)
    again = on_task(handlers, "DELETE", task["task_uuid"], seeded.api_key)
    assert again["statusCode"] == 409


def test_list_is_newest_first_with_a_cursor(
    handlers: dict[str, ModuleType], aws_stack: Settings, seeded: CreatedTenant
) -> None:
    made = [
        body(submit(handlers, seeded.api_key, {"type": "campaign_activity", "params": {"stat_id": "981"}}))[
            "task_uuid"
        ]
        for _ in range(3)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = body(
            call(handlers, "status", api_event("GET", "/v1/exports", query=query, api_key=seeded.api_key))
        )
        seen += [t["task_uuid"] for t in page["exports"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(made))
    bad = call(
        handlers,
        "status",
        api_event("GET", "/v1/exports", query={"status": "sleeping"}, api_key=seeded.api_key),
    )
    assert bad["statusCode"] == 400


def test_download_token_link_redirects_without_an_api_key_and_refuses_tampering(
    handlers: dict[str, ModuleType], aws_stack: Settings, seeded: CreatedTenant
) -> None:
    task = body(submit(handlers, seeded.api_key, {"type": "campaign_activity", "params": {"stat_id": "981"}}))
    drain_export_queue(handlers, aws_stack)
    done = body(on_task(handlers, "GET", task["task_uuid"], seeded.api_key))
    link = done["files"][0]["download_link"]
    assert link.startswith("https://api.example.test/v1/downloads/")
    token = link.rsplit("/", 1)[1]
    redirect = call(
        handlers, "status", api_event("GET", f"/v1/downloads/{token}", resource="/v1/downloads/{token}")
    )
    assert redirect["statusCode"] == 302
    assert "X-Amz-Signature" in (header(redirect, "Location") or "")
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (forged, "garbage", token.split(".")[0]):
        answer = call(
            handlers, "status", api_event("GET", f"/v1/downloads/{bad}", resource="/v1/downloads/{token}")
        )
        assert answer["statusCode"] == 404


def test_download_redirects_to_a_fresh_signed_url(
    handlers: dict[str, ModuleType], aws_stack: Settings, seeded: CreatedTenant
) -> None:
    task = body(submit(handlers, seeded.api_key, {"type": "campaign_activity", "params": {"stat_id": "981"}}))
    early = on_task(handlers, "GET", task["task_uuid"], seeded.api_key, "/download")
    assert early["statusCode"] == 409
    drain_export_queue(handlers, aws_stack)
    answer = on_task(handlers, "GET", task["task_uuid"], seeded.api_key, "/download")
    assert answer["statusCode"] == 302
    query = parse_qs(urlparse(header(answer, "Location") or "").query)
    assert int(query["X-Amz-Expires"][0]) == aws_stack.presign_ttl_seconds


@pytest.mark.parametrize(
    ("notify", "issue_part"),
    [
        ({"type": "webhook", "value": "https://169.254.169.254/latest/meta-data"}, ""),
        ({"type": "webhook", "value": "http://hooks.example.com/x"}, "https"),
        ({"type": "webhook", "value": "https://user:pw@hooks.example.com/x"}, ""),
        ({"type": "email", "value": "not-an-address"}, ""),
    ],
)
def test_a_refused_notify_target_is_400_at_submit_and_nothing_is_written(
    handlers: dict[str, ModuleType],
    aws_stack: Settings,
    seeded: CreatedTenant,
    notify: dict[str, str],
    issue_part: str,
) -> None:
    payload = {"type": "campaign_activity", "params": {"stat_id": "981"}, "notify": notify}
    response = submit(handlers, seeded.api_key, payload)
    assert response["statusCode"] == 400, response["body"]
    details = body(response)["error"]["details"]
    assert [d["field"] for d in details] == ["notify.value"]
    assert issue_part.lower() in details[0]["issue"].lower()
    assert boto3.client("dynamodb").scan(TableName=aws_stack.tasks_table)["Count"] == 0


def test_an_allowed_webhook_target_is_accepted_and_shows_on_the_task(
    handlers: dict[str, ModuleType],
    aws_stack: Settings,
    seeded: CreatedTenant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mailexports.notify import ssrf

    monkeypatch.setattr(ssrf, "resolve_host", lambda host, port=443: ["93.184.215.14"])
    notify = {"type": "webhook", "value": "https://hooks.example.com/exports"}
    response = submit(
        handlers,
        seeded.api_key,
        {"type": "campaign_activity", "params": {"stat_id": "981"}, "notify": notify},
    )
    assert response["statusCode"] == 202, response["body"]
    assert body(response)["notification"] == {
        "type": "webhook",
        "target": "https://hooks.example.com/exports",
        "status": "pending",
        "attempts": [],
    }


def test_an_absurdly_long_task_id_is_simply_unknown(
    handlers: dict[str, ModuleType], seeded: CreatedTenant
) -> None:
    answer = on_task(handlers, "GET", "x" * 5000, seeded.api_key)
    assert answer["statusCode"] == 404
    assert body(answer)["error"]["code"] == "not_found"
