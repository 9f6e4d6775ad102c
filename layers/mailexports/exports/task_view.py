"""The task as clients see it, with freshly signed download URLs at every read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mailexports import aws
from mailexports.config import get_settings
from mailexports.exports import download_tokens
from mailexports.exports.lifecycle import status_at
from mailexports.exports.task import ExportFile, ExportTask, TaskStatus
from mailexports.marketing.vocabulary import iso_ms


def effective_status(task: ExportTask, at: datetime | None = None) -> TaskStatus:
    """A completed task whose files are past retention reads as `expired` (the lifecycle's rule)."""
    return status_at(task, at)


def presigned_url(file: ExportFile) -> str:
    settings = get_settings()
    return aws.s3().generate_presigned_url(
        "get_object",
        Params={"Bucket": settings.exports_bucket, "Key": file.key},
        ExpiresIn=settings.presign_ttl_seconds,
    )


def destination_url(task: ExportTask, file: ExportFile) -> str | None:
    """`s3://bucket/key` of a file written to the customer's bucket (None: ours)."""
    return f"s3://{task.destination.bucket}/{file.key}" if task.destination else None


def download_link(task: ExportTask, index: int) -> str | None:
    """A link that stays valid until the file expires (what emails and webhooks carry).
    None for a customer destination: the file is theirs, read with their own credentials."""
    if task.expires_at is None or task.destination is not None:
        return None
    token = download_tokens.issue(task.task_uuid, index, task.expires_at)
    return f"{task.api_base_url or ''}/v1/downloads/{token}"


def _ts(value: datetime | None) -> str | None:
    return iso_ms(value) if value else None


def task_view(task: ExportTask, queue_position: int | None = None) -> dict[str, Any]:
    """`queue_position`: the task's place among its tenant's exports waiting to start."""
    status = effective_status(task)
    downloadable = status is TaskStatus.COMPLETED
    files = [
        {
            "url": (destination_url(task, f) or presigned_url(f)) if downloadable else None,
            "download_link": download_link(task, i) if downloadable else None,
            "bytes": f.bytes,
            "records": f.records,
            "sha256": f.sha256,
        }
        for i, f in enumerate(task.files)
    ]
    view: dict[str, Any] = {
        "task_uuid": task.task_uuid,
        "task_type": task.task_type.value,
        "status": status.value,
        "created_at": _ts(task.created_at),
        "started_at": _ts(task.started_at),
        "completed_at": _ts(task.completed_at),
        "params": task.params,
        "format": task.format,
        "compression": task.compression,
        "progress": task.progress.model_dump(),
        "files": files,
        "file_to_download": files[0]["url"] if files and downloadable else None,
        "expires_at": _ts(task.expires_at),
    }
    if task.destination is not None:
        view["destination"] = task.destination.model_dump(mode="json")
    if queue_position is not None and task.status is TaskStatus.NEW:
        view["queue_position"] = queue_position
    if task.watermark is not None and task.status is TaskStatus.COMPLETED:
        view["watermark"] = _ts(task.watermark)  # what arrived before it is in the export, nothing after
    if task.schedule_id is not None:
        view["schedule_id"] = task.schedule_id
    if task.error is not None:
        view["error"] = task.error.model_dump()
    if task.notification is not None:
        view["notification"] = task.notification.model_dump(mode="json", exclude={"webhook_id"})
    return view
