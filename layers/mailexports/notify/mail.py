"""Notification email through SES v2, always as a raw MIME message.

Text and HTML alternatives; a `contact_data` file small enough is attached
(fetched from the exports bucket), a bigger one is only linked. Throttling is a
retry, never a drop; a message SES refuses is a final failure.
"""

from __future__ import annotations

import posixpath
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mailexports import aws
from mailexports.config import Settings
from mailexports.exports.requests import ExportType
from mailexports.exports.task import ExportFile, ExportTask, TaskStatus
from mailexports.exports.task_store import now
from mailexports.notify.payloads import email_content
from mailexports.notify.result import DeliveryResult
from mailexports.observability import logger

THROTTLING = frozenset(
    {"TooManyRequestsException", "Throttling", "ThrottlingException", "LimitExceededException"}
)
REJECTED = frozenset(
    {
        "MessageRejected",
        "BadRequestException",
        "InvalidParameterValue",
        "MailFromDomainNotVerifiedException",
        "NotFoundException",
    }
)

_CONTENT_TYPES = {
    ".json": ("application", "json"),
    ".ndjson": ("application", "x-ndjson"),
    ".gz": ("application", "gzip"),
}


class EmailSender:
    def __init__(self, settings: Settings, *, attachment_max_bytes: int, client: Any = None) -> None:
        self._settings = settings
        self._attachment_max_bytes = attachment_max_bytes
        self._client = client

    def send(self, task: ExportTask, event: str, recipient: str) -> DeliveryResult:
        message = self.build(task, event, recipient)
        client = self._client or aws.sesv2()
        try:
            client.send_email(
                FromEmailAddress=self._settings.sender_email,
                Destination={"ToAddresses": [recipient]},
                Content={"Raw": {"Data": message.as_bytes(policy=SMTP)}},
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            logger.warning("SES did not take the notification", extra={"code": code})
            if code in THROTTLING:
                return DeliveryResult("throttled")
            if code in REJECTED:
                return DeliveryResult("rejected", final=True)
            return DeliveryResult("ses_error")
        except BotoCoreError as error:
            logger.warning("SES unreachable", extra={"error": repr(error)})
            return DeliveryResult("ses_error")
        return DeliveryResult("delivered")

    def build(self, task: ExportTask, event: str, recipient: str) -> EmailMessage:
        """The MIME message: multipart/alternative text + HTML, in multipart/mixed with the
        export file when it is attached."""
        attachment = self._attachment(task, event)
        name = posixpath.basename(attachment[0].key) if attachment else None
        content = email_content(task, event, attachment=name)
        message = EmailMessage()
        message["Subject"] = content.subject
        message["From"] = Address("mailexports", addr_spec=self._settings.sender_email)
        message["To"] = Address(addr_spec=recipient)
        message["Date"] = format_datetime(now())
        message["Message-ID"] = make_msgid(domain=self._settings.sender_email.rpartition("@")[2] or None)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
        message.set_content(content.text)
        message.add_alternative(content.html, subtype="html")
        if attachment and name:
            file, data = attachment
            maintype, subtype = _CONTENT_TYPES.get(
                posixpath.splitext(file.key)[1], ("application", "octet-stream")
            )
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        return message

    def _attachment(self, task: ExportTask, event: str) -> tuple[ExportFile, bytes] | None:
        """The contact_data file, when there is one file and it fits under the limit."""
        if (
            event != "export.completed"
            or task.status is not TaskStatus.COMPLETED
            or task.task_type is not ExportType.CONTACT_DATA
            or len(task.files) != 1
            or task.files[0].bytes > self._attachment_max_bytes
        ):
            return None
        file = task.files[0]
        try:
            body = aws.s3().get_object(Bucket=self._settings.exports_bucket, Key=file.key)["Body"]
            data: bytes = body.read(self._attachment_max_bytes + 1)
        except (ClientError, BotoCoreError) as error:
            logger.warning("could not fetch the file to attach; linking it", extra={"error": repr(error)})
            return None
        if len(data) > self._attachment_max_bytes:  # the record understated it: link instead
            return None
        return file, data
