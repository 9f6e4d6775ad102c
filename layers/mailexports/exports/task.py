"""An export task: what was asked, where it stands, and the files it produced."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mailexports.exports.checkpoint import Checkpoint
from mailexports.exports.requests import ExportType, NotifyTarget, S3Destination


class TaskStatus(StrEnum):
    NEW = "new"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # never stored: a completed task past its files' retention reads as expired


FINISHED = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED})


class ExportFile(BaseModel):
    key: str
    bytes: int
    records: int
    sha256: str


class Progress(BaseModel):
    records: int = 0
    bytes: int = 0


class TaskError(BaseModel):
    code: str
    message: str


class NotificationAttempt(BaseModel):
    at: datetime
    outcome: str  # "delivered", or why not: "http_error", "timeout", "redirect", "refused_target", ...
    http_status: int | None = None


class NotificationState(BaseModel):
    """Where telling the client stands; every delivery attempt is kept."""

    type: Literal["email", "webhook"]
    target: str
    status: Literal["pending", "retrying", "delivered", "failed"] = "pending"
    webhook_id: str | None = None  # stable across retries of one notification
    attempts: list[NotificationAttempt] = Field(default_factory=list)


class ExportTask(BaseModel):
    model_config = ConfigDict(validate_assignment=True)

    task_uuid: str
    tenant_id: str
    task_type: ExportType
    status: TaskStatus = TaskStatus.NEW
    params: dict[str, Any]
    format: str = "json"
    compression: str = "none"
    notify: NotifyTarget | None = None
    notification: NotificationState | None = None
    # The customer's bucket the files go to (None: the service's exports bucket). Never credentials.
    destination: S3Destination | None = None
    # The API the task was submitted through (None: canonical); picks the notification payload.
    dialect: str | None = None
    schedule_id: str | None = None  # the schedule whose run this task is
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    heartbeat_at: datetime | None = None
    expires_at: datetime | None = None
    progress: Progress = Field(default_factory=Progress)
    files: list[ExportFile] = Field(default_factory=list)
    error: TaskError | None = None
    # Base URL the client used, so links in notifications point back at the same API.
    api_base_url: str | None = None
    request_hash: str | None = None
    # Internal: the worker invocation that owns the task, and where it got to.
    lease: str | None = None
    checkpoint: Checkpoint | None = None
    redrives: int = 0  # times the watchdog re-drove a stalled task
    # Set when the task found its tenant's running slots full: its message was dropped, so
    # whoever hands it a slot must send it a new one (tenant_queue.py).
    waiting_since: datetime | None = None
    # campaign_activity / campaign_delivery: the export holds what arrived before `watermark`
    # (set once, when first claimed) and, with `since_task`, from that task's watermark on.
    watermark: datetime | None = None
    since_watermark: datetime | None = None
    # A big export worked in slices of shards (fanout.py): the shards of each slice (slice k is
    # `slices[k - 1]`), how many slices have finished, and each slice's progress as it last
    # reported it (by slice number). The slices' own state lives in items of their own (slices.py).
    slices: list[list[int]] | None = None
    slices_done: int = 0
    slice_progress: dict[str, Progress] | None = None

    @model_validator(mode="before")
    @classmethod
    def _progress_of_slices(cls, data: Any) -> Any:
        """Until a task worked in slices completes, its progress is the sum of theirs (also
        where a cancel or failure stopped them)."""
        if not isinstance(data, dict) or not data.get("slice_progress"):
            return data
        if TaskStatus(data.get("status", TaskStatus.NEW)) is TaskStatus.COMPLETED:
            return data  # completing recorded the exact totals
        parts = [Progress.model_validate(p) for p in data["slice_progress"].values()]
        total = Progress(records=sum(p.records for p in parts), bytes=sum(p.bytes for p in parts))
        return {**data, "progress": total}

    @property
    def finished(self) -> bool:
        return self.status in FINISHED
