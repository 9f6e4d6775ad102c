"""What the soak prints about a task it found wrong, for a failure that may never come back:
the task's item as stored (files, status, lease, checkpoint, redrives, notification), the
items of its slices if it was worked in slices, the stack's log lines that name it (the
worker's and notifier's steps, in order), and the faults that touched it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from mailexports.exports.slices import slice_key

LOG_LINES = 30  # of one task, the last ones

_deserialize = TypeDeserializer().deserialize


def stored_items(dynamodb: Any, table: str, task_uuid: str) -> dict[str, Any]:
    """The task's item and its slices' items, read consistently, as plain JSON values."""
    task = _item(dynamodb, table, task_uuid)
    found: dict[str, Any] = {"task": task}
    for number in range(1, len((task or {}).get("slices") or []) + 1):
        found[f"slice {number}"] = _item(dynamodb, table, slice_key(task_uuid, number))
    return found


def _item(dynamodb: Any, table: str, key: str) -> dict[str, Any] | None:
    item = dynamodb.get_item(TableName=table, Key={"task_uuid": {"S": key}}, ConsistentRead=True).get("Item")
    return None if item is None else {name: _plain(_deserialize(value)) for name, value in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_plain(v) for v in value]
    return value


def log_lines(log_file: Path, task_uuid: str, limit: int = LOG_LINES) -> list[str]:
    """The stack log's lines naming the task (every worker line does: observability.task_logging)."""
    lines = [line for line in log_file.read_text(errors="replace").splitlines() if task_uuid in line]
    return lines[-limit:]


def describe(task_uuid: str, dynamodb: Any, table: str, log_file: Path, faults: list[str]) -> str:
    """One block of text: the stored items, the faults, the log lines."""
    items = stored_items(dynamodb, table, task_uuid)
    parts = [f"task {task_uuid} as stored:"]
    parts += [f"  {name}: {json.dumps(item, sort_keys=True, default=str)}" for name, item in items.items()]
    parts += [f"  fault: {fault}" for fault in faults] or ["  faults: none touched it"]
    lines = log_lines(log_file, task_uuid)
    parts.append(f"  stack log ({len(lines)} lines naming it, last {LOG_LINES} at most):")
    parts += [f"    {line}" for line in lines]
    return "\n".join(parts)
