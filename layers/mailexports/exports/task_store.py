"""Task data access. Status moves only by conditional writes, so duplicate or
concurrent workers cannot both win a transition."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from mailexports import aws, opaque
from mailexports.conditional_writes import condition_held, refused_as
from mailexports.config import get_settings
from mailexports.errors import NotFound, ValidationFailed
from mailexports.exports.task import ExportTask, TaskStatus

# Task ids are UUIDs; anything much longer is not one of ours.
MAX_TASK_ID = 64
# Keep the task record this long after its files expire, so it can answer `expired`.
RECORD_GRACE = timedelta(days=30)


class TransitionRefused(Exception):
    """The task was not in a status the transition starts from (another writer won)."""


class TaskStore(Protocol):
    def create(self, task: ExportTask) -> bool: ...
    def get(self, task_uuid: str, tenant_id: str) -> ExportTask: ...
    def load(self, task_uuid: str) -> ExportTask | None: ...
    def transition(
        self, task: ExportTask, from_: Iterable[TaskStatus], *, held_lease: str | None = None, **changes: Any
    ) -> ExportTask: ...
    def stale(self, before: datetime, limit: int = 100) -> list[str]: ...
    def list(
        self, tenant_id: str, *, status: TaskStatus | None, limit: int, cursor: str | None
    ) -> tuple[list[ExportTask], str | None]: ...


# Attributes computed from others by `_to_item`, rewritten with every transition.
_DERIVED = ("active", "heartbeat_at", "ttl", "queued_tenant", "queued_at")
# Optional attributes a transition may clear by setting them to None.
_REMOVABLE = frozenset(
    {"active", "heartbeat_at", "error", "lease", "checkpoint", "notification", "queued_tenant", "queued_at"}
)


def stamp(moment: datetime) -> str:
    """Fixed-width UTC time, so the heartbeat index orders as time does."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _to_item(task: ExportTask) -> dict[str, Any]:
    item: dict[str, Any] = task.model_dump(mode="json", exclude_none=True)
    if not task.finished:
        item["active"] = "1"  # sparse index of unfinished tasks, for the watchdog
        item["heartbeat_at"] = stamp(task.heartbeat_at or task.created_at)
    if task.status is TaskStatus.NEW:
        # Sparse index of the tenant's tasks waiting to start, in submission order (fairness).
        item["queued_tenant"] = task.tenant_id
        item["queued_at"] = queue_key(task)
    item["ttl"] = record_ttl(task)
    return item


def record_ttl(task: ExportTask) -> int:
    """When DynamoDB may delete the task's item (and its slices' items, slices.py)."""
    expires = task.expires_at or task.created_at + timedelta(days=get_settings().retention_days)
    return int((expires + RECORD_GRACE).timestamp())


def queue_key(task: ExportTask) -> str:
    """Orders a tenant's waiting tasks by submission; the id breaks ties."""
    return f"{stamp(task.created_at)}#{task.task_uuid}"


def _from_item(item: dict[str, Any]) -> ExportTask:
    return ExportTask.model_validate(plain_numbers(item))


