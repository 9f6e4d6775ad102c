"""Notification progress on the task item, written only by conditional UpdateItems on
the `notification` map: never a whole-item write, so the worker's writes and ours
cannot overwrite each other.

Attempt n may be recorded only while n-1 attempts are recorded and the
notification is still open (pending or retrying), so a duplicate message cannot
record an attempt twice. Before sending, attempt n is *claimed* for a short
while (`notification.claim`), so two copies of one message do not both send;
a claim that outlives a crashed invocation simply expires.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from mailexports import aws
from mailexports.conditional_writes import condition_held
from mailexports.config import get_settings
from mailexports.exports.task import NotificationAttempt

OPEN_STATUSES = ("pending", "retrying")

_NAMES = {
    "#n": "notification",
    "#att": "attempts",
    "#st": "status",
    "#claim": "claim",
    "#ca": "attempt",
    "#cu": "until",
    "#wid": "webhook_id",
}


class NotificationRecorder:
    def __init__(self, table_name: str | None = None) -> None:
        self._table = aws.dynamodb_resource().Table(table_name or get_settings().tasks_table)

    def claim(self, task_uuid: str, attempt: int, *, now: datetime, hold: timedelta) -> bool:
        """Take attempt `attempt` for this invocation; False when it is recorded already,
        the notification is closed, or another invocation holds a live claim on it."""
        values: dict[str, Any] = {
            ":claim": {"attempt": attempt, "until": int((now + hold).timestamp())},
            ":attempt": attempt,
            ":now": int(now.timestamp()),
            **_open_values(),
            ":prev": attempt - 1,
        }
        condition = (
            f"{_OPEN} AND {_count_is(attempt - 1)}"
            " AND (attribute_not_exists(#n.#claim) OR #n.#claim.#ca < :attempt OR #n.#claim.#cu < :now)"
        )
        return self._update(
            task_uuid,
            "SET #n.#claim = :claim",
            condition,
            values,
            names=("#n", "#att", "#st", "#claim", "#ca", "#cu"),
        )

    def record(
        self,
        task_uuid: str,
        attempt: int,
        entry: NotificationAttempt,
        *,
        status: str,
        webhook_id: str | None = None,
    ) -> bool:
        """Append attempt `attempt` and set the status; False if it was recorded already."""
        values: dict[str, Any] = {
            ":a": [entry.model_dump(mode="json", exclude_none=True)],
            ":empty": [],
            ":status": status,
            **_open_values(),
            ":prev": attempt - 1,
        }
        expression = "SET #n.#att = list_append(if_not_exists(#n.#att, :empty), :a), #n.#st = :status"
        names = ["#n", "#att", "#st"]
        if webhook_id is not None:
            expression += ", #n.#wid = :wid"
            values[":wid"] = webhook_id
            names.append("#wid")
        return self._update(
            task_uuid, expression, f"{_OPEN} AND {_count_is(attempt - 1)}", values, names=names
        )

    def _update(
        self, task_uuid: str, expression: str, condition: str, values: dict[str, Any], *, names: Any
    ) -> bool:
        return condition_held(
            lambda: self._table.update_item(
                Key={"task_uuid": task_uuid},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={k: _NAMES[k] for k in names},
                ExpressionAttributeValues=values,
            )
        )


_OPEN = "attribute_exists(#n) AND #n.#st IN (:open0, :open1)"


def _open_values() -> dict[str, str]:
    return {f":open{i}": s for i, s in enumerate(OPEN_STATUSES)}


def _count_is(previous: int) -> str:
    """Exactly `previous` attempts recorded (a missing list counts as none)."""
    if previous == 0:
        return "(attribute_not_exists(#n.#att) OR size(#n.#att) = :prev)"
    return "size(#n.#att) = :prev"
