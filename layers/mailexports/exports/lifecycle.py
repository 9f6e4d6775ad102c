"""The one place a task changes status: claim, checkpoint, complete, fail, cancel, expire.

Every move is a conditional write on the task store (the status it starts from,
and the worker's lease where one is held), so of two concurrent writers exactly
one wins. Whoever wins an end (complete, fail, cancel) then, and only then:

- cleans up: a failed or cancelled task keeps no file, no open multipart upload
  and no parked bytes (in a customer's bucket, under their role, assumed afresh). The record keeps its checkpoint until that is done, so a
  crash half-way is finished by the next look at the task (`settle`);
- hands the notification on, once (the notifier drops duplicates anyway).
  Cancelled tasks are not notified: the client asked for it;
- gives the task's running slot back, so the tenant's next waiting task starts
  (tenant_queue.py). A `new` task starts only once it holds a slot.

A task worked in slices (fanout.py) ends here too, as one task: one slot, one
notification, and the cleanup of a failed or cancelled one covers every slice's upload
and files (its slices can record nothing once it has ended: slices.py).

`expire` is not stored: a completed task past its retention reads as expired,
and the bucket's lifecycle rule deletes its files on the same schedule.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from mailexports.config import Settings, get_settings
from mailexports.errors import DestinationRefused
from mailexports.exports import messages
from mailexports.exports.checkpoint import FileCheckpoint
from mailexports.exports.destination import FileStore, exports_store, store_for
from mailexports.exports.requests import WATERMARKED
from mailexports.exports.slices import DynamoSliceStore, SliceStore
from mailexports.exports.task import ExportFile, ExportTask, Progress, TaskError, TaskStatus
from mailexports.exports.task_store import DynamoTaskStore, TaskStore, TransitionRefused, now
from mailexports.exports.tenant_queue import TenantQueue
from mailexports.observability import logger

__all__ = ["TaskLifecycle", "TransitionRefused", "expired", "status_at"]

_UNFINISHED = frozenset({TaskStatus.NEW, TaskStatus.PROCESSING})


def expired(task: ExportTask, at: datetime) -> bool:
    return task.status is TaskStatus.COMPLETED and task.expires_at is not None and task.expires_at <= at


def status_at(task: ExportTask, at: datetime | None = None) -> TaskStatus:
    """The status a client sees: a completed task past its files' retention is `expired`."""
    return TaskStatus.EXPIRED if expired(task, at or now()) else task.status


