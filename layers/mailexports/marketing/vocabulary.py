"""The import format's plain values: the timestamp spelling, the event and contact status
names, the email field.

Apart from the record models (records.py) so that the readers, the exporters, the tasks
and the API use them without building the import format's models, which only the
loader and the SES ingest parse records with.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field

from mailexports.emails import normalized_email

Email = Annotated[str, Field(min_length=3, max_length=320), AfterValidator(normalized_email)]


def iso_ms(value: datetime) -> str:
    """The one timestamp spelling the store and the files use: `2025-03-01T10:11:12.345Z`."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class ContactStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    BOUNCED = "bounced"
    UNSUBSCRIBED = "unsubscribed"


class EventType(StrEnum):
    SEND = "send"
    DELIVERY = "delivery"
    OPEN = "open"
    CLICK = "click"
    SOFT_BOUNCE = "soft_bounce"
    HARD_BOUNCE = "hard_bounce"
    COMPLAINT = "complaint"
    UNSUBSCRIBE = "unsubscribe"
    REJECT = "reject"
