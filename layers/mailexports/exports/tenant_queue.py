"""Fair under load: at most `max_running_per_tenant` exports of one tenant run at once.

Two things make it work, both moved only by conditional writes:

- the tenant's slot item in the Limits table (`slots#<tenant>`), whose `holders` string set names the tasks
  that hold a running slot. Taking a slot is `ADD` under the condition that the set is
  smaller than the limit (or already holds the task), so concurrent workers can never
  overshoot; giving it back is `DELETE`. Both are idempotent, so a redelivered message
  or a repeated end never counts twice;
- the sparse `TenantQueue` index of the Tasks table: the tenant's `new` tasks in
  submission order.

Slots go out in queue order. Whoever frees a slot (every end passes through the
lifecycle) or finds one free (a claim) runs `dispatch`, which hands the free slots to the
oldest waiting tasks and sends each its message; a task that gets no slot is left waiting
in `new` and its message dropped, so waiting costs no invocations. A wake-up lost to a
crash is made good by the watchdog (`repair` then `dispatch`): waiting tasks reach its
stale window like any other unfinished task.
"""

from __future__ import annotations

from typing import Any

from mailexports import aws
from mailexports.conditional_writes import condition_held
from mailexports.config import Settings, get_settings
from mailexports.exports import messages
from mailexports.exports.task import ExportTask, TaskStatus
from mailexports.exports.task_store import TaskStore, queue_key
from mailexports.observability import logger

QUEUE_INDEX = "TenantQueue"


def slots_key(tenant_id: str) -> str:
    return f"slots#{tenant_id}"


