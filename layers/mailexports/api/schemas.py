"""The canonical API's wire shapes: the submit body Powertools validates, and the
answers the OpenAPI document describes (errors, tasks, listings).

The submit body is a union discriminated by `type`, so each export type's `params`
are validated (and documented) by that type's model. Each variant *is* an
`ExportRequest`, so the submitter takes it as it comes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mailexports.exports.requests import (
    CampaignActivityParams,
    CampaignDeliveryParams,
    ContactDataParams,
    ExportRequest,
    ExportType,
    S3Destination,
    SegmentContactsParams,
)
from mailexports.exports.task import NotificationAttempt, Progress, TaskError, TaskStatus
from mailexports.marketing.views import TrackingEvent


class CampaignActivityExport(ExportRequest):
    type: Literal[ExportType.CAMPAIGN_ACTIVITY]
    params: CampaignActivityParams


class SegmentContactsExport(ExportRequest):
    type: Literal[ExportType.SEGMENT_CONTACTS]
    params: SegmentContactsParams


class CampaignDeliveryExport(ExportRequest):
    type: Literal[ExportType.CAMPAIGN_DELIVERY]
    params: CampaignDeliveryParams


class ContactDataExport(ExportRequest):
    type: Literal[ExportType.CONTACT_DATA]
    params: ContactDataParams


SubmitBody = Annotated[
    CampaignActivityExport | SegmentContactsExport | CampaignDeliveryExport | ContactDataExport,
    Field(discriminator="type"),
]


# --- answers (documentation: the handlers build them, a test checks they match) ---


class ErrorDetail(BaseModel):
    field: str = Field(description="Dotted path of the input at fault, e.g. `params.stat_id` or `limit`.")
    issue: str


class ErrorInfo(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `validation_error`, `unauthorized`.")
    message: str
    details: list[ErrorDetail]


class ErrorResponse(BaseModel):
    """Every canonical error: a 4xx names the field at fault; a 5xx carries no detail."""

    error: ErrorInfo


class FileView(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(
        description="Short-lived signed URL, signed afresh at every read; for a task with a "
        "`destination`, the file's `s3://bucket/key` in your bucket."
    )
    download_link: str | None = Field(
        description="`/v1/downloads/{token}` link valid until the file expires."
    )
    bytes: int
    records: int
    sha256: str


class NotificationView(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["email", "webhook"]
    target: str
    status: Literal["pending", "retrying", "delivered", "failed"]
    attempts: list[NotificationAttempt]


class TaskView(BaseModel):
    """A task as `GET /v1/exports/{task_uuid}` returns it."""

    model_config = ConfigDict(extra="forbid")

    task_uuid: str
    task_type: ExportType
    status: TaskStatus
    created_at: str | None
    started_at: str | None
    completed_at: str | None
    params: dict[str, Any]
    format: str
    compression: str
    progress: Progress
    files: list[FileView]
    file_to_download: str | None
    expires_at: str | None
    destination: S3Destination | None = None
    queue_position: int | None = Field(
        default=None,
        ge=1,
        description="While `new`: the task's place among the tenant's exports waiting to start "
        "(1 starts next). A tenant runs at most MAX_RUNNING_PER_TENANT exports at once; the "
        "rest start in submission order as others finish. Absent once started.",
    )
    watermark: str | None = Field(
        default=None,
        description=(
            "Completed campaign_activity / campaign_delivery tasks: the file holds every record that "
            "reached the service before this instant and none after; pass the task as "
            "`params.since_task` to export what arrived since."
        ),
    )
    error: TaskError | None = None
    notification: NotificationView | None = None
    schedule_id: str | None = Field(default=None, description="The schedule that ran this task, if any.")


class TaskList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exports: list[TaskView]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class TrackingList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    results: list[TrackingEvent]
    next_cursor: str | None
