"""A schedule: an export body submitted again at every slot of its expression.

The request bodies validate everything a schedule could get wrong before anything is
stored: the expression (`schedule`), the zone (`timezone`), the export body (`export`,
by the same models as `POST /v1/exports`) and whether it can run incrementally.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from mailexports.exports.requests import CampaignActivityParams, CampaignDeliveryParams, ExportRequest
from mailexports.schedules.expressions import Expression, ExpressionError, parse

# Types whose params take `since_task` (exactly what arrived after that task's watermark).
INCREMENTAL_PARAMS = (CampaignActivityParams, CampaignDeliveryParams)


def _valid_expression(text: str) -> str:
    try:
        parse(text)
    except ExpressionError as error:
        raise ValueError(f"not a schedule expression EventBridge accepts: {error}") from None
    return text.strip()


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def _valid_zone(name: str) -> str:
    # Only real IANA names: ZoneInfo("America") would raise IsADirectoryError, "posixrules" is no zone.
    if name not in _zone_names():
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as Europe/Berlin or UTC)") from None
    return name


ScheduleExpression = Annotated[
    str,
    Field(
        min_length=6,
        max_length=256,
        description='EventBridge syntax: "rate(1 day)", "rate(15 minutes)", or six-field '
        '"cron(minutes hours day-of-month month day-of-week year)" such as "cron(0 2 * * ? *)".',
        examples=["rate(1 day)", "cron(0 2 * * ? *)"],
    ),
    AfterValidator(_valid_expression),
]
TimeZoneName = Annotated[
    str,
    Field(min_length=1, max_length=64, description="IANA time zone the cron fields are read in."),
    AfterValidator(_valid_zone),
]


def refuse_since_task(export: ExportRequest) -> ExportRequest:
    """A schedule chains `since_task` itself (ValueError: pydantic names the field)."""
    if getattr(export.params, "since_task", None) is not None:
        raise ValueError("params.since_task is set by the schedule itself (incremental); leave it out")
    return export


def check_incremental(export: ExportRequest, incremental: bool) -> None:
    if incremental and not isinstance(export.params, INCREMENTAL_PARAMS):
        raise ValueError(
            f"incremental: {export.type} exports cannot run incrementally "
            "(only campaign_activity and campaign_delivery carry a watermark)"
        )


class ScheduleFields(BaseModel):
    """What a stored schedule and its creation have in common."""

    model_config = ConfigDict(extra="forbid")

    schedule: ScheduleExpression
    timezone: TimeZoneName = "UTC"
    incremental: bool = Field(
        default=False, description="Each run exports only what arrived since the previous run (`since_task`)."
    )
    enabled: bool = True

    @property
    def expression(self) -> Expression:
        return parse(self.schedule)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class RunError(BaseModel):
    at: datetime
    code: str
    message: str


class Schedule(ScheduleFields):
    """A stored schedule."""

    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    schedule_id: str
    tenant_id: str
    export: dict[str, Any]  # the submit body, as validated at creation
    created_at: datetime
    updated_at: datetime
    anchor: datetime  # rate slots are anchor + k * period
    next_run_at: datetime | None = None  # None: paused, or the expression has no slot left
    last_run_at: datetime | None = None  # the slot of the latest run
    last_task_uuid: str | None = None
    last_error: RunError | None = None
    runs: int = 0
    api_base_url: str | None = None  # links in the runs' notifications point back here


class SchedulePatch(BaseModel):
    """`PATCH /v1/schedules/{id}`: only what is given changes."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = Field(default=None, description="false pauses the schedule, true resumes it.")
    schedule: ScheduleExpression | None = None
    timezone: TimeZoneName | None = None

    @model_validator(mode="after")
    def _something(self) -> SchedulePatch:
        if not self.model_fields_set:
            raise ValueError("give at least one of enabled, schedule, timezone")
        return self
