"""The scheduler's sweep on moto: a due slot becomes one ordinary task with `schedule_id`;
slots missed during an outage run once; concurrent sweeps of a slot make one task;
incremental runs chain `since_task`; paused schedules do not run; a refused run is recorded."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from pydantic import TypeAdapter
from tests.builders import FakeLambdaContext
from tests.conftest import load_handler
from tests.unit.schedules.support import EXPORT, seed

from mailexports.api.schemas import SubmitBody
from mailexports.config import Settings
from mailexports.exports.task import ExportTask, TaskStatus
from mailexports.exports.task_store import DynamoTaskStore
from mailexports.exports.task_view import task_view
from mailexports.schedules.models import Schedule, SchedulePatch
from mailexports.schedules.service import apply_patch, create_schedule
from mailexports.schedules.store import DynamoScheduleStore, SlotTaken
from mailexports.schedules.sweep import ScheduleSweep, SweepReport
from mailexports.tenants.models import CreatedTenant
from mailexports_dev.local.template import PROJECT_ROOT


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def seeded(tenant: CreatedTenant) -> CreatedTenant:
    seed(tenant.tenant_id)
    return tenant


def make(tenant_id: str, export: dict[str, Any] = EXPORT, **fields: Any) -> Schedule:
    request = TypeAdapter(SubmitBody).validate_python(export)
    return create_schedule(
        tenant_id, request, {"schedule": "rate(1 hour)", **fields}, api_base_url="https://api.example.test"
    )


def tasks_of(tenant_id: str) -> list[ExportTask]:
    tasks, _ = DynamoTaskStore().list(tenant_id, status=None, limit=100, cursor=None)
    return tasks


def finish(task_uuid: str, status: TaskStatus = TaskStatus.COMPLETED) -> None:
    """End a run as the worker would; a completed export of these types has its watermark."""
    store = DynamoTaskStore()
    task = store.load(task_uuid)
    assert task is not None
    watermark = {"watermark": datetime.now(UTC)} if status is TaskStatus.COMPLETED else {}
    store.transition(task, [TaskStatus.NEW], status=status, **watermark)


def test_a_due_slot_becomes_one_ordinary_task(seeded: CreatedTenant, aws_stack: Settings) -> None:
    schedule = make(seeded.tenant_id)
    clock = Clock(schedule.created_at + timedelta(seconds=30))
    report = ScheduleSweep(clock=clock).sweep()
    assert len(report.submitted) == 1
    (task,) = tasks_of(seeded.tenant_id)
    assert task.schedule_id == schedule.schedule_id
    assert task_view(task)["schedule_id"] == schedule.schedule_id  # what GET /v1/exports/{id} shows
    assert (task.params["stat_id"], task.status) == ("981", TaskStatus.NEW)
    after = DynamoScheduleStore().get(schedule.schedule_id, seeded.tenant_id)
    assert (after.last_task_uuid, after.runs, after.last_run_at) == (task.task_uuid, 1, schedule.next_run_at)
    assert after.next_run_at == schedule.anchor + timedelta(hours=1)
    # Nothing due until then: a sweep a minute later does nothing.
    clock.moment += timedelta(minutes=1)
    assert ScheduleSweep(clock=clock).sweep().submitted == []


def test_slots_missed_during_an_outage_run_once(seeded: CreatedTenant, aws_stack: Settings) -> None:
    schedule = make(seeded.tenant_id)
    clock = Clock(schedule.anchor + timedelta(hours=5, minutes=10))  # five slots went by unswept
    assert len(ScheduleSweep(clock=clock).sweep().submitted) == 1
    assert ScheduleSweep(clock=clock).sweep().submitted == []
    assert len(tasks_of(seeded.tenant_id)) == 1
    after = DynamoScheduleStore().get(schedule.schedule_id, seeded.tenant_id)
    assert after.next_run_at == schedule.anchor + timedelta(hours=6)  # the first slot after now


def test_concurrent_sweeps_of_one_slot_make_one_task(seeded: CreatedTenant, aws_stack: Settings) -> None:
    schedule = make(seeded.tenant_id)
    clock = Clock(schedule.anchor + timedelta(seconds=5))
    reports = []
    start = threading.Barrier(4)

    def sweep() -> None:
        sweeper = ScheduleSweep(clock=clock)
        start.wait()
        reports.append(sweeper.sweep())

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(tasks_of(seeded.tenant_id)) == 1
    assert sum(len(r.failed) for r in reports) == 0
    assert DynamoScheduleStore().get(schedule.schedule_id, seeded.tenant_id).runs == 1


def test_a_sweep_that_read_the_slot_before_another_advanced_it_makes_no_second_task(
    seeded: CreatedTenant, aws_stack: Settings
) -> None:
    schedule = make(seeded.tenant_id)
    clock = Clock(schedule.anchor + timedelta(seconds=5))
    stale_copy = DynamoScheduleStore().get(schedule.schedule_id, seeded.tenant_id)
    winner = ScheduleSweep(clock=clock).sweep().submitted
    with pytest.raises(SlotTaken):  # it submits (and finds the winner's task), then loses the advance
        ScheduleSweep(clock=clock)._run(stale_copy, clock.moment, SweepReport())
    assert [t.task_uuid for t in tasks_of(seeded.tenant_id)] == winner
    assert DynamoScheduleStore().get(schedule.schedule_id, seeded.tenant_id).runs == 1


def test_incremental_runs_chain_since_task(seeded: CreatedTenant, aws_stack: Settings) -> None:
    schedule = make(seeded.tenant_id, incremental=True)
    clock = Clock(schedule.anchor + timedelta(seconds=1))
    store = DynamoTaskStore()
    first = ScheduleSweep(clock=clock).sweep().submitted[0]
    assert store.load(first).params.get("since_task") is None  # type: ignore[union-attr]
    finish(first)
    clock.moment += timedelta(hours=1)
    second = ScheduleSweep(clock=clock).sweep().submitted[0]
    assert store.load(second).params["since_task"] == first  # type: ignore[union-attr]
    # The second run fails: the third covers what the second should have, chaining from the first.
    finish(second, TaskStatus.FAILED)
    clock.moment += timedelta(hours=1)
    third = ScheduleSweep(clock=clock).sweep().submitted[0]
    assert store.load(third).params["since_task"] == first  # type: ignore[union-attr]
    finish(third)
    clock.moment += timedelta(hours=1)
    fourth = ScheduleSweep(clock=clock).sweep().submitted[0]
    assert store.load(fourth).params["since_task"] == third  # type: ignore[union-attr]
    assert len({first, second, third, fourth}) == 4


def test_a_non_incremental_schedule_repeats_the_same_export(
    seeded: CreatedTenant, aws_stack: Settings
) -> None:
    schedule = make(seeded.tenant_id)
    clock = Clock(schedule.anchor + timedelta(seconds=1))
    first = ScheduleSweep(clock=clock).sweep().submitted[0]
    clock.moment += timedelta(hours=1)
    second = ScheduleSweep(clock=clock).sweep().submitted[0]
    assert first != second
    assert DynamoTaskStore().load(second).params.get("since_task") is None  # type: ignore[union-attr]


def test_paused_schedules_do_not_run_and_resume_from_now(seeded: CreatedTenant, aws_stack: Settings) -> None:
    store = DynamoScheduleStore()
    schedule = make(seeded.tenant_id)
    store.replace(apply_patch(schedule, SchedulePatch(enabled=False)))
    clock = Clock(schedule.anchor + timedelta(hours=3, minutes=1))
    assert ScheduleSweep(clock=clock).sweep().submitted == []
    assert tasks_of(seeded.tenant_id) == []
    assert make(seeded.tenant_id, enabled=False).next_run_at is None  # created paused: not due either


def test_a_refused_run_is_recorded_and_the_schedule_moves_on(
    seeded: CreatedTenant, aws_stack: Settings
) -> None:
    schedule = make(seeded.tenant_id)
    # The export became invalid after creation (here: its stored body names an unknown send).
    boto3.resource("dynamodb").Table(aws_stack.schedules_table).update_item(
        Key={"schedule_id": schedule.schedule_id},
        UpdateExpression="SET #e = :e",
        ExpressionAttributeNames={"#e": "export"},
        ExpressionAttributeValues={":e": {**EXPORT, "params": {"stat_id": "gone"}}},
    )
    clock = Clock(schedule.anchor + timedelta(seconds=1))
    report = ScheduleSweep(clock=clock).sweep()
    assert (report.submitted, report.refused) == ([], [schedule.schedule_id])
    after = DynamoScheduleStore().get(schedule.schedule_id, seeded.tenant_id)
    assert after.last_error is not None
    assert after.last_error.code == "unknown_reference"
    assert after.next_run_at == schedule.anchor + timedelta(hours=1)
    assert tasks_of(seeded.tenant_id) == []


def test_the_scheduler_handler_sweeps(seeded: CreatedTenant, aws_stack: Settings) -> None:
    make(seeded.tenant_id)
    scheduler = load_handler("scheduler")
    sample = json.loads((PROJECT_ROOT / "events/scheduler/sweep.json").read_text())  # sam local invoke -e
    answer = scheduler.lambda_handler(sample, FakeLambdaContext())
    assert len(answer["submitted"]) == 1
    assert tasks_of(seeded.tenant_id)[0].task_uuid == answer["submitted"][0]


def test_a_cron_schedule_runs_at_its_wall_clock_slot(seeded: CreatedTenant, aws_stack: Settings) -> None:
    schedule = make(seeded.tenant_id, schedule="cron(30 2 * * ? *)", timezone="America/New_York")
    assert schedule.next_run_at is not None
    assert schedule.next_run_at.astimezone(schedule.zone).strftime("%H:%M") in {"02:30", "03:30"}
    early = Clock(schedule.next_run_at - timedelta(minutes=1))
    assert ScheduleSweep(clock=early).sweep().submitted == []
    on_time = Clock(schedule.next_run_at.astimezone(UTC))
    assert len(ScheduleSweep(clock=on_time).sweep().submitted) == 1


def test_a_patch_during_a_run_keeps_the_incremental_chain(seeded: CreatedTenant, aws_stack: Settings) -> None:
    """The sweep submits, then a PATCH re-times the schedule before the sweep advances it:
    the run is still recorded, so the next incremental run chains from it."""
    store = DynamoScheduleStore()
    schedule = make(seeded.tenant_id, incremental=True)
    clock = Clock(schedule.anchor + timedelta(seconds=1))
    read_by_sweep = store.get(schedule.schedule_id, seeded.tenant_id)
    store.replace(apply_patch(read_by_sweep, SchedulePatch(schedule="rate(2 hours)")))
    with pytest.raises(SlotTaken):
        ScheduleSweep(clock=clock)._run(read_by_sweep, clock.moment, SweepReport())
    after = store.get(schedule.schedule_id, seeded.tenant_id)
    (task,) = tasks_of(seeded.tenant_id)
    assert (after.last_task_uuid, after.runs, after.schedule) == (task.task_uuid, 1, "rate(2 hours)")
    # A second sweep of that same slot records nothing twice.
    with pytest.raises(SlotTaken):
        ScheduleSweep(clock=clock)._run(read_by_sweep, clock.moment, SweepReport())
    assert store.get(schedule.schedule_id, seeded.tenant_id).runs == 1
