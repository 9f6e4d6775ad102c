"""Every queue message the service sends, and the only functions that send them.

ExportQueue carries `ExportMessage` (submit, the worker's continuations, the
watchdog's re-drives); SliceQueue carries the `ExportMessage`s that name a slice of a
big export (fanout.py), so slices are worked from a pool of their own; NotifyQueue carries `NotifyMessage` (the first attempt,
queued when a task ends, and the notifier's retry hops). Bodies leave out
defaults, so the first notification reads `{"task_uuid": ..., "event": ...}`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mailexports import aws
from mailexports.config import get_settings

NotifyEvent = Literal["export.completed", "export.failed"]


class ExportMessage(BaseModel):
    """What ExportQueue carries. `lease` is set on continuations and watchdog re-drives;
    `slice` names one slice of a task worked in slices (fanout.py), 1-based."""

    task_uuid: str
    lease: str | None = None
    slice: int | None = Field(default=None, ge=1)


class NotifyMessage(BaseModel):
    """One delivery attempt of a task's notification; `not_before` on retry hops."""

    model_config = ConfigDict(extra="ignore")

    task_uuid: str
    event: NotifyEvent
    attempt: int = Field(default=1, ge=1)
    not_before: datetime | None = None


def _body(message: BaseModel) -> str:
    return json.dumps(message.model_dump(mode="json", exclude_none=True, exclude_defaults=True))


def message_body(task_uuid: str, lease: str | None = None, slice: int | None = None) -> str:
    """The ExportQueue body for a task or one of its slices (tests and the local stack feed it
    to the worker)."""
    return _body(ExportMessage(task_uuid=task_uuid, lease=lease, slice=slice))


def notify_body(message: NotifyMessage) -> str:
    return _body(message)


def enqueue_export(task_uuid: str, lease: str | None = None, *, queue_url: str | None = None) -> None:
    aws.sqs().send_message(
        QueueUrl=queue_url or get_settings().export_queue_url, MessageBody=message_body(task_uuid, lease)
    )


def enqueue_slice(
    task_uuid: str, number: int, lease: str | None = None, *, queue_url: str | None = None
) -> None:
    aws.sqs().send_message(
        QueueUrl=queue_url or get_settings().slice_queue_url,
        MessageBody=message_body(task_uuid, lease, number),
    )


def enqueue_notification(
    message: NotifyMessage, delay_seconds: int = 0, *, queue_url: str | None = None
) -> None:
    aws.sqs().send_message(
        QueueUrl=queue_url or get_settings().notify_queue_url,
        MessageBody=notify_body(message),
        DelaySeconds=delay_seconds,
    )
