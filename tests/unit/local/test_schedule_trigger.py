"""The local stack's stand-in for EventBridge Scheduler: the template's ScheduleV2 events are
read, their slots follow the expression, an override shortens them, and a firing invokes."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

from mailexports_dev.local.schedule_trigger import ScheduleTrigger
from mailexports_dev.local.template import PROJECT_ROOT, FunctionSpec, ScheduledEvent, functions


class Recorder:
    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self.logical_id = spec.logical_id
        self.events: list[dict[str, Any]] = []
        self.called = threading.Event()

    def invoke(self, event: dict[str, Any]) -> Any:
        self.events.append(event)
        self.called.set()
        return None


def spec_of(logical_id: str) -> FunctionSpec:
    return next(s for s in functions() if s.logical_id == logical_id)


def test_the_template_schedules_are_read() -> None:
    assert spec_of("SchedulerFunction").schedules == (ScheduledEvent("EveryMinute", "rate(1 minute)"),)
    assert spec_of("WatchdogFunction").schedules == (ScheduledEvent("EveryFiveMinutes", "rate(5 minutes)"),)


def test_slots_follow_the_expression_unless_overridden() -> None:
    recorder = Recorder(spec_of("SchedulerFunction"))
    trigger = ScheduleTrigger(recorder, recorder.spec.schedules[0])
    wait = trigger.seconds_to_next(datetime.now(UTC))
    assert wait is not None
    assert 0 < wait <= 60
    quick = ScheduleTrigger(recorder, recorder.spec.schedules[0], interval_override=0.5)
    assert quick.seconds_to_next(datetime.now(UTC)) == 0.5
    assert "--schedule-interval-override" in quick.describe()


def test_a_running_trigger_invokes_with_the_sample_event() -> None:
    recorder = Recorder(spec_of("SchedulerFunction"))
    trigger = ScheduleTrigger(recorder, recorder.spec.schedules[0], interval_override=0.1)
    trigger.start()
    try:
        assert recorder.called.wait(5)
    finally:
        assert trigger.stop()
    sample = json.loads((PROJECT_ROOT / "events/scheduler/sweep.json").read_text())
    assert recorder.events[0] == sample
