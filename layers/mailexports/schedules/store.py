"""Schedules in DynamoDB (SchedulesTable).

Enabled schedules carry `due` and `next_run_at`, a sparse index (`Due`) ordered by the
next slot, so the sweep reads only what is due. A run advances `next_run_at` by a
conditional write on the slot it ran: of two sweeps that ran the same slot, one moves
the schedule on and the other learns that it lost.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mailexports import aws, opaque
from mailexports.conditional_writes import condition_held, refused_as
from mailexports.config import get_settings
from mailexports.errors import NotFound, ValidationFailed
from mailexports.exports.task_store import stamp
from mailexports.schedules.models import Schedule

DUE = "1"  # the one partition of the sparse index; see README (Schedules) on its capacity
MAX_SCHEDULE_ID = 64
_CURSOR_KEYS = {"schedule_id", "tenant_id", "created_at"}


class SlotTaken(Exception):
    """Another sweep already moved the schedule past this slot (or it was paused meanwhile)."""


def _to_item(schedule: Schedule) -> dict[str, Any]:
    item: dict[str, Any] = schedule.model_dump(mode="json", exclude_none=True)
    item["created_at"] = stamp(schedule.created_at)  # fixed width: the listing sorts on it
    if schedule.last_run_at is not None:
        item["last_run_at"] = stamp(schedule.last_run_at)  # fixed width: compared as text
    if schedule.enabled and schedule.next_run_at is not None:
        item["due"] = DUE
        item["next_run_at"] = stamp(schedule.next_run_at)
    return item


def _from_item(item: dict[str, Any]) -> Schedule:
    return Schedule.model_validate({k: int(v) if k == "runs" else v for k, v in item.items()})


class DynamoScheduleStore:
    def __init__(self, table_name: str | None = None) -> None:
        self._table = aws.dynamodb_resource().Table(table_name or get_settings().schedules_table)

    def create(self, schedule: Schedule) -> None:
        self._table.put_item(Item=_to_item(schedule), ConditionExpression="attribute_not_exists(schedule_id)")

    def load(self, schedule_id: str) -> Schedule | None:
        if not 0 < len(schedule_id) <= MAX_SCHEDULE_ID:
            return None
        item = self._table.get_item(Key={"schedule_id": schedule_id}, ConsistentRead=True).get("Item")
        return _from_item(item) if item else None

    def get(self, schedule_id: str, tenant_id: str) -> Schedule:
        """The tenant's schedule; another tenant's id is indistinguishable from an unknown one."""
        schedule = self.load(schedule_id)
        if schedule is None or schedule.tenant_id != tenant_id:
            raise NotFound(f"no schedule {schedule_id}")
        return schedule

    def replace(self, schedule: Schedule) -> None:
        """Write what a PATCH changes, if the schedule still belongs to its tenant. The run
        record (last task, runs) is the sweep's and never written here, so a PATCH racing a
        run cannot put back an older `last_task_uuid` and break an incremental chain."""
        item = _to_item(schedule)
        fields = ("enabled", "schedule", "timezone", "anchor", "updated_at", "due", "next_run_at")
        sets = [k for k in fields if k in item]
        removes = [k for k in fields if k not in item]
        expression = "SET " + ", ".join(f"#{k} = :{k}" for k in sets)
        if removes:
            expression += " REMOVE " + ", ".join(f"#{k}" for k in removes)
        with refused_as(NotFound(f"no schedule {schedule.schedule_id}")):
            self._table.update_item(
                Key={"schedule_id": schedule.schedule_id},
                UpdateExpression=expression,
                ConditionExpression="tenant_id = :t",
                ExpressionAttributeNames={f"#{k}": k for k in fields},
                ExpressionAttributeValues={":t": schedule.tenant_id, **{f":{k}": item[k] for k in sets}},
            )

    def delete(self, schedule_id: str, tenant_id: str) -> None:
        with refused_as(NotFound(f"no schedule {schedule_id}")):
            self._table.delete_item(
                Key={"schedule_id": schedule_id},
                ConditionExpression="tenant_id = :t",
                ExpressionAttributeValues={":t": tenant_id},
            )

    def due(self, now: datetime, limit: int = 500) -> list[str]:
        """Ids of enabled schedules whose next slot is at or before `now` (eventually consistent)."""
        ids: list[str] = []
        kwargs: dict[str, Any] = {
            "IndexName": "Due",
            "KeyConditionExpression": "due = :d AND next_run_at <= :n",
            "ExpressionAttributeValues": {":d": DUE, ":n": stamp(now)},
        }
        while len(ids) < limit:
            page = self._table.query(**kwargs, Limit=limit - len(ids))
            ids += [str(item["schedule_id"]) for item in page["Items"]]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return ids

    def record_run(self, schedule: Schedule, slot: datetime, **changes: Any) -> Schedule:
        """Apply a run's outcome, only while the schedule is enabled and still at `slot`."""
        updated = Schedule.model_validate(schedule.model_copy(update=changes).model_dump())
        item = _to_item(updated)
        sets = [k for k in item if k in changes or k in ("due", "next_run_at")]
        removes = [k for k in dict.fromkeys(("due", "next_run_at", *changes)) if k not in item]
        names = {f"#a{i}": k for i, k in enumerate(sets)} | {f"#r{i}": k for i, k in enumerate(removes)}
        values: dict[str, Any] = {f":v{i}": item[k] for i, k in enumerate(sets)}
        expression = "SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(sets)))
        if removes:
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removes)))
        names |= {"#slot_": "next_run_at", "#enabled_": "enabled"}
        values |= {":slot_": stamp(slot), ":true_": True}
        with refused_as(SlotTaken(schedule.schedule_id)):
            self._table.update_item(
                Key={"schedule_id": schedule.schedule_id},
                UpdateExpression=expression,
                ConditionExpression="#slot_ = :slot_ AND #enabled_ = :true_",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        return updated

    def record_late_run(self, schedule: Schedule, slot: datetime, task_uuid: str) -> bool:
        """Record a run whose advance was lost to a PATCH (not to another sweep of the slot,
        which recorded it already): the next incremental run must chain from this task."""
        return condition_held(
            lambda: self._table.update_item(
                Key={"schedule_id": schedule.schedule_id},
                UpdateExpression="SET last_task_uuid = :task, last_run_at = :slot ADD runs :one REMOVE last_error",
                ConditionExpression="attribute_exists(schedule_id) AND "
                "(attribute_not_exists(last_run_at) OR last_run_at < :slot)",
                ExpressionAttributeValues={":task": task_uuid, ":slot": stamp(slot), ":one": 1},
            )
        )

    def list(self, tenant_id: str, *, limit: int, cursor: str | None) -> tuple[list[Schedule], str | None]:
        """The tenant's schedules, newest first, with an opaque cursor."""
        kwargs: dict[str, Any] = {
            "IndexName": "TenantCreated",
            "KeyConditionExpression": "tenant_id = :t",
            "ExpressionAttributeValues": {":t": tenant_id},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = _decode_cursor(cursor, tenant_id)
        page = self._table.query(**kwargs)
        schedules = [_from_item(item) for item in page["Items"]]
        last = page.get("LastEvaluatedKey")
        return schedules, opaque.encode_json(last) if last else None


def _decode_cursor(cursor: str, tenant_id: str) -> dict[str, Any]:
    refused = ValidationFailed(
        "invalid cursor", [{"field": "cursor", "issue": "not a cursor this API issued"}]
    )
    try:
        key = opaque.decode_json(cursor)
    except ValueError:
        raise refused from None
    if (
        not isinstance(key, dict)
        or set(key) != _CURSOR_KEYS
        or not all(isinstance(value, str) and value for value in key.values())  # DynamoDB would 500 on others
        or key["tenant_id"] != tenant_id
    ):
        raise refused
    return key


def now() -> datetime:
    return datetime.now(UTC)
