"""The scheduler's sweep: every minute, run each due schedule's slot once.

For each schedule the due index lists, re-read it (the index is eventually
consistent), submit its export as an ordinary task and move `next_run_at` past now:

- the task id comes from (schedule, slot) through the submitter's idempotency, so two
  sweeps of one slot, or a sweep retried after a crash between submit and advance,
  find the same task instead of making a second one;
- `next_run_at` moves by a conditional write on the slot, so only one sweep advances it;
- however many slots passed while nothing swept (an outage), the schedule runs once
  and its next slot is the first one after now;
- an incremental run passes the previous run's task as `since_task`; when that run
  failed or was cancelled, its own `since_task` instead, so nothing is skipped.

A run the service refuses (the campaign is gone, say) is recorded on the schedule as
`last_error` and the schedule moves on; an AWS failure leaves the slot for the next sweep.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import TypeAdapter

from mailexports.api.schemas import SubmitBody
from mailexports.errors import DomainError
from mailexports.exports.requests import ExportRequest
from mailexports.exports.submit import ExportSubmitter
from mailexports.exports.task import TaskStatus
from mailexports.exports.task_store import DynamoTaskStore, TaskStore
from mailexports.observability import logger
from mailexports.schedules.expressions import next_run
from mailexports.schedules.models import RunError, Schedule
from mailexports.schedules.store import DynamoScheduleStore, SlotTaken, now

_SUBMIT_BODY: TypeAdapter[ExportRequest] = TypeAdapter(SubmitBody)
_UNSUCCESSFUL = {TaskStatus.FAILED, TaskStatus.CANCELLED}


@dataclass
class SweepReport:
    submitted: list[str] = field(default_factory=list)  # task ids
    refused: list[str] = field(default_factory=list)  # schedule ids whose run was refused
    lost: list[str] = field(default_factory=list)  # schedule ids another sweep had already run
    failed: list[str] = field(default_factory=list)  # schedule ids left for the next sweep


def run_key(schedule_id: str, slot: datetime) -> str:
    """The idempotency key of one slot. Newlines cannot occur in a client's header value,
    so no Idempotency-Key a client sends can collide with it."""
    return f"schedule\n{schedule_id}\n{slot.isoformat()}"


class ScheduleSweep:
    def __init__(
        self,
        schedules: DynamoScheduleStore | None = None,
        tasks: TaskStore | None = None,
        clock: Callable[[], datetime] = now,
    ) -> None:
        self._schedules = schedules or DynamoScheduleStore()
        self._tasks = tasks or DynamoTaskStore()
        self._submitter = ExportSubmitter(self._tasks)
        self._clock = clock

    def sweep(self, limit: int = 500) -> SweepReport:
        report = SweepReport()
        moment = self._clock()
        for schedule_id in self._schedules.due(moment, limit):
            schedule = self._schedules.load(schedule_id)
            if schedule is None or not schedule.enabled or schedule.next_run_at is None:
                continue
            if schedule.next_run_at > moment:  # another sweep ran it since the index was read
                continue
            try:
                self._run(schedule, moment, report)
            except SlotTaken:
                report.lost.append(schedule_id)
            except Exception:
                logger.exception(
                    "schedule run failed; the next sweep retries it", extra={"schedule_id": schedule_id}
                )
                report.failed.append(schedule_id)
        if report.submitted or report.refused or report.failed:
            logger.info("schedule sweep", extra=report.__dict__)
        return report

    def _run(self, schedule: Schedule, moment: datetime, report: SweepReport) -> None:
        slot = schedule.next_run_at
        assert slot is not None
        following = next_run(schedule.expression, moment, schedule.zone, schedule.anchor)
        try:
            task, _ = self._submitter.submit(
                schedule.tenant_id,
                self._request(schedule),
                idempotency_key=run_key(schedule.schedule_id, slot),
                api_base_url=schedule.api_base_url,
                schedule_id=schedule.schedule_id,
            )
        except DomainError as refused:
            # Not retried every minute: recorded, and the schedule waits for its next slot.
            self._schedules.record_run(
                schedule,
                slot,
                next_run_at=following,
                last_run_at=slot,
                last_error=RunError(at=moment, code=refused.code, message=refused.message),
            )
            report.refused.append(schedule.schedule_id)
            return
        try:
            self._schedules.record_run(
                schedule,
                slot,
                next_run_at=following,
                last_run_at=slot,
                last_task_uuid=task.task_uuid,
                last_error=None,
                runs=schedule.runs + 1,
            )
        except SlotTaken:
            self._schedules.record_late_run(schedule, slot, task.task_uuid)
            raise
        report.submitted.append(task.task_uuid)

    def _request(self, schedule: Schedule) -> ExportRequest:
        request = _SUBMIT_BODY.validate_python(schedule.export)
        since = self._since_task(schedule)
        if since is None:
            return request
        params = request.params.model_copy(update={"since_task": since})
        return request.model_copy(update={"params": params})

    def _since_task(self, schedule: Schedule) -> str | None:
        if not schedule.incremental or schedule.last_task_uuid is None:
            return None  # the first incremental run exports everything so far
        previous = self._tasks.load(schedule.last_task_uuid)
        if previous is not None and previous.status in _UNSUCCESSFUL:
            since = previous.params.get("since_task")  # what that run would have covered
            return str(since) if since else None
        return schedule.last_task_uuid
