"""The watchdog: no task stays `new` or `processing` forever.

Unfinished tasks carry `active` in a sparse index ordered by heartbeat, so the
watchdog reads only those whose heartbeat is old. A stale task is re-driven
under a new lease (its old worker, if merely slow, loses its next conditional
write and stops); after `WATCHDOG_MAX_REDRIVES` tries it is failed with a reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mailexports import aws
from mailexports.config import Settings, get_settings
from mailexports.exports.task import TaskError, TaskStatus
from mailexports.exports.task_store import DynamoTaskStore, TaskStore, TransitionRefused, now
from mailexports.exports.worker import message_body
from mailexports.observability import logger


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
        self._store = store or DynamoTaskStore()
        self._settings = settings or get_settings()
        self._clock = clock

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
            try:
                if task.redrives >= self._settings.watchdog_max_redrives:
                    self._store.transition(
                        task,
                        {task.status},
                        held_lease=task.lease,
                        status=TaskStatus.FAILED,
                        completed_at=moment,
                        error=TaskError(
                            code="stalled",
                            message=f"no progress for {self._settings.heartbeat_stale_seconds} s "
                            f"after {task.redrives} restarts",
                        ),
                        lease=None,
                    )
                    report.failed.append(task_uuid)
                    continue
                lease = str(uuid.uuid4()) if task.status is TaskStatus.PROCESSING else None
                self._store.transition(
                    task,
                    {task.status},
                    held_lease=task.lease,
                    redrives=task.redrives + 1,
                    heartbeat_at=moment,
                    lease=lease,
                )
            except TransitionRefused:
                continue  # it moved on by itself meanwhile
            aws.sqs().send_message(
                QueueUrl=self._settings.export_queue_url, MessageBody=message_body(task_uuid, lease)
            )
            report.redriven.append(task_uuid)
        if report.redriven or report.failed:
            logger.info("watchdog sweep", extra={"redriven": report.redriven, "failed": report.failed})
        return report
