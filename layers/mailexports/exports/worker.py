"""The export worker: claims a task, streams its rows to S3, checkpoints, completes.

- Exactly-once effects: status and checkpoints move only by conditional writes
  that also require the worker's lease, so a duplicate or stale worker loses
  its next write and stops; a duplicate message makes no second file.
- Resumable: after every part (or when the Lambda's time runs low, after parking
  the unsent bytes in S3) the task records cursor, upload id and parts. Any later
  invocation continues from there and produces the same bytes.
- Where the files go: the exports bucket, or the customer's bucket through a client
  of their role, assumed afresh by every invocation (a resume included).
- How a task ends (complete, fail, cancel) is `lifecycle`'s: it aborts the
  upload, deletes files and hands the notification on. Cancel is noticed at the
  next checkpoint; this invocation then removes what only it knew of (an upload
  or file not yet checkpointed), so a cancelled export leaves no file behind.
- A big export of sharded data is worked in slices by parallel invocations
  (fanout.py): the task's message plans and sends the slices theirs, and each slice
  runs through this same loop as a `SliceJob` (a whole task runs as a `TaskJob`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from mailexports.config import Settings, get_settings
from mailexports.errors import DomainError
from mailexports.exports.checkpoint import Checkpoint, FileCheckpoint
from mailexports.exports.destination import FileStore, store_for
from mailexports.exports.fanout import FanOut
from mailexports.exports.file_upload import FileUpload
from mailexports.exports.jobs import Job, TaskJob
from mailexports.exports.layouts import DialectLayouts, Layout, layout_for
from mailexports.exports.lifecycle import TaskLifecycle
from mailexports.exports.messages import ExportMessage
from mailexports.exports.messages import message_body as message_body  # where callers find it
from mailexports.exports.slices import SliceStore
from mailexports.exports.task import ExportFile, ExportTask, Progress
from mailexports.exports.task_store import TaskStore, TransitionRefused, now
from mailexports.observability import logger, task_logging

HEARTBEAT_EVERY = timedelta(seconds=60)
# Time and heartbeat are looked at every this many records: often enough, and cheap.
CHECK_EVERY = 64
CONTENT_TYPES = {
    "json": "application/json",
    "ndjson": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8; header=present",
}


class _Stop(Exception):
    """The task was cancelled or taken over: this invocation must let go."""


class ExportWorker:
    def __init__(
        self,
        store: TaskStore | None = None,
        settings: Settings | None = None,
        clock: Callable[[], datetime] = now,
        layouts: DialectLayouts | None = None,
        slices: SliceStore | None = None,
    ) -> None:
        """`layouts`: the dialects' own file shapes (the handler passes the dialects');
        without them every task gets the canonical layouts."""
        self._layouts: DialectLayouts = layouts or {}
        self._settings = settings or get_settings()
        self._clock = clock
        self._lifecycle = TaskLifecycle(store, self._settings, clock, slices)
        self._fanout = FanOut(self._lifecycle, self._settings, clock)
        self._files_at: FileStore | None = None  # where the running task's files go

    # ------------------------------------------------------------------ entry
    def handle(
        self, body: str, *, receive_count: int = 1, remaining_ms: Callable[[], int] = lambda: 900_000
    ) -> None:
        message = ExportMessage.model_validate_json(body)
        with task_logging(message.task_uuid):
            job = self._claim(message)
            if job is None:
                return
            try:
                self._run(job, remaining_ms)
            except _Stop:
                return
            except DomainError as error:
                job.fail(error.code, error.message)
            except Exception:
                if job.ended():
                    # Cancel aborted the upload under us; it cleaned up what the task recorded.
                    logger.info("export cancelled while writing; stopped")
                    return
                if receive_count >= self._settings.export_max_receives:
                    # The last delivery before the DLQ: leave an honest status behind.
                    job.fail("export_failed", "the export failed repeatedly and was abandoned")
                raise

    def _claim(self, message: ExportMessage) -> Job | None:
        """The job this message is for: one slice of a task, or the whole task (None when
        it is not this invocation's, or when its slices do the work)."""
        if message.slice is not None:
            return self._fanout.claim_slice(message)
        task = self._lifecycle.claim(message.task_uuid, message.lease)
        if task is None:
            return None
        job = TaskJob(task, self._lifecycle, self._settings)
        try:
            if self._fanout.takes(task):
                return None
        except DomainError as error:  # the size probe found the export invalid (e.g. a vanished send)
            job.fail(error.code, error.message)
            return None
        return job

    # ------------------------------------------------------------------ the export
    def _run(self, job: Job, remaining_ms: Callable[[], int]) -> None:
        task = job.task
        checkpoint = (job.checkpoint or Checkpoint()).model_copy(deep=True)
        self._files_at = store_for(task.tenant_id, task.task_uuid, task.destination, self._settings)
        layout = layout_for(task, checkpoint, self._layouts)
        upload = self._open(task, checkpoint.current) if checkpoint.current else None
        files = list(job.files)
        last_beat = self._clock()

        # The loop keeps its counters in locals; `checkpoint` is brought up to date when saved.
        total, cursor = checkpoint.records, checkpoint.cursor
        part_bytes, max_file_bytes = self._settings.export_part_bytes, self._settings.export_max_file_bytes
        for row in job.rows(checkpoint.cursor):
            if upload is None:
                upload = self._new_file(job, layout, len(files) + 1)
            upload.write(layout.item(row, upload.records, upload.last_group))
            upload.records += 1
            upload.last_group = row.group
            total += 1
            cursor = row.cursor
            if upload.buffered >= part_bytes:
                upload.upload_part()
                checkpoint.records, checkpoint.cursor = total, cursor
                self._save(job, checkpoint, upload, files)
                last_beat = self._clock()
            if layout.splittable and upload.raw_bytes >= max_file_bytes:
                files.append(self._finish_file(upload, layout))
                upload = None
                checkpoint.records, checkpoint.cursor = total, cursor
                self._save(job, checkpoint, None, files)
            if total % CHECK_EVERY:
                continue
            checkpoint.records, checkpoint.cursor = total, cursor
            if remaining_ms() < self._settings.export_time_reserve_ms:
                self._continue_later(job, checkpoint, upload, files)
                return
            if self._clock() - last_beat >= HEARTBEAT_EVERY:
                self._write(job, upload, files)  # a heartbeat: the last checkpoint stays
                last_beat = self._clock()

        checkpoint.records, checkpoint.cursor = total, cursor
        if upload is None and not files:
            upload = self._new_file(job, layout, 1)  # an export with no rows is still one valid file
        if upload is not None:
            files.append(self._finish_file(upload, layout))
        self._complete(job, checkpoint, files)

    def _open(self, task: ExportTask, state: FileCheckpoint) -> FileUpload:
        assert self._files_at is not None  # set by _run before any file is opened
        return FileUpload(
            self._files_at.bucket,
            state,
            gzip=task.compression == "gzip",
            content_type=CONTENT_TYPES.get(task.format, "application/json"),
            s3=self._files_at.s3,
        )

    def _new_file(self, job: Job, layout: Layout, number: int) -> FileUpload:
        assert self._files_at is not None
        suffix = ".gz" if job.task.compression == "gzip" else ""
        key = self._files_at.key(job.task.task_uuid, job.file_name(number, layout.extension) + suffix)
        upload = self._open(job.task, FileCheckpoint(number=number, key=key))
        upload.write(layout.head(job.task))
        return upload

    def _finish_file(self, upload: FileUpload, layout: Layout) -> ExportFile:
        upload.write(layout.tail(upload.records, upload.last_group))
        size, sha256 = upload.finish()
        return ExportFile(key=upload.state.key, bytes=size, records=upload.records, sha256=sha256)

    # ------------------------------------------------------------------ durable steps
    def _save(
        self, job: Job, checkpoint: Checkpoint, upload: FileUpload | None, files: list[ExportFile]
    ) -> None:
        """Record a checkpoint; everything it names is already durable in S3."""
        checkpoint.current = upload.snapshot() if upload else None
        stored = sum(f.bytes for f in files) + (upload.state.stored_bytes if upload else 0)
        self._write(
            job,
            upload,
            files,
            checkpoint=checkpoint.model_copy(deep=True),
            files=list(files),
            progress=Progress(records=checkpoint.records, bytes=stored),
        )

    def _write(
        self, job: Job, live_upload: FileUpload | None, written: list[ExportFile], **changes: object
    ) -> None:
        """A checkpoint (or, without changes, a heartbeat) that holds only while this
        invocation owns the job."""
        try:
            job.save(**changes)
        except TransitionRefused:
            self._let_go(job, live_upload, written)
            raise _Stop from None

    def _let_go(self, job: Job, upload: FileUpload | None, files: list[ExportFile]) -> None:
        """Our lease failed. If the task was cancelled, cancel cleaned up what the record names;
        what only this invocation knows of (an upload or file not yet checkpointed) goes here."""
        if job.ended():
            if upload is not None:
                upload.abort()
            self._lifecycle.delete((f.key for f in files), self._files_at)
            logger.info("export cancelled; partial output removed")
        else:
            logger.info("lease lost to another worker")

    def _continue_later(
        self, job: Job, checkpoint: Checkpoint, upload: FileUpload | None, files: list[ExportFile]
    ) -> None:
        if upload is not None:
            upload.save_pending()
        self._save(job, checkpoint, upload, files)
        job.continue_later()
        logger.info("time running low; continuing in a new invocation")

    def _complete(self, job: Job, checkpoint: Checkpoint, files: list[ExportFile]) -> None:
        try:
            job.complete(files, checkpoint.records)
        except TransitionRefused:
            self._let_go(job, None, files)
