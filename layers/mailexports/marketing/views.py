"""What the marketing-data readers return: one model per record an export or listing emits.

Timestamps are aware UTC datetimes in Python and the store's one spelling
(`2025-03-01T10:11:12.345Z`) in `model_dump(mode="json")`, so a file says what
the store says.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer

from mailexports.marketing.vocabulary import iso_ms

Timestamp = Annotated[AwareDatetime, PlainSerializer(iso_ms, return_type=str, when_used="json")]


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class Send(_View):
    stat_id: str
    campaign_id: str
    sent_at: Timestamp


class Campaign(_View):
    campaign_id: str
    name: str = ""
    subject: str = ""


class Open(_View):
    at: Timestamp
    ip: str | None = None
    user_agent: str | None = None


class Click(_View):
    at: Timestamp
    url: str | None = None
    ip: str | None = None
    user_agent: str | None = None


class ContactActivity(_View):
    """One contact's opens and clicks of one send (a `campaign_activity` record)."""

    contact_id: str
    email: str
    opens: list[Open] = Field(default_factory=list)
    clicks: list[Click] = Field(default_factory=list)


class ContactView(_View):
    """A contact profile (a `segment_contacts` record before the exporter picks fields)."""

    contact_id: str
    email: str
    status: str
    created_at: Timestamp | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)  # by field NAME
    tags: list[str] = Field(default_factory=list)
    segments: list[str] = Field(default_factory=list)


class RecipientStatus(_View):
    """One recipient's delivery status for a campaign (a `campaign_delivery` record)."""

    email: str
    contact_id: str
    status: str
    changed_at: Timestamp
    fields: dict[str, Any] = Field(default_factory=dict)  # by field ID, only when asked for

    @property
    def cursor(self) -> tuple[datetime, str]:
        """What to pass as `after=` to resume right after this record."""
        return (self.changed_at, self.contact_id)


class Message(_View):
    message_id: str
    stat_id: str
    contact_id: str
    email: str
    sent_at: Timestamp
    mime: str


class EmailEvent(_View):
    """An open or click of one address (part of a `contact_data` file)."""

    event_id: str
    type: str
    stat_id: str
    campaign_id: str | None = None
    contact_id: str
    email: str
    at: Timestamp
    ip: str | None = None
    user_agent: str | None = None
    url: str | None = None


class SurveyResponse(_View):
    response_id: str
    survey_id: str
    email: str
    at: Timestamp
    answers: dict[str, Any] = Field(default_factory=dict)


class TrackingEvent(_View):
    """One row of the synchronous opens/clicks listing."""

    event_id: str
    campaign_id: str
    stat_id: str
    contact_id: str
    email: str
    at: Timestamp
    url: str | None = None
    ip: str | None = None
    user_agent: str | None = None


class TrackingPage(_View):
    items: list[TrackingEvent]
    # Opaque; None on the last page.
    next_cursor: str | None = None


@dataclass(frozen=True)
class ContactData:
    """Everything known about one address except its profile, each kind in time order.

    The iterators are lazy and single-use: nothing is read until one is iterated,
    so an exporter can stream one kind after the other.
    """

    email: str
    messages: Iterator[Message]
    opens: Iterator[EmailEvent]
    clicks: Iterator[EmailEvent]
    survey_responses: Iterator[SurveyResponse]
