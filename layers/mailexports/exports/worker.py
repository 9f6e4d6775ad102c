"""The export worker: claims a task, streams its rows to S3, checkpoints, completes.

- Exactly-once effects: status and checkpoints move only by conditional writes
  that also require the worker's lease, so a duplicate or stale worker loses
  its next write and stops; a duplicate message makes no second file.
- Resumable: after every part (or when the Lambda's time runs low, after parking
  the unsent bytes in S3) the task records cursor, upload id and parts. Any later
  invocation continues from there and produces the same bytes.
- Cancel is noticed at the next checkpoint; the upload is aborted and finished
  files are deleted, so a cancelled export leaves no file behind.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel

from mailexports import aws
from mailexports.config import Settings, get_settings
from mailexports.errors import DomainError
from mailexports.exports.checkpoint import Checkpoint, FileCheckpoint
from mailexports.exports.exporters import exporter_for
from mailexports.exports.file_upload import FileUpload
from mailexports.exports.layouts import DialectLayouts, Layout, layout_for
from mailexports.exports.task import ExportFile, ExportTask, Progress, TaskError, TaskStatus
from mailexports.exports.task_store import DynamoTaskStore, TaskStore, TransitionRefused, now
from mailexports.observability import MetricUnit, logger, metrics

HEARTBEAT_EVERY = timedelta(seconds=60)
# Time and heartbeat are looked at every this many records: often enough, and cheap.
CHECK_EVERY = 64
CONTENT_TYPES = {
    "json": "application/json",
    "ndjson": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8; header=present",
}


class ExportMessage(BaseModel):
    """What ExportQueue carries. `lease` is set on continuations and watchdog re-drives."""

    task_uuid: str
    lease: str | None = None


class _Stop(Exception):
    """The task was cancelled or taken over: this invocation must let go."""


class ExportWorker:
    def __init__(
        self,
        store: TaskStore | None = None,
        settings: Settings | None = None,
        clock: Callable[[], datetime] = now,
        layouts: DialectLayouts | None = None,
    ) -> None:
        """`layouts`: the dialects' own file shapes (the handler passes the dialects');
        without them every task gets the canonical layouts."""
        self._store = store or DynamoTaskStore()
        self._layouts: DialectLayouts = layouts or {}
        self._settings = settings or get_settings()
        self._clock = clock

    # ------------------------------------------------------------------ entry
    def handle(
        self, body: str, *, receive_count: int = 1, remaining_ms: Callable[[], int] = lambda: 900_000
    ) -> None:
        message = ExportMessage.model_validate_json(body)
        task = self._claim(message)
        if task is None:
            return
        try:
            self._run(task, remaining_ms)
        except _Stop:
            return
        except DomainError as error:
            self._fail(task, error.code, error.message)
        except Exception:
            if receive_count >= self._settings.export_max_receives:
                # The last delivery before the DLQ: leave an honest status behind.
                self._fail(task, "export_failed", "the export failed repeatedly and was abandoned")
            raise

    # ------------------------------------------------------------------ claim
    def _claim(self, message: ExportMessage) -> ExportTask | None:
        """Take the task with a fresh lease, or return None when someone else has it."""
        task = self._store.load(message.task_uuid)
        if task is None:
            logger.warning("message for an unknown task, dropped", extra={"task_uuid": message.task_uuid})
            return None
        moment = self._clock()
        lease = str(uuid.uuid4())
        if task.finished:
            self._renotify_if_lost(task)
            return None
        if task.status is TaskStatus.NEW:
            started = {"started_at": moment}
            held = None
        elif task.status is TaskStatus.PROCESSING and (
            message.lease == task.lease or self._stale(task, moment)
        ):
            started, held = {}, task.lease
        else:
            logger.info("task is finished or owned by a live worker", extra={"task_uuid": task.task_uuid})
            return None
        try:
            return self._store.transition(
                task,
                {task.status},
                held_lease=held,
                status=TaskStatus.PROCESSING,
                lease=lease,
                heartbeat_at=moment,
                **started,
            )
        except TransitionRefused:
            logger.info("another worker claimed the task first", extra={"task_uuid": task.task_uuid})
            return None

    def _renotify_if_lost(self, task: ExportTask) -> None:
        """A redelivered message for a finished task: if we crashed between finishing
        and handing the notification on, hand it on now (the notifier drops duplicates)."""
        if (
            task.notification is not None
            and task.notification.status == "pending"
            and not task.notification.attempts
        ):
            self._enqueue_notification(task)

    def _enqueue_notification(self, task: ExportTask) -> None:
        if task.notification is None or task.status is TaskStatus.CANCELLED:
            return
        event = "export.completed" if task.status is TaskStatus.COMPLETED else "export.failed"
        aws.sqs().send_message(
            QueueUrl=self._settings.notify_queue_url,
            MessageBody=json.dumps({"task_uuid": task.task_uuid, "event": event}),
        )

    def _stale(self, task: ExportTask, moment: datetime) -> bool:
        beat = task.heartbeat_at or task.created_at
        return moment - beat > timedelta(seconds=self._settings.heartbeat_stale_seconds)

    # ------------------------------------------------------------------ the export
    def _run(self, task: ExportTask, remaining_ms: Callable[[], int]) -> None:
        checkpoint = (task.checkpoint or Checkpoint()).model_copy(deep=True)
        layout = layout_for(task, checkpoint, self._layouts)
        upload = self._open(task, checkpoint.current) if checkpoint.current else None
        files = list(task.files)
        last_beat = self._clock()

        # The loop keeps its counters in locals; `checkpoint` is brought up to date when saved.
        total, cursor = checkpoint.records, checkpoint.cursor
        part_bytes, max_file_bytes = self._settings.export_part_bytes, self._settings.export_max_file_bytes
        for row in exporter_for(task.task_type).rows(task, checkpoint.cursor):
            if upload is None:
                upload = self._new_file(task, layout, len(files) + 1)
            upload.write(layout.item(row, upload.records, upload.last_group))
            upload.records += 1
            upload.last_group = row.group
            total += 1
            cursor = row.cursor
            if upload.buffered >= part_bytes:
                upload.upload_part()
                checkpoint.records, checkpoint.cursor = total, cursor
                task = self._save(task, checkpoint, upload, files)
                last_beat = self._clock()
            if layout.splittable and upload.raw_bytes >= max_file_bytes:
                files.append(self._finish_file(upload, layout))
                upload = None
                checkpoint.records, checkpoint.cursor = total, cursor
                task = self._save(task, checkpoint, None, files)
            if total % CHECK_EVERY:
                continue
            checkpoint.records, checkpoint.cursor = total, cursor
            if remaining_ms() < self._settings.export_time_reserve_ms:
                self._continue_later(task, checkpoint, upload, files)
                return
            if self._clock() - last_beat >= HEARTBEAT_EVERY:
                task = self._beat(task, upload, files)
                last_beat = self._clock()

        checkpoint.records, checkpoint.cursor = total, cursor
        if upload is None and not files:
            upload = self._new_file(task, layout, 1)  # an export with no rows is still one valid file
        if upload is not None:
            files.append(self._finish_file(upload, layout))
        self._complete(task, checkpoint, files)

    def _open(self, task: ExportTask, state: FileCheckpoint) -> FileUpload:
        return FileUpload(
            self._settings.exports_bucket,
            state,
            gzip=task.compression == "gzip",
            content_type=CONTENT_TYPES.get(task.format, "application/json"),
        )

    def _new_file(self, task: ExportTask, layout: Layout, number: int) -> FileUpload:
        suffix = ".gz" if task.compression == "gzip" else ""
        key = f"{task.tenant_id}/{task.task_uuid}/export-{number:04d}.{layout.extension}{suffix}"
        upload = self._open(task, FileCheckpoint(number=number, key=key))
        upload.write(layout.head(task))
        return upload

    def _finish_file(self, upload: FileUpload, layout: Layout) -> ExportFile:
        upload.write(layout.tail(upload.records, upload.last_group))
        size, sha256 = upload.finish()
        return ExportFile(key=upload.state.key, bytes=size, records=upload.records, sha256=sha256)

    # ------------------------------------------------------------------ durable steps
    def _save(
        self, task: ExportTask, checkpoint: Checkpoint, upload: FileUpload | None, files: list[ExportFile]
    ) -> ExportTask:
        """Record a checkpoint; everything it names is already durable in S3."""
        checkpoint.current = upload.snapshot() if upload else None
        stored = sum(f.bytes for f in files) + (upload.state.stored_bytes if upload else 0)
        return self._write(
            task,
            upload,
            files,
            checkpoint=checkpoint.model_copy(deep=True),
            files=list(files),
            progress=Progress(records=checkpoint.records, bytes=stored),
            heartbeat_at=self._clock(),
        )

    def _beat(self, task: ExportTask, upload: FileUpload | None, files: list[ExportFile]) -> ExportTask:
        """A heartbeat keeps the last durable checkpoint and proves this worker alive."""
        return self._write(task, upload, files, heartbeat_at=self._clock())

    def _write(
        self, task: ExportTask, live_upload: FileUpload | None, written: list[ExportFile], **changes: object
    ) -> ExportTask:
        """A conditional write that holds only while this invocation owns the task."""
        try:
            return self._store.transition(task, {TaskStatus.PROCESSING}, held_lease=task.lease, **changes)
        except TransitionRefused:
            self._let_go(task, live_upload, written)
            raise _Stop from None

    def _let_go(self, task: ExportTask, upload: FileUpload | None, files: list[ExportFile]) -> None:
        """Our lease failed: clean up if the task was cancelled; otherwise its new owner carries on."""
        current = self._store.load(task.task_uuid)
        if current is not None and current.status is TaskStatus.CANCELLED:
            if upload is not None:
                upload.abort()
            self._delete_files(files)
            logger.info("export cancelled; partial output removed", extra={"task_uuid": task.task_uuid})
        else:
            logger.info("lease lost to another worker", extra={"task_uuid": task.task_uuid})

    def _continue_later(
        self, task: ExportTask, checkpoint: Checkpoint, upload: FileUpload | None, files: list[ExportFile]
    ) -> None:
        if upload is not None:
            upload.save_pending()
        task = self._save(task, checkpoint, upload, files)
        aws.sqs().send_message(
            QueueUrl=self._settings.export_queue_url,
            MessageBody=message_body(task.task_uuid, task.lease),
        )
        logger.info("time running low; continuing in a new invocation", extra={"task_uuid": task.task_uuid})

    def _complete(self, task: ExportTask, checkpoint: Checkpoint, files: list[ExportFile]) -> None:
        finished = self._clock()
        task = self._write(
            task,
            None,
            files,
            status=TaskStatus.COMPLETED,
            completed_at=finished,
            expires_at=finished + timedelta(days=self._settings.retention_days),
            progress=Progress(records=checkpoint.records, bytes=sum(f.bytes for f in files)),
            files=files,
            checkpoint=None,
            lease=None,
        )
        logger.info("export completed", extra={"task_uuid": task.task_uuid, "records": checkpoint.records})
        metrics.add_metric(name="ExportsCompleted", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="RecordsExported", unit=MetricUnit.Count, value=checkpoint.records)
        self._enqueue_notification(task)

    def _fail(self, task: ExportTask, code: str, message: str) -> None:
        """Mark the task failed with a reason and remove whatever it had written."""
        current = self._store.load(task.task_uuid) or task
        if current.checkpoint and current.checkpoint.current:
            self._open(current, current.checkpoint.current).abort()
        self._delete_files(current.files)
        try:
            failed = self._store.transition(
                current,
                {TaskStatus.PROCESSING},
                held_lease=task.lease,
                status=TaskStatus.FAILED,
                completed_at=self._clock(),
                error=TaskError(code=code, message=message),
                checkpoint=None,
                lease=None,
            )
        except TransitionRefused:
            logger.info(
                "task changed hands before it could be marked failed", extra={"task_uuid": task.task_uuid}
            )
            return
        self._enqueue_notification(failed)

    def _delete_files(self, files: list[ExportFile]) -> None:
        s3 = aws.s3()
        for file in files:
            s3.delete_object(Bucket=self._settings.exports_bucket, Key=file.key)


def message_body(task_uuid: str, lease: str | None = None) -> str:
    return json.dumps(ExportMessage(task_uuid=task_uuid, lease=lease).model_dump(exclude_none=True))
