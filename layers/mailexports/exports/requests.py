"""What a client may ask for: the canonical submit body and each export type's params."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from mailexports.errors import UnsupportedFormat
from mailexports.marketing.records import Email


def _text_id(value: object) -> object:
    """Clients send ids as numbers or strings; the store keys are strings."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Constraints before the validator: in the other order pydantic leaves `pattern` out of the JSON schema.
TextId = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^#]+$"), BeforeValidator(_text_id)]
UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]


ExportFormat = Literal["json", "ndjson", "csv"]
Activity = Literal["open", "click"]
ALL_ACTIVITIES: tuple[Activity, ...] = ("open", "click")


class ExportType(StrEnum):
    CAMPAIGN_ACTIVITY = "campaign_activity"
    SEGMENT_CONTACTS = "segment_contacts"
    CAMPAIGN_DELIVERY = "campaign_delivery"
    CONTACT_DATA = "contact_data"


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CampaignActivityParams(_Params):
    stat_id: TextId
    start_date: date | None = None
    end_date: date | None = None
    events: list[Activity] = Field(default_factory=lambda: list(ALL_ACTIVITIES), min_length=1)
    since_task: str | None = None

    @model_validator(mode="after")
    def _window(self) -> CampaignActivityParams:
        if self.start_date and self.end_date and self.end_date <= self.start_date:
            raise ValueError("end_date must be after start_date (the interval is [start, end))")
        return self

    @property
    def start(self) -> datetime | None:
        """Dates mean midnight UTC; the window is [start, end)."""
        return datetime.combine(self.start_date, time(), UTC) if self.start_date else None

    @property
    def end(self) -> datetime | None:
        return datetime.combine(self.end_date, time(), UTC) if self.end_date else None


class SegmentContactsParams(_Params):
    segment_ids: list[TextId] = Field(min_length=1, max_length=100)
    status: Literal["any", "active", "inactive", "bounced", "unsubscribed"] = "any"
    include_membership: bool = False
    custom_fields: list[str] | Literal["all"] = Field(default_factory=list)


class CampaignDeliveryParams(_Params):
    campaign_id: TextId
    changed_since: UtcDateTime | None = None
    field_ids: list[TextId] = Field(default_factory=list, max_length=100)
    since_task: str | None = None


class ContactDataParams(_Params):
    email: Email


class NotifyTarget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["email", "webhook"]
    value: str = Field(min_length=3, max_length=2048)


PARAMS_MODEL: dict[ExportType, type[_Params]] = {
    ExportType.CAMPAIGN_ACTIVITY: CampaignActivityParams,
    ExportType.SEGMENT_CONTACTS: SegmentContactsParams,
    ExportType.CAMPAIGN_DELIVERY: CampaignDeliveryParams,
    ExportType.CONTACT_DATA: ContactDataParams,
}

ExportParams = CampaignActivityParams | SegmentContactsParams | CampaignDeliveryParams | ContactDataParams


class ExportRequest(BaseModel):
    """The canonical submit body, with `params` validated by the model of its `type`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ExportType
    params: ExportParams
    notify: NotifyTarget | None = None
    format: ExportFormat = "json"
    compression: Literal["none", "gzip"] = "none"


def refuse_unsupported_format(request: ExportRequest) -> None:
    """Refused before anything is written: a contact_data file is one nested document, not rows."""
    if request.format == "csv" and request.type is ExportType.CONTACT_DATA:
        raise UnsupportedFormat(
            "a contact_data export is a nested document and cannot be written as csv",
            [{"field": "format", "issue": "csv is not available for contact_data; use json"}],
        )