class TenantQueue:
    def __init__(self, store: TaskStore, settings: Settings | None = None) -> None:
        self._store = store
        self._settings = settings or get_settings()
        self._tasks = aws.dynamodb_resource().Table(self._settings.tasks_table)
        self._limits = aws.dynamodb_resource().Table(self._settings.limits_table)
        self.limit = self._settings.max_running_per_tenant

    # ------------------------------------------------------------------ slots
    def holders(self, tenant_id: str) -> set[str]:
        item: dict[str, Any] = (
            self._limits.get_item(Key={"pk": slots_key(tenant_id)}, ConsistentRead=True).get("Item") or {}
        )
        return {str(h) for h in item.get("holders", set())}

    def acquire(self, tenant_id: str, task_uuid: str) -> bool:
        """Take a slot for the task: True when it holds one (now or already)."""
        return self._update(
            tenant_id,
            "ADD holders :one",
            "attribute_not_exists(holders) OR size(holders) < :limit OR contains(holders, :task)",
            {":one": {task_uuid}, ":task": task_uuid, ":limit": self.limit},
        )

    def release(self, tenant_id: str, task_uuid: str) -> bool:
        """Give the task's slot back: True when it held one."""
        return self._update(
            tenant_id,
            "DELETE holders :one",
            "contains(holders, :task)",
            {
                ":one": {task_uuid},
                ":task": task_uuid,
            },
        )

    def _update(self, tenant_id: str, expression: str, condition: str, values: dict[str, Any]) -> bool:
        return condition_held(
            lambda: self._limits.update_item(
                Key={"pk": slots_key(tenant_id)},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        )

    # ------------------------------------------------------------------ queue order
    def waiting(self, tenant_id: str, limit: int) -> list[str]:
        """The oldest `limit` of the tenant's tasks still in `new`, oldest first."""
        page = self._tasks.query(
            IndexName=QUEUE_INDEX,
            KeyConditionExpression="queued_tenant = :t",
            ExpressionAttributeValues={":t": tenant_id},
            Limit=limit,
        )
        return [str(item["task_uuid"]) for item in page["Items"]]

    def position(self, task: ExportTask) -> int | None:
        """1 for the next task of the tenant to start; None once the task has started."""
        if task.status is not TaskStatus.NEW:
            return None
        kwargs: dict[str, Any] = {
            "IndexName": QUEUE_INDEX,
            "KeyConditionExpression": "queued_tenant = :t AND queued_at < :k",
            "ExpressionAttributeValues": {":t": task.tenant_id, ":k": queue_key(task)},
            "Select": "COUNT",
        }
        ahead = 0
        while True:
            page = self._tasks.query(**kwargs)
            ahead += int(page["Count"])
            if "LastEvaluatedKey" not in page:
                return ahead + 1
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def positions(self, tenant_id: str, wanted: set[str]) -> dict[str, int]:
        """`position` of each of `wanted` (the tenant's `new` tasks) from one read of the queue."""
        found: dict[str, int] = {}
        kwargs: dict[str, Any] = {
            "IndexName": QUEUE_INDEX,
            "KeyConditionExpression": "queued_tenant = :t",
            "ExpressionAttributeValues": {":t": tenant_id},
        }
        place = 0
        while wanted - found.keys():
            page = self._tasks.query(**kwargs)
            for item in page["Items"]:
                place += 1
                if (task_uuid := str(item["task_uuid"])) in wanted:
                    found[task_uuid] = place
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found

    # ------------------------------------------------------------------ handing out slots
    def dispatch(self, tenant_id: str, *, quiet: str | None = None) -> set[str]:
        """Give the tenant's free slots to its oldest waiting tasks and send each its message
        (except `quiet`, a task whose caller starts it itself). Returns the tasks granted."""
        holders = self.holders(tenant_id)
        free = self.limit - len(holders)
        granted: set[str] = set()
        if free <= 0:
            return granted
        # Queued tasks holding a slot are granted but not yet started: at most len(holders).
        for task_uuid in self.waiting(tenant_id, free + len(holders)):
            if task_uuid in holders:
                continue
            if len(granted) >= free or not self.acquire(tenant_id, task_uuid):
                break  # full (perhaps another dispatcher filled it meanwhile)
            granted.add(task_uuid)
            if task_uuid != quiet:
                self._wake(tenant_id, task_uuid)
        if granted:
            logger.info("slots handed out", extra={"tenant_slots_granted": len(granted)})
        return granted

    def _wake(self, tenant_id: str, task_uuid: str) -> None:
        """Send a message to a task just granted a slot if it was turned away before (its
        message dropped); one still in flight needs none. Read after the grant, and the
        claimer marks itself waiting before it looks at the slots again: one of the two
        always sees the other, so no wake-up is lost between them."""
        task = self._store.load(task_uuid)
        if task is None or task.finished:  # the index lagged behind its end: no slot for it
            self.release(tenant_id, task_uuid)
        elif task.status is TaskStatus.NEW and task.waiting_since is not None:
            messages.enqueue_export(task_uuid, queue_url=self._settings.export_queue_url)

    def admit(self, task: ExportTask) -> bool:
        """May this `new` task start now? It may if it holds a slot, or a free slot is left
        once every task queued before it has had one."""
        holders = self.holders(task.tenant_id)
        if task.task_uuid in holders:
            return True
        free = self.limit - len(holders)
        if free <= 0:
            return False
        granted = self.dispatch(task.tenant_id, quiet=task.task_uuid)
        if task.task_uuid in granted:
            return True
        # Not seen in the (eventually consistent) index yet, but a slot is still free.
        return len(granted) < free and self.acquire(task.tenant_id, task.task_uuid)

    def finish(self, task: ExportTask) -> None:
        """A task ended: its slot goes to the next waiting task."""
        if self.release(task.tenant_id, task.task_uuid):
            self.dispatch(task.tenant_id)

    def repair(self, tenant_id: str) -> list[str]:
        """Take back slots whose holder has ended (or vanished) without giving them back:
        a crash between a task's end and its release."""
        leaked = []
        for task_uuid in sorted(self.holders(tenant_id)):
            task = self._store.load(task_uuid)
            if (task is None or task.finished) and self.release(tenant_id, task_uuid):
                leaked.append(task_uuid)
        if leaked:
            logger.warning("leaked slots taken back", extra={"leaked": leaked})
        return leaked
