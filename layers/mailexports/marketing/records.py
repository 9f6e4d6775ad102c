"""The import format (DESIGN.md, "Marketing data and its import format") as models.

One NDJSON line is one record; `kind` picks the model. This is a public contract:
tests outside the project generate it, the loader parses it, the generator
writes it and the SES ingest produces `EventRecord`s.
"""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
)

# The plain values are the format's too; they live apart so that code which only reads
# or writes them does not build these models.
from mailexports.marketing.vocabulary import ContactStatus as ContactStatus
from mailexports.marketing.vocabulary import Email as Email
from mailexports.marketing.vocabulary import EventType as EventType

# `#` separates the parts of the store's keys, so an id may not contain it.
Id = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^#]+$")]
# Timestamps may come with any offset; the store keeps UTC.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(lambda v: v.astimezone(UTC))]
# Byte-exact text: records strip whitespace elsewhere, but a MIME message ends in CRLF.
RawText = Annotated[str, StringConstraints(strip_whitespace=False)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# A recipient's delivery status for a campaign is the latest of these events.
DELIVERY_STATUS_OF: dict[EventType, str] = {
    EventType.SEND: "sent",
    EventType.DELIVERY: "delivered",
    EventType.SOFT_BOUNCE: "soft_bounce",
    EventType.HARD_BOUNCE: "hard_bounce",
    EventType.COMPLAINT: "complaint",
    EventType.UNSUBSCRIBE: "unsubscribe",
    EventType.REJECT: "reject",
}

ENGAGEMENT_TYPES = frozenset({EventType.OPEN, EventType.CLICK})


class FieldRecord(_Record):
    kind: Literal["field"] = "field"
    field_id: Id
    name: Id


class TagRecord(_Record):
    kind: Literal["tag"] = "tag"
    tag: Id


class ContactRecord(_Record):
    kind: Literal["contact"] = "contact"
    contact_id: Id
    email: Email
    status: ContactStatus = ContactStatus.ACTIVE
    created_at: UtcDatetime | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    tags: list[Id] = Field(default_factory=list)
    segments: list[Id] = Field(default_factory=list)


class CampaignRecord(_Record):
    kind: Literal["campaign"] = "campaign"
    campaign_id: Id
    name: str = ""
    subject: str = ""


class SendRecord(_Record):
    kind: Literal["send"] = "send"
    stat_id: Id
    campaign_id: Id
    sent_at: UtcDatetime


class MessageRecord(_Record):
    kind: Literal["message"] = "message"
    message_id: Id
    stat_id: Id
    contact_id: Id
    email: Email
    sent_at: UtcDatetime
    mime: RawText


class EventRecord(_Record):
    kind: Literal["event"] = "event"
    event_id: Id
    type: EventType
    stat_id: Id
    contact_id: Id
    email: Email
    at: UtcDatetime
    ip: str | None = None
    user_agent: str | None = None
    url: str | None = None


class SurveyResponseRecord(_Record):
    kind: Literal["survey_response"] = "survey_response"
    response_id: Id
    survey_id: Id
    email: Email
    at: UtcDatetime
    answers: dict[str, Any] = Field(default_factory=dict)


ImportRecord = Annotated[
    FieldRecord
    | TagRecord
    | ContactRecord
    | CampaignRecord
    | SendRecord
    | MessageRecord
    | EventRecord
    | SurveyResponseRecord,
    Field(discriminator="kind"),
]

IMPORT_RECORD: TypeAdapter[ImportRecord] = TypeAdapter(ImportRecord)


def parse_line(line: str | bytes) -> ImportRecord:
    """Parse one NDJSON line; raises `pydantic.ValidationError` naming the bad field."""
    return IMPORT_RECORD.validate_json(line)
