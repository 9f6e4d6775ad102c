"""EventBridge Scheduler, emulated: invoke a function at each slot of its ScheduleV2 event.

The slots come from the same expression parser the service uses (UTC, as the template's
schedules are). `interval_override` fires every that many seconds instead, so a test or a
developer need not wait a minute for the scheduler's sweep or five for the watchdog's.
The event is what EventBridge Scheduler passes a Lambda target without an `Input`: `{}`.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from mailexports.schedules.expressions import next_run, parse
from mailexports_dev.local.lambda_runtime import Invocable, report_failure
from mailexports_dev.local.template import ScheduledEvent

_UTC = ZoneInfo("UTC")


class ScheduleTrigger:
    def __init__(
        self, function: Invocable, event: ScheduledEvent, *, interval_override: float | None = None
    ) -> None:
        self.function = function
        self.event = event
        self.interval_override = interval_override
        self._expression = parse(event.expression)
        self._anchor = datetime.now(UTC)
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"schedule-{function.logical_id}-{event.name}", daemon=True
        )
        self.invocations = 0

    def describe(self) -> str:
        every = (
            f"every {self.interval_override:g} s (--schedule-interval-override)"
            if self.interval_override is not None
            else self.event.expression
        )
        return f"{self.function.logical_id} <- {self.event.name} ({every})"

    def seconds_to_next(self, now: datetime) -> float | None:
        if self.interval_override is not None:
            return self.interval_override
        slot = next_run(self._expression, now, _UTC, self._anchor)
        if slot is None:  # a cron whose last year has passed: never again
            return None
        return max(0.0, (slot - now).total_seconds())

    def fire(self) -> None:
        try:
            self.function.invoke({})
        except Exception as error:  # as in AWS: the failure is logged, the schedule goes on
            report_failure(self.function, error)
        self.invocations += 1

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5) -> bool:
        self._stopping.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while True:
            delay = self.seconds_to_next(datetime.now(UTC))
            if self._stopping.wait(3600 if delay is None else delay):
                return
            if delay is not None:
                self.fire()
