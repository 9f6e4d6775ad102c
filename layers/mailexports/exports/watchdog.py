"""The watchdog: no task stays `new` or `processing` forever.

Unfinished tasks carry `active` in a sparse index ordered by heartbeat, so the
watchdog reads only those whose heartbeat is old. A stale task is re-driven
under a new lease (its old worker, if merely slow, loses its next conditional
write and stops); after `WATCHDOG_MAX_REDRIVES` tries it is failed with a reason.

A stale `new` task may simply be waiting for one of its tenant's running slots. The
watchdog first takes back slots leaked by a crash and hands free ones out in queue
order (so no wake-up is lost for good); a task that then holds a slot but never
started is re-driven as above, one still waiting behind live exports only has its
heartbeat renewed (waiting is not a failure, and costs one write per stale period).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mailexports.config import Settings, get_settings
from mailexports.exports.lifecycle import TaskLifecycle
from mailexports.exports.task import ExportTask, TaskStatus
from mailexports.exports.task_store import TaskStore, TransitionRefused, now
from mailexports.observability import logger, task_logging


@dataclass
class WatchdogReport:
    redriven: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    leaked: list[str] = field(default_factory=list)  # slots taken back from ended tasks


class Watchdog:
    def __init__(
        self,
        store: TaskStore | None = None,
        settings: Settings | None = None,
        clock: Callable[[], datetime] = now,
    ) -> None:
        self._settings = settings or get_settings()
        self._clock = clock
        self._lifecycle = TaskLifecycle(store, self._settings, clock)
        self._store = self._lifecycle.store
        self._queue = self._lifecycle.queue

    def sweep(self, limit: int = 100) -> WatchdogReport:
        report = WatchdogReport()
        repaired: set[str] = set()  # tenants whose slots were checked in this sweep
        moment = self._clock()
        cutoff = moment - timedelta(seconds=self._settings.heartbeat_stale_seconds)
        for task_uuid in self._store.stale(cutoff, limit):
            task = self._store.load(task_uuid)
            if task is None or task.finished:
                continue
            beat = task.heartbeat_at or task.created_at
            if beat >= cutoff:  # it beat since the index was read
                continue
            with task_logging(task_uuid):
                try:
                    if task.status is TaskStatus.NEW:
                        if task.tenant_id not in repaired:
                            repaired.add(task.tenant_id)
                            report.leaked += self._queue.repair(task.tenant_id)
                        if not self._queue.admit(task):
                            self._still_waiting(task)
                            report.waiting.append(task_uuid)
                            continue
                    if task.redrives >= self._settings.watchdog_max_redrives:
                        # Failed like any other end: upload aborted, files gone, client told.
                        self._lifecycle.fail(
                            task,
                            "stalled",
                            f"no progress for {self._settings.heartbeat_stale_seconds} s "
                            f"after {task.redrives} restarts",
                        )
                        report.failed.append(task_uuid)
                    else:
                        self._lifecycle.redrive(task)
                        report.redriven.append(task_uuid)
                except TransitionRefused:
                    continue  # it moved on by itself meanwhile
        if report.redriven or report.failed or report.leaked:
            logger.info(
                "watchdog sweep",
                extra={"redriven": report.redriven, "failed": report.failed, "leaked": report.leaked},
            )
        return report

    def _still_waiting(self, task: ExportTask) -> None:
        """Renew a waiting task's heartbeat, so the next sweeps read past it to real stalls, and
        mark it waiting (its message may be long gone), so a freed slot wakes it."""
        moment = self._clock()
        self._store.transition(
            task, {TaskStatus.NEW}, heartbeat_at=moment, waiting_since=task.waiting_since or moment
        )
