"""Creating and changing schedules: the export is checked as a submit would check it,
and `next_run_at` follows from the expression, before anything is stored."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from mailexports.errors import ValidationFailed
from mailexports.exports.requests import ExportRequest
from mailexports.exports.submit import ExportSubmitter
from mailexports.marketing.vocabulary import iso_ms
from mailexports.schedules.expressions import next_run
from mailexports.schedules.models import Schedule, SchedulePatch
from mailexports.schedules.store import DynamoScheduleStore, now


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def first_run(schedule: Schedule, moment: datetime) -> datetime | None:
    """A rate's first run is its anchor (a new rate schedule runs at once); a cron's, its next slot."""
    return next_run(schedule.expression, moment - timedelta(microseconds=1), schedule.zone, schedule.anchor)


def create_schedule(
    tenant_id: str,
    export: ExportRequest,
    fields: dict[str, Any],
    *,
    api_base_url: str | None,
    store: DynamoScheduleStore | None = None,
) -> Schedule:
    ExportSubmitter().check(tenant_id, export)  # unknown stat_id, csv contact_data, webhook target ...
    moment = now()
    schedule = Schedule(
        schedule_id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        export=export.model_dump(mode="json", exclude_none=True),
        created_at=moment,
        updated_at=moment,
        anchor=_minute(moment),
        api_base_url=api_base_url,
        **fields,
    )
    if schedule.enabled:
        schedule.next_run_at = _must_run(first_run(schedule, _minute(moment)))
    (store or DynamoScheduleStore()).create(schedule)
    return schedule


def apply_patch(schedule: Schedule, patch: SchedulePatch) -> Schedule:
    """The changed schedule. A resumed or re-timed schedule starts from its next slot after now:
    slots missed while paused are not made up."""
    moment = now()
    changes = patch.model_dump(exclude_unset=True)
    retimed = "schedule" in changes or "timezone" in changes
    resumed = changes.get("enabled") is True and not schedule.enabled
    updated = Schedule.model_validate({**schedule.model_dump(), **changes, "updated_at": moment})
    if retimed:
        updated.anchor = _minute(moment)
    if not updated.enabled:
        updated.next_run_at = None
    elif retimed or resumed:
        updated.next_run_at = _must_run(next_run(updated.expression, moment, updated.zone, updated.anchor))
    return updated


def _must_run(slot: datetime | None) -> datetime:
    """A schedule that is enabled must have a slot ahead (cron(0 0 31 2 ? *) never comes)."""
    if slot is None:
        raise ValidationFailed(
            "the schedule never runs",
            [{"field": "schedule", "issue": "no time matches it from now on (up to the year 2199)"}],
        )
    return slot


def _ts(value: datetime | None) -> str | None:
    return iso_ms(value) if value else None


def schedule_view(schedule: Schedule) -> dict[str, Any]:
    return {
        "id": schedule.schedule_id,
        "export": schedule.export,
        "schedule": schedule.schedule,
        "timezone": schedule.timezone,
        "incremental": schedule.incremental,
        "enabled": schedule.enabled,
        "created_at": _ts(schedule.created_at),
        "updated_at": _ts(schedule.updated_at),
        "next_run_at": _ts(schedule.next_run_at),
        "last_run_at": _ts(schedule.last_run_at),
        "last_task_uuid": schedule.last_task_uuid,
        "last_error": schedule.last_error.model_dump(mode="json") if schedule.last_error else None,
        "runs": schedule.runs,
    }
