"""The state of each slice of a task worked in slices (fanout.py): one item per slice in
the Tasks table, keyed `{task_uuid}#s{NN}`.

Why items of their own, not the task's: every slice checkpoints its multipart upload
(the parts so far) after every part; thirty-two of those in one item would crowd the 400 KB
item limit, and every part of every slice would contend for that one item. The task
keeps only the plan, a count of finished slices and each slice's progress numbers.

Every move is a conditional write, as the task's are:

- `claim`: from `new`, from the lease the message carries, or from a stalled holder;
- `save` (a checkpoint or a heartbeat) and `finish` are one transaction with the task:
  the slice's write holds only under its lease, the task's only while the task is
  `processing`. Once the task has ended (cancel, failure) no slice records anything new,
  so the end's cleanup, which reads the slices after the end, sees every durable upload
  and file. `finish` adds 1 to the task's `slices_done` in the transaction that moves the
  slice from `processing` to `completed`, so a duplicate can never count twice.

Slice items carry no tenant, no `active` and no queue keys: no index of the table (the
tenant's listing, the watchdog's, the queue's) sees them; `ttl` removes them with the task.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from mailexports import aws
from mailexports.conditional_writes import condition_held, refused_as
from mailexports.config import get_settings
from mailexports.exports.checkpoint import Checkpoint
from mailexports.exports.task import ExportFile, ExportTask, Progress, TaskStatus
from mailexports.exports.task_store import TransitionRefused, plain_numbers, record_ttl, stamp
from mailexports.marketing.batches import BATCH_GET_KEYS, batch_get

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import UpdateTypeDef


class SliceStatus(StrEnum):
    NEW = "new"
    PROCESSING = "processing"
    COMPLETED = "completed"


class SliceState(BaseModel):
    task_uuid: str  # the task it is a slice of
    number: int  # 1-based
    shards: list[int]
    status: SliceStatus = SliceStatus.NEW
    lease: str | None = None
    heartbeat_at: datetime | None = None
    checkpoint: Checkpoint | None = None
    files: list[ExportFile] = Field(default_factory=list)
    progress: Progress = Field(default_factory=Progress)


def slice_key(task_uuid: str, number: int) -> str:
    """`#` never occurs in a task id, so a slice's key is never a task's (task_store.load)."""
    return f"{task_uuid}#s{number:02d}"


class SliceStore(Protocol):
    def create(self, task: ExportTask, plan: list[list[int]], checkpoint: Checkpoint) -> None: ...
    def load(self, task_uuid: str, number: int) -> SliceState | None: ...
    def load_all(self, task: ExportTask) -> list[SliceState]: ...
    def claim(self, state: SliceState, at: datetime) -> SliceState: ...
    def save(self, state: SliceState, at: datetime, **changes: Any) -> SliceState: ...
    def finish(
        self, state: SliceState, at: datetime, files: list[ExportFile], records: int
    ) -> SliceState: ...


_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize


class DynamoSliceStore:
    def __init__(self, table_name: str | None = None) -> None:
        self._name = table_name or get_settings().tasks_table
        self._table = aws.dynamodb_resource().Table(self._name)

    def create(self, task: ExportTask, plan: list[list[int]], checkpoint: Checkpoint) -> None:
        """One item per slice, `new`, each starting from `checkpoint` (what the task read up
        front, the CSV columns); items already there (a repeated plan) are left alone."""
        for number, shards in enumerate(plan, start=1):
            state = SliceState(task_uuid=task.task_uuid, number=number, shards=shards, checkpoint=checkpoint)
            item = {**self._item(state), "ttl": record_ttl(task)}
            create = partial(
                self._table.put_item, Item=item, ConditionExpression="attribute_not_exists(task_uuid)"
            )
            condition_held(create)  # False: planned before, left as it is

    def load(self, task_uuid: str, number: int) -> SliceState | None:
        key = {"task_uuid": slice_key(task_uuid, number)}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return None if item is None else _state(item)

    def load_all(self, task: ExportTask) -> list[SliceState]:
        """Every slice of the task, in slice order: one consistent BatchGetItem (a plan has at
        most keys.SHARDS slices, under its 100 keys)."""
        numbers = range(1, len(task.slices or []) + 1)
        if not numbers:
            return []
        assert len(numbers) <= BATCH_GET_KEYS
        request = {
            "Keys": [{"task_uuid": {"S": slice_key(task.task_uuid, n)}} for n in numbers],
            "ConsistentRead": True,
        }
        items, _ = batch_get(aws.dynamodb(), self._name, request, attempts=5)
        states = [_state({name: _deserialize(value) for name, value in item.items()}) for item in items]
        return sorted(states, key=lambda state: state.number)

    def claim(self, state: SliceState, at: datetime) -> SliceState:
        """Take the slice under a fresh lease, from the status and lease it was read with."""
        claimed = state.model_copy(
            update={"status": SliceStatus.PROCESSING, "lease": str(uuid.uuid4()), "heartbeat_at": at}
        )
        held = "#lease = :old" if state.lease else "attribute_not_exists(#lease)"
        values: dict[str, Any] = {":from": state.status.value, ":p": "processing", ":at": stamp(at)}
        if state.lease:
            values[":old"] = state.lease
        values[":new"] = claimed.lease
        with refused_as(TransitionRefused(f"slice {state.number} of {state.task_uuid} moved on")):
            self._table.update_item(
                Key={"task_uuid": slice_key(state.task_uuid, state.number)},
                UpdateExpression="SET #status = :p, #lease = :new, heartbeat_at = :at",
                ConditionExpression=f"#status = :from AND {held}",
                ExpressionAttributeNames={"#status": "status", "#lease": "lease"},
                ExpressionAttributeValues=values,
            )
        return claimed

    def save(self, state: SliceState, at: datetime, **changes: Any) -> SliceState:
        """A checkpoint (`checkpoint`, `files`, `progress`) or, with no changes, a heartbeat;
        the task's heartbeat and its copy of the slice's progress move with it."""
        saved = state.model_copy(update={**changes, "heartbeat_at": at})
        self._transact(state, saved.progress, at, {k: getattr(saved, k) for k in changes}, (), counted=False)
        return saved

    def finish(self, state: SliceState, at: datetime, files: list[ExportFile], records: int) -> SliceState:
        """The slice is done: its files recorded, and counted once on the task."""
        progress = Progress(records=records, bytes=sum(f.bytes for f in files))
        done = state.model_copy(
            update={
                "status": SliceStatus.COMPLETED,
                "files": files,
                "progress": progress,
                "checkpoint": None,
                "lease": None,
                "heartbeat_at": at,
            }
        )
        changes = {"status": done.status, "files": files, "progress": progress}
        self._transact(state, progress, at, changes, ("checkpoint", "lease"), counted=True)
        return done

    # ------------------------------------------------------------------ internals
    def _item(self, state: SliceState) -> dict[str, Any]:
        fields: dict[str, Any] = state.model_dump(mode="json", exclude_none=True)
        fields["slice_of"] = fields.pop("task_uuid")
        if state.heartbeat_at is not None:
            fields["heartbeat_at"] = stamp(state.heartbeat_at)
        return {"task_uuid": slice_key(state.task_uuid, state.number), **fields}

    def _transact(
        self,
        state: SliceState,
        progress: Progress,
        at: datetime,
        changes: dict[str, Any],
        remove: Iterable[str],
        *,
        counted: bool,
    ) -> None:
        """Write `changes` to the slice held under `state.lease`, and its `progress` (and,
        when `counted`, one more finished slice) to the task while the task is processing."""
        names = {"#status": "status", "#lease": "lease"}
        values: dict[str, Any] = {":at": stamp(at), ":processing": "processing", ":lease": state.lease}
        sets = ["heartbeat_at = :at"]
        for i, (name, value) in enumerate(changes.items()):
            names[f"#c{i}"] = name
            values[f":c{i}"] = _json(value)
            sets.append(f"#c{i} = :c{i}")
        expression = "SET " + ", ".join(sets)
        if removed := [f"#r{i}" for i, _ in enumerate(remove)]:
            names.update({f"#r{i}": name for i, name in enumerate(remove)})
            expression += " REMOVE " + ", ".join(removed)
        held_lease = self._update(
            slice_key(state.task_uuid, state.number),
            expression,
            "#status = :processing AND #lease = :lease",
            names,
            values,
        )
        # The task: its heartbeat (the watchdog's sign of life), the slice's progress, the count.
        task_values: dict[str, Any] = {
            ":at": stamp(at),
            ":processing": TaskStatus.PROCESSING.value,
            ":progress": _json(progress),
        }
        task_expression = "SET heartbeat_at = :at, #sp.#n = :progress"
        if counted:
            task_values[":one"] = 1
            task_expression += " ADD slices_done :one"
        on_task = self._update(
            state.task_uuid,
            task_expression,
            "#status = :processing",
            {"#status": "status", "#sp": "slice_progress", "#n": str(state.number)},
            task_values,
        )
        try:
            aws.dynamodb().transact_write_items(TransactItems=[{"Update": held_lease}, {"Update": on_task}])
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                raise TransitionRefused(
                    f"slice {state.number} of {state.task_uuid}: lease lost or the task ended"
                ) from None
            raise

    def _update(
        self, key: str, expression: str, condition: str, names: dict[str, str], values: dict[str, Any]
    ) -> UpdateTypeDef:
        used = {k: v for k, v in names.items() if k in expression or k in condition}
        return {
            "TableName": self._name,
            "Key": {"task_uuid": {"S": key}},
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": used,
            "ExpressionAttributeValues": {k: _serialize(v) for k, v in values.items()},
        }


def _state(item: dict[str, Any]) -> SliceState:
    fields = plain_numbers({k: v for k, v in item.items() if k not in ("task_uuid", "ttl")})
    return SliceState.model_validate({**fields, "task_uuid": fields.pop("slice_of")})


def _json(value: Any) -> Any:
    """A model (or list of models) as the plain values DynamoDB stores."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, list):
        return [_json(v) for v in value]
    if isinstance(value, StrEnum):
        return value.value
    return value