class TaskLifecycle:
    def __init__(
        self,
        store: TaskStore | None = None,
        settings: Settings | None = None,
        clock: Callable[[], datetime] = now,
        slices: SliceStore | None = None,
    ) -> None:
        self.store = store or DynamoTaskStore()
        self._settings = settings or get_settings()
        self._clock = clock
        self.queue = TenantQueue(self.store, self._settings)
        self.slices = slices or DynamoSliceStore(self._settings.tasks_table)

    # ------------------------------------------------------------------ running
    def claim(self, task_uuid: str, message_lease: str | None) -> ExportTask | None:
        """Take the task under a fresh lease: from `new` (once it holds one of its tenant's
        running slots), from the lease the message carries (a continuation or re-drive), or
        from a worker whose heartbeat stopped. None when the task is unknown, finished, waits
        for a slot, or is owned by a live worker (or another claim won)."""
        task = self.store.load(task_uuid)
        if task is None:
            logger.warning("message for an unknown task, dropped")
            return None
        if task.finished:
            self.settle(task)
            return None
        moment = self._clock()
        beat = task.heartbeat_at or task.created_at
        stale = moment - beat > timedelta(seconds=self._settings.heartbeat_stale_seconds)
        if task.status is TaskStatus.PROCESSING and not (message_lease == task.lease or stale):
            logger.info("task is owned by a live worker")
            return None
        if task.status is TaskStatus.NEW and not self.queue.admit(task):
            waiting = self.wait(task)
            if waiting is None or waiting.task_uuid not in self.queue.holders(task.tenant_id):
                # It waits in `new`; whoever frees a slot sends it a message again (dispatch).
                logger.info("tenant at its running limit; the task waits")
                return None
            task = waiting  # a slot was handed to it while it was being marked
        started = self._start(task, moment) if task.status is TaskStatus.NEW else {}
        try:
            return self.store.transition(
                task,
                {task.status},
                held_lease=task.lease if task.status is TaskStatus.PROCESSING else None,
                status=TaskStatus.PROCESSING,
                lease=str(uuid.uuid4()),
                heartbeat_at=moment,
                **started,
            )
        except TransitionRefused:
            logger.info("another worker claimed the task first")
            return None

    def wait(self, task: ExportTask) -> ExportTask | None:
        """Mark a `new` task as turned away for want of a slot (None: it moved on meanwhile)."""
        try:
            return self.store.transition(
                task, {TaskStatus.NEW}, waiting_since=task.waiting_since or self._clock()
            )
        except TransitionRefused:
            return None

    def _start(self, task: ExportTask, moment: datetime) -> dict[str, Any]:
        """The first claim fixes the start and, for watermarked types, the watermark: every
        write stamped before it has landed (and reached the indexes) by the time we read."""
        started: dict[str, Any] = {"started_at": moment}
        if task.task_type.value in WATERMARKED:
            mark = moment - timedelta(seconds=self._settings.watermark_lag_seconds)
            started["watermark"] = mark.replace(microsecond=mark.microsecond // 1000 * 1000)  # the store's ms
        return started

    def checkpoint(self, task: ExportTask, **changes: Any) -> ExportTask:
        """Record progress (or just a heartbeat); refused once this worker no longer owns the task."""
        return self.store.transition(
            task, {TaskStatus.PROCESSING}, held_lease=task.lease, heartbeat_at=self._clock(), **changes
        )

    def redrive(self, task: ExportTask) -> ExportTask:
        """The watchdog's restart of a stalled task: a new lease, and the message queued again."""
        lease = str(uuid.uuid4()) if task.status is TaskStatus.PROCESSING else None
        moved = self.store.transition(
            task,
            {task.status},
            held_lease=task.lease,
            redrives=task.redrives + 1,
            heartbeat_at=self._clock(),
            lease=lease,
        )
        messages.enqueue_export(task.task_uuid, lease, queue_url=self._settings.export_queue_url)
        return moved

    # ------------------------------------------------------------------ ends
    def complete(self, task: ExportTask, files: list[ExportFile], records: int) -> ExportTask:
        finished = self._clock()
        return self._end(
            task,
            {TaskStatus.PROCESSING},
            task.lease,
            status=TaskStatus.COMPLETED,
            completed_at=finished,
            expires_at=finished + timedelta(days=self._settings.retention_days),
            progress=Progress(records=records, bytes=sum(f.bytes for f in files)),
            files=files,
            checkpoint=None,
        )

    def fail(self, task: ExportTask, code: str, message: str) -> ExportTask:
        """Fail an unfinished task (the worker holding its lease, or the watchdog taking it over)."""
        return self._end(
            task,
            {task.status} & _UNFINISHED,
            task.lease,
            status=TaskStatus.FAILED,
            completed_at=self._clock(),
            error=TaskError(code=code, message=message),
        )

    def cancel(self, task: ExportTask) -> ExportTask:
        """The client's cancel: wins over any worker, whose next write is then refused."""
        return self._end(task, _UNFINISHED, None, status=TaskStatus.CANCELLED, completed_at=self._clock())

    def settle(self, task: ExportTask) -> None:
        """A finished task seen again (a redelivered message): finish what a crash interrupted."""
        if task.checkpoint is not None:
            self._clean_up(task)
        notification = task.notification
        if notification is not None and notification.status == "pending" and not notification.attempts:
            self._notify(task)  # we may have crashed between the end and the hand-on
        self.queue.finish(task)  # ... or before its slot was given back

    def _end(
        self, task: ExportTask, from_: Iterable[TaskStatus], held_lease: str | None, **changes: Any
    ) -> ExportTask:
        allowed = set(from_)
        if not allowed:
            raise TransitionRefused(f"task {task.task_uuid} has already finished ({task.status})")
        ended = self.store.transition(task, allowed, held_lease=held_lease, lease=None, **changes)
        # Once ended no worker can write it again; reload so cleanup sees its last checkpoint.
        ended = self.store.load(task.task_uuid) or ended
        self._clean_up(ended)
        self._notify(ended)
        self.queue.finish(ended)
        return ended

    def _clean_up(self, task: ExportTask) -> None:
        if task.status in (TaskStatus.FAILED, TaskStatus.CANCELLED):
            uploads, keys = self._output(task)
            if uploads or keys:
                try:
                    files_at = store_for(task.tenant_id, task.task_uuid, task.destination, self._settings)
                except DestinationRefused:
                    # The customer withdrew the role: we can no longer touch their bucket. Their
                    # AbortIncompleteMultipartUpload rule (README) removes any open upload.
                    logger.warning("destination unreachable; partial output left to the bucket's own rules")
                else:
                    for upload in uploads:
                        if upload.upload_id is not None:
                            self._abort(files_at, upload.key, upload.upload_id)
                    self.delete(keys, files_at)
        if task.checkpoint is not None:
            self.store.transition(task, {task.status}, checkpoint=None)

    def _output(self, task: ExportTask) -> tuple[list[FileCheckpoint], list[str]]:
        """What the task (and each of its slices) has written: open uploads, and files and
        parked bytes to delete."""
        held = [(task.checkpoint, task.files)] + [(s.checkpoint, s.files) for s in self.slices.load_all(task)]
        uploads, keys = [], []
        for checkpoint, files in held:
            current = checkpoint.current if checkpoint else None
            keys += [f.key for f in files]
            if current is not None:
                uploads.append(current)
                keys += [current.pending_key] if current.pending_key else []
        return uploads, keys

    @staticmethod
    def _abort(files_at: FileStore, key: str, upload_id: str) -> None:
        try:
            files_at.s3.abort_multipart_upload(Bucket=files_at.bucket, Key=key, UploadId=upload_id)
        except ClientError as error:
            if error.response["Error"]["Code"] != "NoSuchUpload":  # aborted already: fine
                raise

    def delete(self, keys: Iterable[str], files_at: FileStore | None = None) -> None:
        """Delete files of a task (by default from the exports bucket)."""
        files_at = files_at or exports_store("", self._settings)
        for key in keys:
            files_at.s3.delete_object(Bucket=files_at.bucket, Key=key)

    def _notify(self, task: ExportTask) -> None:
        if task.notification is None or task.status is TaskStatus.CANCELLED:
            return
        event: messages.NotifyEvent = (
            "export.completed" if task.status is TaskStatus.COMPLETED else "export.failed"
        )
        messages.enqueue_notification(
            messages.NotifyMessage(task_uuid=task.task_uuid, event=event),
            queue_url=self._settings.notify_queue_url,
        )
        logger.info("notification handed on", extra={"event": event})
