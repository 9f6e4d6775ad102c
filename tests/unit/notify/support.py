"""Tasks, a clock and a queue the notifier tests control."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from mailexports.config import Settings
from mailexports.exports.requests import ExportType, NotifyTarget
from mailexports.exports.task import (
    ExportFile,
    ExportTask,
    NotificationState,
    Progress,
    TaskError,
    TaskStatus,
)
from mailexports.exports.task_store import DynamoTaskStore
from mailexports.notify.service import NotifyMessage

START = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class FakeQueue:
    """NotifyQueue as a list of (message, DelaySeconds)."""

    sent: list[tuple[NotifyMessage, int]] = field(default_factory=list)

    def send(self, message: NotifyMessage, delay_seconds: int) -> None:
        self.sent.append((message, delay_seconds))

    def pop(self) -> tuple[NotifyMessage, int]:
        return self.sent.pop(0)


def make_task(
    settings: Settings,
    tenant_id: str,
    notify: NotifyTarget,
    *,
    task_type: ExportType = ExportType.CAMPAIGN_ACTIVITY,
    params: dict[str, Any] | None = None,
    contents: list[bytes] | None = None,
    failed: bool = False,
    completed_at: datetime = START,
    dialect: str | None = None,
) -> ExportTask:
    """A finished task as the worker leaves it, files in the exports bucket."""
    task_uuid = str(uuid.uuid4())
    files = []
    s3 = boto3.client("s3")
    for number, content in enumerate([] if failed else (contents or [b'{"records":[]}']), start=1):
        key = f"{tenant_id}/{task_uuid}/export-{number:04d}.json"
        s3.put_object(Bucket=settings.exports_bucket, Key=key, Body=content)
        files.append(
            ExportFile(key=key, bytes=len(content), records=3, sha256=hashlib.sha256(content).hexdigest())
        )
    task = ExportTask(
        task_uuid=task_uuid,
        tenant_id=tenant_id,
        task_type=task_type,
        status=TaskStatus.FAILED if failed else TaskStatus.COMPLETED,
        params=params or {"stat_id": "981"},
        notify=notify,
        notification=NotificationState(type=notify.type, target=notify.value),
        dialect=dialect,
        created_at=completed_at - timedelta(minutes=5),
        started_at=completed_at - timedelta(minutes=4),
        completed_at=completed_at,
        expires_at=None if failed else datetime.now(UTC) + timedelta(days=settings.retention_days),
        progress=Progress(records=3 * len(files), bytes=sum(f.bytes for f in files)),
        files=files,
        error=TaskError(code="export_failed", message="the marketing data could not be read")
        if failed
        else None,
        api_base_url="https://api.example.test/dev",
    )
    assert DynamoTaskStore().create(task)
    return task


def first_message(task: ExportTask) -> str:
    """What the worker puts on NotifyQueue."""
    event = "export.failed" if task.status is TaskStatus.FAILED else "export.completed"
    return NotifyMessage(task_uuid=task.task_uuid, event=event).model_dump_json(exclude_none=True)


def stored(task: ExportTask) -> ExportTask:
    loaded = DynamoTaskStore().load(task.task_uuid)
    assert loaded is not None
    return loaded
