"""The wire shapes of `/v1/schedules`: the create body Powertools validates, and the answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from mailexports.api.schemas import SubmitBody
from mailexports.schedules.models import (
    ScheduleExpression,
    TimeZoneName,
    check_incremental,
    refuse_since_task,
)


class ScheduleBody(BaseModel):
    """`POST /v1/schedules`."""

    model_config = ConfigDict(extra="forbid")

    export: SubmitBody = Field(description="What each run exports: a `POST /v1/exports` body.")
    schedule: ScheduleExpression
    timezone: TimeZoneName = "UTC"
    incremental: bool = Field(
        default=False,
        validate_default=True,  # the export's fit is checked either way
        description="Each run exports only what arrived after the previous run's watermark "
        "(`params.since_task`); campaign_activity and campaign_delivery only.",
    )
    enabled: bool = True

    @field_validator("export")
    @classmethod
    def _no_since_task(cls, export: Any) -> Any:
        return refuse_since_task(export)

    @field_validator("incremental")
    @classmethod
    def _fits_export(cls, incremental: bool, info: ValidationInfo) -> bool:
        export = info.data.get("export")
        if export is not None:  # otherwise `export` is already reported
            check_incremental(export, incremental)
        return incremental


class RunErrorView(BaseModel):
    at: str
    code: str
    message: str


class ScheduleView(BaseModel):
    """A schedule as the API answers it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    export: dict[str, Any]
    schedule: str
    timezone: str
    incremental: bool
    enabled: bool
    created_at: str
    updated_at: str
    next_run_at: str | None = Field(description="The next slot (UTC); null while paused.")
    last_run_at: str | None = Field(description="The slot of the latest run.")
    last_task_uuid: str | None = Field(description="The task of the latest run.")
    last_error: RunErrorView | None = Field(description="Why the latest run was refused, if it was.")
    runs: int


class ScheduleList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schedules: list[ScheduleView]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")
