"""What a client may ask for: the canonical submit body, validated into 4xx errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from mailexports.errors import UnsupportedFormat, ValidationFailed, error_details
from mailexports.marketing.records import Email


def _text_id(value: object) -> object:
    """Clients send ids as numbers or strings; the store keys are strings."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


TextId = Annotated[str, BeforeValidator(_text_id), Field(min_length=1, max_length=256, pattern=r"^[^#]+$")]
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


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ExportType
    params: dict[str, Any] = Field(default_factory=dict)
    notify: NotifyTarget | None = None
    format: ExportFormat = "json"
    compression: Literal["none", "gzip"] = "none"


def parse_export_request(body: object) -> ExportRequest:
    """Validate a submit body; every problem is reported with its full field path."""
    if not isinstance(body, dict):
        raise ValidationFailed("the request body must be a JSON object")
    try:
        envelope = _Envelope.model_validate(body)
    except ValidationError as error:
        raise ValidationFailed("invalid export request", error_details(error)) from None
    try:
        params = PARAMS_MODEL[envelope.type].model_validate(envelope.params)
    except ValidationError as error:
        raise ValidationFailed(
            f"invalid params for a {envelope.type} export", error_details(error, ("params",))
        ) from None
    if envelope.format == "csv" and envelope.type is ExportType.CONTACT_DATA:
        # Refused before anything is written: the file is one nested document, not rows.
        raise UnsupportedFormat(
            "a contact_data export is a nested document and cannot be written as csv",
            [{"field": "format", "issue": "csv is not available for contact_data; use json"}],
        )
    return ExportRequest(
        type=envelope.type,
        params=params,
        notify=envelope.notify,
        format=envelope.format,
        compression=envelope.compression,
    )