def plain_numbers(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the models want ints."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_numbers(v) for v in value]
    return value


class DynamoTaskStore:
    def __init__(self, table_name: str | None = None) -> None:
        self._table = aws.dynamodb_resource().Table(table_name or get_settings().tasks_table)

    def create(self, task: ExportTask) -> bool:
        """Put a new task; False when a task with this id already exists (idempotent submit)."""
        return condition_held(
            lambda: self._table.put_item(
                Item=_to_item(task), ConditionExpression="attribute_not_exists(task_uuid)"
            )
        )

    def load(self, task_uuid: str) -> ExportTask | None:
        if not 0 < len(task_uuid) <= MAX_TASK_ID:  # DynamoDB refuses such keys: it is simply unknown
            return None
        if "#" in task_uuid:  # a slice's item (slices.py), never a task
            return None
        item = self._table.get_item(Key={"task_uuid": task_uuid}, ConsistentRead=True).get("Item")
        return _from_item(item) if item else None

    def get(self, task_uuid: str, tenant_id: str) -> ExportTask:
        """The tenant's task; another tenant's id is indistinguishable from an unknown one."""
        task = self.load(task_uuid)
        if task is None or task.tenant_id != tenant_id:
            raise NotFound(f"no export task {task_uuid}")
        return task

    def transition(
        self, task: ExportTask, from_: Iterable[TaskStatus], *, held_lease: str | None = None, **changes: Any
    ) -> ExportTask:
        """Apply `changes` only if the stored status is one of `from_` (and, with
        `held_lease`, the task's lease is still that one); return the new task."""
        updated = ExportTask.model_validate(task.model_copy(update=changes).model_dump())
        allowed = sorted({s.value for s in from_})
        item = _to_item(updated)
        # Only what changed (and what derives from it) is written: other writers of the
        # item, such as the notifier recording attempts, are never overwritten.
        touched = [k for k in item if k in changes or k in _DERIVED]
        removed = [k for k in (*changes, *_DERIVED) if k not in item and k in _REMOVABLE]
        names = {f"#a{i}": k for i, k in enumerate(touched)}
        values = {f":v{i}": item[k] for i, k in enumerate(touched)}
        expression = "SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(touched)))
        if removed:
            names.update({f"#r{i}": k for i, k in enumerate(removed)})
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removed)))
        values.update({f":s{i}": s for i, s in enumerate(allowed)})
        names["#st_"] = "status"
        condition = "#st_ IN (" + ", ".join(f":s{i}" for i in range(len(allowed))) + ")"
        if held_lease is not None:
            names["#lease_"] = "lease"
            values[":lease_"] = held_lease
            condition += " AND #lease_ = :lease_"
        with refused_as(TransitionRefused(f"task {task.task_uuid} is not {'/'.join(allowed)}")):
            self._table.update_item(
                Key={"task_uuid": task.task_uuid},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        return updated

    def stale(self, before: datetime, limit: int = 100) -> list[str]:
        """Ids of unfinished tasks whose heartbeat is older than `before` (sparse index)."""
        page = self._table.query(
            IndexName="ActiveHeartbeat",
            KeyConditionExpression="active = :a AND heartbeat_at < :t",
            ExpressionAttributeValues={":a": "1", ":t": stamp(before)},
            Limit=limit,
        )
        return [str(item["task_uuid"]) for item in page["Items"]]

    def list(
        self, tenant_id: str, *, status: TaskStatus | None, limit: int, cursor: str | None
    ) -> tuple[list[ExportTask], str | None]:
        """The tenant's tasks, newest first, `limit` a page, with an opaque cursor."""
        kwargs: dict[str, Any] = {
            "IndexName": "TenantCreated",
            "KeyConditionExpression": "tenant_id = :t",
            "ExpressionAttributeValues": {":t": tenant_id},
            "ScanIndexForward": False,
        }
        if status is not None:
            kwargs["FilterExpression"] = "#s = :s"
            kwargs["ExpressionAttributeNames"] = {"#s": "status"}
            kwargs["ExpressionAttributeValues"][":s"] = status.value
        start = _decode_cursor(cursor, tenant_id) if cursor else None
        tasks: list[ExportTask] = []
        last_key: dict[str, Any] | None = None
        # A status filter may empty a page; keep reading until the page is full or the index ends.
        while len(tasks) < limit:
            if start:
                kwargs["ExclusiveStartKey"] = start
            kwargs["Limit"] = limit - len(tasks)
            page = self._table.query(**kwargs)
            for item in page["Items"]:
                tasks.append(_from_item(item))
                last_key = {k: item[k] for k in ("task_uuid", "tenant_id", "created_at")}
            start = page.get("LastEvaluatedKey")
            if not start:
                return tasks, None
            last_key = start
        return tasks, opaque.encode_json(last_key) if last_key else None


def _decode_cursor(cursor: str, tenant_id: str) -> dict[str, Any]:
    try:
        key = opaque.decode_json(cursor)
        if not isinstance(key, dict) or set(key) != {"task_uuid", "tenant_id", "created_at"}:
            raise ValueError
    except ValueError:
        raise ValidationFailed(
            "invalid cursor", [{"field": "cursor", "issue": "not a cursor this API issued"}]
        ) from None
    if key["tenant_id"] != tenant_id:  # a cursor cannot be used to page another tenant's tasks
        raise ValidationFailed(
            "invalid cursor", [{"field": "cursor", "issue": "not a cursor this API issued"}]
        )
    return key


def now() -> datetime:
    return datetime.now(UTC)
