"""What the worker's loop runs: a whole task, or one slice of a task worked in slices.

The loop (worker.py) streams rows into files and checkpoints; a `Job` says where the
rows come from, what the files are called, and where its state and its end go. A whole
task's job hands everything to the lifecycle; a slice's (fanout.py) to its slice item,
and its end to the task once every slice has finished.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from mailexports.config import Settings
from mailexports.exports.checkpoint import Checkpoint
from mailexports.exports.exporters import Row, exporter_for
from mailexports.exports.lifecycle import TaskLifecycle
from mailexports.exports.messages import enqueue_export
from mailexports.exports.task import ExportFile, ExportTask, TaskStatus
from mailexports.exports.task_store import TransitionRefused
from mailexports.observability import MetricUnit, logger, metrics


class Job(Protocol):
    task: ExportTask  # the export asked for (a slice's task): params, format, destination
    checkpoint: Checkpoint | None  # where the job got to
    files: list[ExportFile]  # the files it has finished

    def rows(self, after: str | None) -> Iterator[Row]: ...
    def file_name(self, number: int, extension: str) -> str: ...
    def save(self, **changes: Any) -> None:
        """Record a checkpoint (or, with no changes, a heartbeat); TransitionRefused once the
        job is no longer this invocation's (a duplicate took over, or the task ended)."""
        ...

    def continue_later(self) -> None: ...
    def complete(self, files: list[ExportFile], records: int) -> None: ...
    def ended(self) -> bool:
        """The task was cancelled or failed: what only this invocation knows of must go."""
        ...

    def fail(self, code: str, message: str) -> None: ...


class TaskJob:
    """A task worked by one invocation at a time, from its own checkpoint."""

    def __init__(self, task: ExportTask, lifecycle: TaskLifecycle, settings: Settings) -> None:
        self.task = task
        self.checkpoint = task.checkpoint
        self.files = list(task.files)
        self._lifecycle = lifecycle
        self._settings = settings

    def rows(self, after: str | None) -> Iterator[Row]:
        return exporter_for(self.task.task_type).rows(self.task, after)

    def file_name(self, number: int, extension: str) -> str:
        return f"export-{number:04d}.{extension}"

    def save(self, **changes: Any) -> None:
        self.task = self._lifecycle.checkpoint(self.task, **changes)

    def continue_later(self) -> None:
        enqueue_export(self.task.task_uuid, self.task.lease, queue_url=self._settings.export_queue_url)

    def complete(self, files: list[ExportFile], records: int) -> None:
        self._lifecycle.complete(self.task, files, records)
        count_completed(records)

    def ended(self) -> bool:
        current = self._lifecycle.store.load(self.task.task_uuid)
        return current is not None and current.status is TaskStatus.CANCELLED

    def fail(self, code: str, message: str) -> None:
        """Mark the task failed with a reason; the lifecycle removes whatever it had written."""
        try:
            self._lifecycle.fail(self.task, code, message)
        except TransitionRefused:
            logger.info("task changed hands before it could be marked failed")


def count_completed(records: int) -> None:
    logger.info("export completed", extra={"records": records})
    metrics.add_metric(name="ExportsCompleted", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="RecordsExported", unit=MetricUnit.Count, value=records)
