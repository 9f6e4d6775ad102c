"""Notification email through SES v2, read back from what moto captured."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from tests.unit.notify.support import FakeClock, FakeQueue, first_message, make_task, stored

from mailexports.config import Settings
from mailexports.exports import download_tokens
from mailexports.exports.requests import ExportType, NotifyTarget
from mailexports.notify.mail import EmailSender
from mailexports.notify.options import NotifyOptions
from mailexports.notify.payloads import human_bytes
from mailexports.notify.service import NotificationService
from mailexports.tenants.models import CreatedTenant

RECIPIENT = "reports@client.example"
CONTACT_FILE = json.dumps(
    {"info": {"type": "email", "id": "abc@example.com"}, "data": [[], [], [], []]}
).encode()


def sent_mail() -> list[EmailMessage]:
    """Every message moto's SES took (SES v2 sends land in the v1 backend), parsed."""
    backend = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    messages = []
    for sent in backend.sent_messages:
        parsed = email.message_from_string(sent.raw_data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        messages.append(parsed)
    return messages


def text_of(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    assert part.get_content_subtype() == subtype
    content = part.get_content()
    assert isinstance(content, str)
    return content


def attachments(message: EmailMessage) -> list[EmailMessage]:
    return list(message.iter_attachments())


def notifier(settings: Settings, queue: FakeQueue | None = None, **options: Any) -> NotificationService:
    return NotificationService(
        settings=settings,
        options=NotifyOptions.model_validate(options),
        queue=queue or FakeQueue(),
        clock=FakeClock(datetime.now(UTC)),
    )


def mail_to(address: str = RECIPIENT) -> NotifyTarget:
    return NotifyTarget(type="email", value=address)


def test_a_completed_export_email_names_it_and_links_the_file(
    aws_stack: Settings, tenant: CreatedTenant
) -> None:
    task = make_task(aws_stack, tenant.tenant_id, mail_to(), contents=[b'{"records": [1, 2, 3]}'])
    notifier(aws_stack).handle(first_message(task))

    [message] = sent_mail()
    assert message["Subject"] == "Your export is ready: Campaign activity export (stat_id 981)"
    assert message["From"].addresses[0].addr_spec == aws_stack.sender_email
    assert message["To"].addresses[0].addr_spec == RECIPIENT
    assert message["Auto-Submitted"] == "auto-generated"
    text, html = text_of(message, "plain"), text_of(message, "html")
    link = next(word for word in text.split() if "/v1/downloads/" in word)
    assert link.startswith("https://api.example.test/dev/v1/downloads/")
    assert download_tokens.verify(urlparse(link).path.rsplit("/", 1)[1]) == (task.task_uuid, 0)
    assert f'href="{link}"' in html
    assert "Records: 3" in text
    assert "Size: 22 bytes" in text
    assert f"Available until: {task.expires_at:%Y-%m-%d %H:%M} UTC" in text
    assert task.task_uuid in text
    assert task.task_uuid in html
    assert attachments(message) == []

    state = stored(task).notification
    assert state is not None
    assert state.status == "delivered"
    assert [(a.outcome, a.http_status) for a in state.attempts] == [("delivered", None)]


def test_a_small_contact_data_file_is_attached(aws_stack: Settings, tenant: CreatedTenant) -> None:
    task = make_task(
        aws_stack,
        tenant.tenant_id,
        mail_to(),
        task_type=ExportType.CONTACT_DATA,
        params={"email": "abc@example.com"},
        contents=[CONTACT_FILE],
    )
    notifier(aws_stack).handle(first_message(task))
    [message] = sent_mail()
    assert message["Subject"] == "Your export is ready: Contact data export (for abc@example.com)"
    [attached] = attachments(message)
    assert attached.get_content_type() == "application/json"
    assert attached.get_filename() == "export-0001.json"
    assert attached.get_content() == CONTACT_FILE
    assert json.loads(attached.get_content())["info"] == {"type": "email", "id": "abc@example.com"}
    text = text_of(message, "plain")
    assert "The file is attached (export-0001.json)" in text
    assert "/v1/downloads/" in text  # the link is there as well


def test_a_contact_data_file_over_the_limit_is_linked_instead(
    aws_stack: Settings, tenant: CreatedTenant
) -> None:
    task = make_task(
        aws_stack,
        tenant.tenant_id,
        mail_to(),
        task_type=ExportType.CONTACT_DATA,
        params={"email": "abc@example.com"},
        contents=[CONTACT_FILE],
    )
    notifier(aws_stack, NOTIFY_ATTACHMENT_MAX_BYTES=len(CONTACT_FILE) - 1).handle(first_message(task))
    [message] = sent_mail()
    assert attachments(message) == []
    text = text_of(message, "plain")
    assert "attached" not in text
    assert "/v1/downloads/" in text


def test_a_failed_export_email_says_why(aws_stack: Settings, tenant: CreatedTenant) -> None:
    task = make_task(aws_stack, tenant.tenant_id, mail_to(), failed=True)
    notifier(aws_stack).handle(first_message(task))
    [message] = sent_mail()
    assert message["Subject"] == "Export failed: Campaign activity export (stat_id 981)"
    assert "Reason: the marketing data could not be read" in text_of(message, "plain")
    assert "/v1/downloads/" not in text_of(message, "plain")


class ThrottledSes:
    """SES answering every send with throttling, as a busy account does."""

    def __init__(self) -> None:
        self.calls = 0

    def send_email(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        raise ClientError(
            {"Error": {"Code": "TooManyRequestsException", "Message": "Maximum sending rate exceeded."}},
            "SendEmail",
        )


def test_ses_throttling_is_retried_with_backoff_never_dropped(
    aws_stack: Settings, tenant: CreatedTenant
) -> None:
    task = make_task(aws_stack, tenant.tenant_id, mail_to())
    queue, clock = FakeQueue(), FakeClock(datetime.now(UTC))
    throttled = NotificationService(
        settings=aws_stack,
        queue=queue,
        clock=clock,
        mailer=EmailSender(aws_stack, attachment_max_bytes=1024, client=ThrottledSes()),
    )
    throttled.handle(first_message(task))
    # Even past the 24-hour horizon, throttling is retried rather than given up on.
    for _ in range(3):
        message, _delay = queue.pop()
        assert message.not_before is not None
        clock.now = message.not_before + timedelta(hours=12)
        throttled.handle(message.model_dump_json())
    state = stored(task).notification
    assert state is not None
    assert state.status == "retrying"
    assert [a.outcome for a in state.attempts] == ["throttled"] * 4
    assert sent_mail() == []

    message, _delay = queue.pop()
    assert message.not_before is not None
    clock.now = message.not_before
    NotificationService(settings=aws_stack, queue=queue, clock=clock).handle(message.model_dump_json())
    assert [a.outcome for a in stored(task).notification.attempts][-1] == "delivered"  # type: ignore[union-attr]
    assert len(sent_mail()) == 1


def test_a_message_ses_rejects_fails_the_notification_without_retrying(
    aws_stack: Settings, tenant: CreatedTenant
) -> None:
    unverified = aws_stack.model_copy(update={"sender_email": "exports@unverified.example"})
    task = make_task(aws_stack, tenant.tenant_id, mail_to())
    queue = FakeQueue()
    notifier(unverified, queue).handle(first_message(task))
    state = stored(task).notification
    assert state is not None
    assert (state.status, [a.outcome for a in state.attempts]) == ("failed", ["rejected"])
    assert queue.sent == []


def test_sizes_read_as_people_write_them() -> None:
    assert [human_bytes(n) for n in (0, 1023, 1024, 1536, 5 * 1024 * 1024 + 512 * 1024, 3 * 1024**3)] == [
        "0 bytes",
        "1023 bytes",
        "1.0 KB",
        "1.5 KB",
        "5.5 MB",
        "3.0 GB",
    ]
