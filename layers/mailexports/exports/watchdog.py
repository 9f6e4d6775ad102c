"""The watchdog: no task stays `new` or `processing` forever.

Unfinished tasks carry `active` in a sparse index ordered by heartbeat, so the
watchdog reads only those whose heartbeat is old. A stale task is re-driven
under a new lease (its old worker, if merely slow, loses its next conditional
write and stops); after `WATCHDOG_MAX_REDRIVES` tries it is failed with a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mailexports.config import Settings, get_settings
from mailexports.exports.lifecycle import TaskLifecycle
from mailexports.exports.task_store import TaskStore, TransitionRefused, now
from mailexports.observability import logger, task_logging


@dataclass
class WatchdogReport:
    redriven: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


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

    def sweep(self, limit: int = 100) -> WatchdogReport:
        report = WatchdogReport()
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
        if report.redriven or report.failed:
            logger.info("watchdog sweep", extra={"redriven": report.redriven, "failed": report.failed})
        return report
