"""Submit -> worker -> NotifyQueue -> notify handler -> receiver, then the task shows it."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from standardwebhooks import Webhook
from tests.builders import FakeLambdaContext, api_event, sqs_event
from tests.conftest import load_handler
from tests.unit.notify.receiver import WebhookReceiver

from mailexports.config import Settings
from mailexports.marketing.records import parse_line
from mailexports.marketing.writer import MarketingWriter
from mailexports.notify import ssrf
from mailexports.notify.service import NotifyMessage
from mailexports.tenants.models import CreatedTenant

LINES = [
    '{"kind":"campaign","campaign_id":"c-1","name":"Spring","subject":"Hi"}',
    '{"kind":"send","stat_id":"981","campaign_id":"c-1","sent_at":"2025-01-01T09:00:00Z"}',
    '{"kind":"event","event_id":"e1","type":"open","stat_id":"981","contact_id":"51","email":"a@example.com","at":"2025-01-01T10:00:00.250Z","ip":"198.51.100.7","user_agent":"UA"}',
    '{"kind":"event","event_id":"e2","type":"click","stat_id":"981","contact_id":"51","email":"a@example.com","at":"2025-01-01T10:01:00Z","url":"https://example.com/x"}',
]


@pytest.fixture
def stack(aws_stack: Settings, tenant: CreatedTenant) -> Iterator[Settings]:
    """The service as the local stack runs it (loopback http webhooks allowed), with data."""
    ssrf.install_policy(ssrf.LOCAL_DEVELOPMENT)  # as the local stack's execution environments do
    MarketingWriter(tenant.tenant_id).write([parse_line(line) for line in LINES])
    yield aws_stack
    ssrf.install_policy(ssrf.STRICT)


@pytest.fixture(scope="module")
def notify_handler() -> ModuleType:
    return load_handler("notify")


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


def call(module: ModuleType, event: dict[str, Any], remaining_ms: int = 900_000) -> dict[str, Any]:
    response: dict[str, Any] = module.lambda_handler(event, FakeLambdaContext(remaining_ms=remaining_ms))
    return response


def deliver_one(queue_url: str, module: ModuleType, queue: str, remaining_ms: int = 900_000) -> str | None:
    """Hand the next visible message to `module`, as the SQS event source would."""
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1).get("Messages")
    if not messages:
        return None
    body = messages[0]["Body"]
    assert call(module, sqs_event(body, queue=queue), remaining_ms) == {"batchItemFailures": []}
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
    return body


def drain(queue_url: str, module: ModuleType, queue: str) -> list[str]:
    bodies = []
    while (body := deliver_one(queue_url, module, queue)) is not None:
        bodies.append(body)
    return bodies


def submit_and_export(handlers: dict[str, ModuleType], stack: Settings, key: str, payload: Any) -> str:
    response = call(handlers["submit"], api_event("POST", "/v1/exports", body=payload, api_key=key))
    assert response["statusCode"] == 202, response["body"]
    drain(stack.export_queue_url, handlers["worker"], "ExportQueue")
    return str(json.loads(response["body"])["task_uuid"])


def get_task(handlers: dict[str, ModuleType], key: str, task_uuid: str) -> dict[str, Any]:
    response = call(
        handlers["status"],
        api_event("GET", f"/v1/exports/{task_uuid}", resource="/v1/exports/{task_uuid}", api_key=key),
    )
    assert response["statusCode"] == 200
    task: dict[str, Any] = json.loads(response["body"])
    return task


def test_a_completed_export_is_delivered_by_webhook_and_shown_on_the_task(
    handlers: dict[str, ModuleType],
    notify_handler: ModuleType,
    stack: Settings,
    tenant: CreatedTenant,
    hooks: WebhookReceiver,
) -> None:
    task_uuid = submit_and_export(
        handlers,
        stack,
        tenant.api_key,
        {
            "type": "campaign_activity",
            "params": {"stat_id": "981"},
            "notify": {"type": "webhook", "value": hooks.url()},
        },
    )
    assert drain(stack.notify_queue_url, notify_handler, "NotifyQueue") == [
        json.dumps({"task_uuid": task_uuid, "event": "export.completed"})
    ]

    [request] = hooks.received
    payload = Webhook(tenant.webhook_secret).verify(request.body, request.headers)
    assert payload["type"] == "export.completed"
    assert payload["data"]["task_uuid"] == task_uuid
    assert payload["data"]["progress"]["records"] == 1

    # The link the webhook carries downloads the file without an API key.
    token = payload["data"]["files"][0]["download_link"].rsplit("/", 1)[1]
    download = call(
        handlers["status"], api_event("GET", f"/v1/downloads/{token}", resource="/v1/downloads/{token}")
    )
    assert download["statusCode"] == 302

    task = get_task(handlers, tenant.api_key, task_uuid)
    assert task["status"] == "completed"
    notification = task["notification"]
    assert notification["type"] == "webhook"
    assert notification["target"] == hooks.url()
    assert notification["status"] == "delivered"
    assert [(a["outcome"], a["http_status"]) for a in notification["attempts"]] == [("delivered", 200)]
    assert "webhook_id" not in notification

    # A redelivered NotifyQueue message sends nothing more.
    body = json.dumps({"task_uuid": task_uuid, "event": "export.completed"})
    assert call(notify_handler, sqs_event(body, queue="NotifyQueue")) == {"batchItemFailures": []}
    assert len(hooks.received) == 1


def test_a_contact_data_export_is_emailed_with_the_file_attached(
    handlers: dict[str, ModuleType], notify_handler: ModuleType, stack: Settings, tenant: CreatedTenant
) -> None:
    task_uuid = submit_and_export(
        handlers,
        stack,
        tenant.api_key,
        {
            "type": "contact_data",
            "params": {"email": "a@example.com"},
            "notify": {"type": "email", "value": "dpo@client.example"},
        },
    )
    drain(stack.notify_queue_url, notify_handler, "NotifyQueue")

    [sent] = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    message = email.message_from_string(sent.raw_data, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    assert message["To"] == "dpo@client.example"
    assert "Contact data export (for a@example.com)" in message["Subject"]
    [attached] = list(message.iter_attachments())
    document = json.loads(attached.get_content())
    assert document["info"] == {"type": "email", "id": "a@example.com"}
    assert [len(kind) for kind in document["data"]][1:3] == [1, 1]  # one open, one click

    notification = get_task(handlers, tenant.api_key, task_uuid)["notification"]
    assert (notification["type"], notification["status"]) == ("email", "delivered")


def test_an_invocation_short_of_time_puts_the_message_back(
    handlers: dict[str, ModuleType],
    notify_handler: ModuleType,
    stack: Settings,
    tenant: CreatedTenant,
    hooks: WebhookReceiver,
) -> None:
    task_uuid = submit_and_export(
        handlers,
        stack,
        tenant.api_key,
        {
            "type": "campaign_activity",
            "params": {"stat_id": "981"},
            "notify": {"type": "webhook", "value": hooks.url()},
        },
    )
    deferred = deliver_one(stack.notify_queue_url, notify_handler, "NotifyQueue", remaining_ms=5_000)
    assert deferred == json.dumps({"task_uuid": task_uuid, "event": "export.completed"})
    assert hooks.received == []
    assert get_task(handlers, tenant.api_key, task_uuid)["notification"]["status"] == "pending"
    # The next invocation gets the same message back and delivers it.
    [again] = drain(stack.notify_queue_url, notify_handler, "NotifyQueue")
    assert NotifyMessage.model_validate_json(again) == NotifyMessage.model_validate_json(deferred)
    assert len(hooks.received) == 1
