"""What a client may ask for: the canonical submit body and each export type's params."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from mailexports.errors import UnsupportedFormat
from mailexports.marketing.vocabulary import Email


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


# A task id as `since_task`: the export then holds only what arrived after that task's watermark.
SinceTask = Annotated[
    str | None,
    Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[0-9A-Za-z-]+$",
        description=(
            "A completed export of the same type and stat_id/campaign_id: export exactly what reached "
            "the service after its watermark (late events included), up to this task's watermark."
        ),
    ),
]

# The export types whose completed tasks carry a watermark (and whose params take since_task).
WATERMARKED = frozenset({"campaign_activity", "campaign_delivery"})


class CampaignActivityParams(_Params):
    stat_id: TextId
    start_date: date | None = None
    end_date: date | None = None
    events: list[Activity] = Field(default_factory=lambda: list(ALL_ACTIVITIES), min_length=1)
    since_task: SinceTask = None

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
    since_task: SinceTask = None


class ContactDataParams(_Params):
    email: Email


# S3 bucket naming rules: 3-63 of [a-z0-9.-], starting and ending with a letter or digit.
BUCKET_NAME = r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$"
_RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
# A key prefix: no leading `/`, no backslash or control characters (`..` is refused below).
KEY_PREFIX = r"^(?:[^/\x00-\x1f\x7f\\][^\x00-\x1f\x7f\\]*)?$"
# An IAM role ARN in any partition; a path is allowed before the name. ASCII, as IAM means
# its own `[\w+=,.@-]` and as JSON Schema readers take `\w`: pydantic's Rust regex reads
# `\w` and `\d` as Unicode classes, and 64 copies of the Unicode word class took ~20 ms
# to compile in every function's cold start.
ROLE_ARN = r"^arn:aws(?:-cn|-us-gov)?:iam::[0-9]{12}:role/(?:[A-Za-z0-9_+=,.@-]+/)*[A-Za-z0-9_+=,.@-]{1,64}$"


class NotifyTarget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["email", "webhook"]
    value: str = Field(min_length=3, max_length=2048)


class S3Destination(BaseModel):
    """The customer's own bucket: the worker writes the files there under the customer's role."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["s3"]
    bucket: str = Field(
        min_length=3,
        max_length=63,
        pattern=BUCKET_NAME,
        description="An S3 bucket name (lowercase letters, digits, dots and hyphens).",
    )
    prefix: str = Field(
        default="",
        max_length=512,
        pattern=KEY_PREFIX,
        description="Key prefix the files go under, e.g. `exports/mailexports/`; no leading `/`, no `..`.",
    )
    role_arn: str = Field(
        max_length=2048,
        pattern=ROLE_ARN,
        description=(
            "The role the service assumes to write, `arn:aws:iam::<account>:role/<name>`; "
            "its trust policy must require `sts:ExternalId` = your tenant id."
        ),
    )

    @field_validator("bucket")
    @classmethod
    def _bucket_rules(cls, bucket: str) -> str:
        # What the pattern cannot say: S3's other naming rules.
        if ".." in bucket or ".-" in bucket or "-." in bucket:
            raise ValueError("not a valid S3 bucket name (adjacent dots, or a dot next to a hyphen)")
        if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", bucket):
            raise ValueError("an S3 bucket name cannot look like an IP address")
        if bucket.startswith(_RESERVED_BUCKET_PREFIXES) or bucket.endswith(_RESERVED_BUCKET_SUFFIXES):
            raise ValueError("the name uses a prefix or suffix that S3 reserves")
        return bucket

    @field_validator("prefix")
    @classmethod
    def _no_parent(cls, prefix: str) -> str:
        if ".." in prefix:
            raise ValueError("a prefix may not contain `..`")
        return prefix

    def folder(self) -> str:
        """The prefix as a folder: empty, or ending in exactly one `/`."""
        return self.prefix.rstrip("/") + "/" if self.prefix.strip("/") else ""


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
    destination: S3Destination | None = None


def refuse_unsupported_format(request: ExportRequest) -> None:
    """Refused before anything is written: a contact_data file is one nested document, not rows."""
    if request.format == "csv" and request.type is ExportType.CONTACT_DATA:
        raise UnsupportedFormat(
            "a contact_data export is a nested document and cannot be written as csv",
            [{"field": "format", "issue": "csv is not available for contact_data; use json"}],
        )
