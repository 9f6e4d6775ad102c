"""Fan-out: a big export of sharded data, worked in slices of shards by parallel invocations.

When: at the task's first claim, if its type reads sharded data (a send's events, a
campaign's recipients, segments' members), its layout is canonical and splittable
(JSON, NDJSON, CSV; a dialect's documents stay whole, as do incremental windows, which
are small) and a probe finds it big enough for two slices: 16 x the items of its shard 0
(Query Select=COUNT, stopping at what the most slices would need), divided by
EXPORT_FANOUT_ITEMS_PER_SLICE, gives the slice count, at most EXPORT_FANOUT_MAX_SLICES.
A bigger export gets more slices, so each slice's share, and the wait, stays about the same.

What the client gets: slice k reads the shards s with s % n == k - 1, in the order of
the one-worker read restricted to them, into files of its own, `export-sKK-NNNN.ext`,
each a whole document like a split export's file. The task's `files` are the slices'
files in slice order: that list is the manifest. Together they hold exactly a one-worker
run's records; not in its order, which merges all shards by contact, so no joining of
shard subsets (UploadPartCopy or otherwise) could give its bytes.

How: the task's first claim probes, creates one item per slice (slices.py), records
the plan on the task and sends one message per slice. Each slice is claimed, checkpointed,
continued and resumed like a task, through the worker's own loop (a `SliceJob`). The
slice that counts itself last completes the task through the lifecycle, with every
slice's files; a stalled task re-driven by the watchdog sends its unfinished slices their
messages again (a stalled slice is then taken over). Cancel and failure end the task,
and the lifecycle removes every slice's upload and files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, cast

from mailexports.config import Settings
from mailexports.exports.checkpoint import Checkpoint
from mailexports.exports.exporters import Row, ShardedExporter, exporter_for
from mailexports.exports.jobs import count_completed
from mailexports.exports.layouts import layout_for
from mailexports.exports.lifecycle import TaskLifecycle
from mailexports.exports.messages import ExportMessage, enqueue_slice
from mailexports.exports.slices import SliceState, SliceStatus
from mailexports.exports.task import ExportFile, ExportTask, Progress, TaskStatus
from mailexports.exports.task_store import TransitionRefused
from mailexports.marketing.keys import SHARDS
from mailexports.observability import logger


def slice_shards(slices: int) -> list[list[int]]:
    """The shards of each slice: every `slices`-th one, so the slices are about equal."""
    return [[shard for shard in range(SHARDS) if shard % slices == k] for k in range(slices)]


class FanOut:
    def __init__(self, lifecycle: TaskLifecycle, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.lifecycle = lifecycle
        self.settings = settings
        self.clock = clock
        self._store = lifecycle.store
        self.slices = lifecycle.slices

    # ------------------------------------------------------------------ the task's message
    def takes(self, task: ExportTask) -> bool:
        """Whether this claimed task is worked in slices. If so its slices are under way
        (planned now if need be) and this invocation has nothing more to do."""
        if task.slices is None:
            slices = self._slice_count(task)
            if slices < 2:
                return False
            try:
                task = self._plan(task, slices)
            except TransitionRefused:
                logger.info("task changed hands while its slices were planned")
                return True
            logger.info("export fans out", extra={"slices": len(task.slices or [])})
        self._dispatch(task)
        return True

    def _slice_count(self, task: ExportTask) -> int:
        """How many slices the task is worth (1: one worker)."""
        exporter = exporter_for(task.task_type)
        most, per_slice = self.settings.export_fanout_max_slices, self.settings.export_fanout_items_per_slice
        if (
            most < 2
            or not isinstance(exporter, ShardedExporter)
            or task.dialect is not None
            or task.since_watermark is not None
            or task.format not in ("json", "ndjson", "csv")
            or task.checkpoint is not None  # begun by one worker: it stays one worker's
            or task.files
        ):
            return 1
        return min(most, exporter.estimated_items(task, up_to=most * per_slice) // per_slice)

    def _plan(self, task: ExportTask, slices: int) -> ExportTask:
        shards = slice_shards(slices)
        checkpoint = Checkpoint()
        layout_for(task, checkpoint)  # what a layout reads up front (CSV columns), once for all slices
        self.slices.create(task, shards, checkpoint)
        # The task's own checkpoint says the slices may have left output to clean up (settle).
        return self.lifecycle.checkpoint(
            task,
            slices=shards,
            slice_progress={str(k): Progress() for k in range(1, len(shards) + 1)},
            checkpoint=checkpoint,
        )

    def _dispatch(self, task: ExportTask) -> None:
        """Send every unfinished slice its message: a new one is claimed, a stalled one taken
        over, a live one ignores it. With every slice finished, complete the task instead."""
        if task.slices_done >= len(task.slices or []):
            self.assemble(task.task_uuid)
            return
        for state in self.slices.load_all(task):
            if state.status is not SliceStatus.COMPLETED:
                enqueue_slice(task.task_uuid, state.number, queue_url=self.settings.slice_queue_url)

    # ------------------------------------------------------------------ a slice's message
    def claim_slice(self, message: ExportMessage) -> SliceJob | None:
        """The slice under a fresh lease, or None (unknown, finished, or owned by a live worker)."""
        number = message.slice or 0
        task = self._store.load(message.task_uuid)
        if task is None or not task.slices or not 1 <= number <= len(task.slices):
            logger.warning("message for an unknown slice, dropped", extra={"slice": number})
            return None
        if task.finished:
            self.lifecycle.settle(task)
            return None
        state = self.slices.load(task.task_uuid, number)
        if state is None:
            return None
        if state.status is SliceStatus.COMPLETED:
            self.assemble(task.task_uuid)  # we may have crashed between the count and the end
            return None
        moment = self.clock()
        stale = state.heartbeat_at is None or moment - state.heartbeat_at > timedelta(
            seconds=self.settings.heartbeat_stale_seconds
        )
        if state.status is SliceStatus.PROCESSING and not (message.lease == state.lease or stale):
            logger.info("slice is owned by a live worker", extra={"slice": number})
            return None
        try:
            return SliceJob(task, self.slices.claim(state, moment), self)
        except TransitionRefused:
            logger.info("another worker claimed the slice first", extra={"slice": number})
            return None

    def assemble(self, task_uuid: str) -> None:
        """Complete the task once every slice has finished: the slices' files in slice order
        (the manifest), their records summed. Of two finishers, the lifecycle lets one win."""
        task = self._store.load(task_uuid)
        if task is None or task.status is not TaskStatus.PROCESSING or not task.slices:
            return
        states = self.slices.load_all(task)
        if task.slices_done < len(task.slices) or len(states) < len(task.slices):
            return
        if any(state.status is not SliceStatus.COMPLETED for state in states):
            return
        files = [file for state in states for file in state.files]
        records = sum(state.progress.records for state in states)
        try:
            self.lifecycle.complete(task, files, records)
        except TransitionRefused:
            logger.info("another slice completed the task first")
            return
        count_completed(records)


class SliceJob:
    """One slice of a task, run by the worker's loop (jobs.Job)."""

    def __init__(self, task: ExportTask, state: SliceState, fanout: FanOut) -> None:
        self.task = task
        self.state = state
        self.checkpoint = state.checkpoint
        self.files = list(state.files)
        self._fanout = fanout

    def rows(self, after: str | None) -> Iterator[Row]:
        exporter = cast(ShardedExporter, exporter_for(self.task.task_type))
        return exporter.slice_rows(self.task, after, self.state.shards)

    def file_name(self, number: int, extension: str) -> str:
        return f"export-s{self.state.number:02d}-{number:04d}.{extension}"

    def save(self, **changes: Any) -> None:
        self.state = self._fanout.slices.save(self.state, self._fanout.clock(), **changes)

    def continue_later(self) -> None:
        queue = self._fanout.settings.slice_queue_url
        enqueue_slice(self.task.task_uuid, self.state.number, self.state.lease, queue_url=queue)

    def complete(self, files: list[ExportFile], records: int) -> None:
        self.state = self._fanout.slices.finish(self.state, self._fanout.clock(), files, records)
        logger.info("slice completed", extra={"slice": self.state.number, "records": records})
        self._fanout.assemble(self.task.task_uuid)

    def ended(self) -> bool:
        current = self._fanout.lifecycle.store.load(self.task.task_uuid)
        return current is None or current.status in (TaskStatus.CANCELLED, TaskStatus.FAILED)

    def fail(self, code: str, message: str) -> None:
        """A slice that fails fails its task; the lifecycle removes every slice's output."""
        current = self._fanout.lifecycle.store.load(self.task.task_uuid)
        if current is None or current.finished:
            return
        try:
            self._fanout.lifecycle.fail(current, code, message)
        except TransitionRefused:
            logger.info("task changed hands before it could be marked failed")
