"""Fair under load: a tenant runs at most MAX_RUNNING_PER_TENANT exports at once, the rest
wait in `new` in submission order, another tenant is never held up, and no slot or
wake-up is lost to a crash.

`Workers` plays the SQS event source against in-process moto: it takes messages off
ExportQueue in order and runs the real claim (what ExportWorker.handle does first).
An export that got its slot stays running until the test ends it through the real
lifecycle, so slots fill and free exactly when a test says.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import ModuleType

import boto3
import pytest
from tests.builders import FakeLambdaContext, api_event
from tests.unit.exports.test_worker_resilience import SyntheticExporter

from mailexports.config import Settings, get_settings
from mailexports.exports import exporters
from mailexports.exports.lifecycle import TaskLifecycle
from mailexports.exports.requests import CampaignActivityParams, ExportRequest, ExportType
from mailexports.exports.submit import ExportSubmitter
from mailexports.exports.task import ExportTask, TaskStatus
from mailexports.exports.task_store import DynamoTaskStore
from mailexports.exports.watchdog import Watchdog
from mailexports.exports.worker import ExportWorker
from mailexports.marketing.records import parse_line
from mailexports.marketing.writer import MarketingWriter
from mailexports.tenants.service import create_tenant

LIMIT = 5
SEND = '{"kind":"send","stat_id":"981","campaign_id":"c-1","sent_at":"2025-01-01T09:00:00Z"}'


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


class Workers:
    """The SQS event source and the worker's claim, one message at a time, in queue order."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.lifecycle = TaskLifecycle(settings=settings, clock=clock)
        self.sqs = boto3.client("sqs")
        self.started: list[str] = []  # task ids in the order they started
        self.running: dict[str, ExportTask] = {}
        self.deliveries = 0

    def deliver(self) -> str | None:
        """Deliver the next message; the task id when its export started."""
        messages = self.sqs.receive_message(QueueUrl=self.settings.export_queue_url).get("Messages")
        if not messages:
            return None
        self.sqs.delete_message(
            QueueUrl=self.settings.export_queue_url, ReceiptHandle=messages[0]["ReceiptHandle"]
        )
        self.deliveries += 1
        body = json.loads(messages[0]["Body"])
        task = self.lifecycle.claim(body["task_uuid"], body.get("lease"))
        if task is None:
            return None
        self.started.append(task.task_uuid)
        self.running[task.task_uuid] = task
        return task.task_uuid

    def drain(self) -> list[str]:
        started = []
        while self.queued():
            if (task_uuid := self.deliver()) is not None:
                started.append(task_uuid)
        return started

    def complete(self, task_uuid: str) -> None:
        self.lifecycle.complete(self.running.pop(task_uuid), [], 0)

    def queued(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.settings.export_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    def running_of(self, tenant_id: str) -> int:
        return sum(1 for t in self.running.values() if t.tenant_id == tenant_id)


@pytest.fixture
def settings(aws_stack: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("MAX_RUNNING_PER_TENANT", str(LIMIT))
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def workers(settings: Settings, clock: Clock) -> Workers:
    return Workers(settings, clock)


def tenant_with_data(name: str) -> str:
    tenant = create_tenant(name, f"ops@{name}.example")
    MarketingWriter(tenant.tenant_id).write([parse_line(SEND)])
    return tenant.tenant_id


def submit(tenant_id: str, count: int) -> list[str]:
    request = ExportRequest(type=ExportType.CAMPAIGN_ACTIVITY, params=CampaignActivityParams(stat_id="981"))
    return [ExportSubmitter().submit(tenant_id, request)[0].task_uuid for _ in range(count)]


def stored(task_uuid: str) -> ExportTask:
    task = DynamoTaskStore().load(task_uuid)
    assert task is not None
    return task


def test_a_flood_of_one_tenant_does_not_hold_up_another(workers: Workers) -> None:
    flood, other = tenant_with_data("flood"), tenant_with_data("other")
    flooded = submit(flood, 50)
    [mine] = submit(other, 1)

    started = workers.drain()
    # The flood got its five slots; the other tenant's export started on its first delivery,
    # behind only the 50 messages ahead of it, each of which ended at once.
    assert started == [*flooded[:LIMIT], mine]
    assert workers.deliveries == 51
    assert workers.running_of(flood) == LIMIT
    assert stored(mine).status is TaskStatus.PROCESSING
    # The 45 that wait hold no worker and send no message: nothing polls.
    assert workers.queued() == 0
    assert all(stored(t).status is TaskStatus.NEW and stored(t).waiting_since for t in flooded[LIMIT:])
    # A worker pool one slot bigger than the per-tenant limit is never full of one tenant.
    assert max(workers.running_of(flood), workers.running_of(other)) <= LIMIT


def test_waiting_exports_start_in_submission_order_as_others_finish(workers: Workers) -> None:
    tenant = tenant_with_data("acme")
    submitted = submit(tenant, 12)
    workers.drain()
    assert workers.started == submitted[:LIMIT]
    while workers.running:
        # Ends in another order than starts: the freed slot still goes to the oldest waiting.
        workers.complete(sorted(workers.running)[0])  # the end sends the next one its message
        workers.drain()
        assert workers.running_of(tenant) == min(
            LIMIT, len(submitted) - len(workers.started) + len(workers.running)
        )
    assert workers.started == submitted
    assert all(stored(t).status is TaskStatus.COMPLETED for t in submitted)


def test_queue_position_counts_down_and_shows_in_the_api(
    workers: Workers, handlers: dict[str, ModuleType]
) -> None:
    tenant = create_tenant("acme", "ops@acme.example")
    MarketingWriter(tenant.tenant_id).write([parse_line(SEND)])
    submitted = submit(tenant.tenant_id, LIMIT + 3)
    workers.drain()
    waiting = submitted[LIMIT:]
    queue = workers.lifecycle.queue
    assert [queue.position(stored(t)) for t in waiting] == [1, 2, 3]
    assert queue.position(stored(submitted[0])) is None  # running: no place in the queue

    def shown(task_uuid: str) -> dict[str, object]:
        event = api_event(
            "GET", f"/v1/exports/{task_uuid}", resource="/v1/exports/{task_uuid}", api_key=tenant.api_key
        )
        answer = handlers["status"].lambda_handler(event, FakeLambdaContext())
        assert answer["statusCode"] == 200
        view: dict[str, object] = json.loads(answer["body"])
        return view

    assert shown(waiting[2])["queue_position"] == 3
    assert "queue_position" not in shown(submitted[0])
    listing = handlers["status"].lambda_handler(
        api_event("GET", "/v1/exports", query={"status": "new"}, api_key=tenant.api_key), FakeLambdaContext()
    )
    places = {t["task_uuid"]: t["queue_position"] for t in json.loads(listing["body"])["exports"]}
    assert places == {waiting[0]: 1, waiting[1]: 2, waiting[2]: 3}

    workers.complete(submitted[0])
    workers.drain()
    assert stored(waiting[0]).status is TaskStatus.PROCESSING
    assert [shown(t).get("queue_position") for t in waiting] == [None, 1, 2]


def test_a_worker_that_dies_mid_export_does_not_keep_its_slot(
    workers: Workers, settings: Settings, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = tenant_with_data("acme")
    submitted = submit(tenant, LIMIT + 1)
    workers.drain()
    dead, waiting = submitted[0], submitted[LIMIT]
    assert stored(waiting).status is TaskStatus.NEW
    # Every worker but the dead one's keeps beating; the dead one never writes again.
    clock.now += timedelta(seconds=settings.heartbeat_stale_seconds + 5)
    for task_uuid in submitted[1:LIMIT]:
        workers.running[task_uuid] = workers.lifecycle.checkpoint(workers.running[task_uuid])
    del workers.running[dead]

    # Re-driven while restarts are left (it keeps its slot and runs again) ...
    report = Watchdog(clock=clock).sweep()
    assert report.redriven == [dead]
    assert report.waiting == [waiting]  # waiting is not stalling: not re-driven, not failed
    assert stored(waiting).redrives == 0

    # ... and once they are spent it is failed, which frees the slot for the waiting task.
    monkeypatch.setenv("WATCHDOG_MAX_REDRIVES", "1")
    get_settings.cache_clear()
    workers.sqs.purge_queue(QueueUrl=settings.export_queue_url)  # the re-drive died too
    clock.now += timedelta(seconds=settings.heartbeat_stale_seconds + 5)
    for task_uuid in submitted[1:LIMIT]:
        workers.running[task_uuid] = workers.lifecycle.checkpoint(workers.running[task_uuid])
    report = Watchdog(clock=clock).sweep()
    assert report.failed == [dead]
    assert stored(dead).error is not None
    assert workers.drain() == [waiting]
    assert workers.lifecycle.queue.holders(tenant) == set(submitted[1:])


def test_a_slot_leaked_by_a_crash_after_the_end_is_taken_back(
    workers: Workers, settings: Settings, clock: Clock
) -> None:
    tenant = tenant_with_data("acme")
    submitted = submit(tenant, LIMIT + 1)
    workers.drain()
    # The worker completed its task and died before giving the slot back (nor was its
    # message redelivered): the slot would be held by a finished task for ever.
    crashed = workers.running.pop(submitted[0])
    DynamoTaskStore().transition(crashed, {TaskStatus.PROCESSING}, status=TaskStatus.COMPLETED, lease=None)
    assert submitted[0] in workers.lifecycle.queue.holders(tenant)
    clock.now += timedelta(seconds=settings.heartbeat_stale_seconds + 5)
    for task_uuid in submitted[1:LIMIT]:
        workers.running[task_uuid] = workers.lifecycle.checkpoint(workers.running[task_uuid])

    report = Watchdog(clock=clock).sweep()
    assert report.leaked == [submitted[0]]
    assert workers.drain() == [submitted[LIMIT]]


def test_a_lost_wake_up_is_made_good_by_the_watchdog(
    workers: Workers, settings: Settings, clock: Clock
) -> None:
    tenant = tenant_with_data("acme")
    submitted = submit(tenant, LIMIT + 1)
    workers.drain()
    # A slot given back with nobody told (the message that would wake the waiting task lost).
    workers.lifecycle.store.transition(
        workers.running.pop(submitted[0]), {TaskStatus.PROCESSING}, status=TaskStatus.COMPLETED, lease=None
    )
    assert workers.lifecycle.queue.release(tenant, submitted[0])
    assert workers.drain() == []
    clock.now += timedelta(seconds=settings.heartbeat_stale_seconds + 5)
    for task_uuid in submitted[1:LIMIT]:
        workers.running[task_uuid] = workers.lifecycle.checkpoint(workers.running[task_uuid])
    Watchdog(clock=clock).sweep()
    assert workers.drain() == [submitted[LIMIT]]


def test_the_real_worker_drops_a_waiting_message_and_its_end_starts_the_next(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_RUNNING_PER_TENANT", "1")
    get_settings.cache_clear()
    monkeypatch.setitem(exporters.EXPORTERS, ExportType.CAMPAIGN_ACTIVITY, SyntheticExporter(rows=3))
    tenant = tenant_with_data("acme")
    first, second = submit(tenant, 2)
    lifecycle = TaskLifecycle()
    assert lifecycle.claim(first, None) is not None  # a worker is busy with the first
    sqs = boto3.client("sqs")
    sqs.purge_queue(QueueUrl=settings.export_queue_url)

    ExportWorker().handle(json.dumps({"task_uuid": second}))  # no slot: returns, message done
    assert stored(second).status is TaskStatus.NEW
    assert "Messages" not in sqs.receive_message(QueueUrl=settings.export_queue_url)

    lifecycle.fail(stored(first), "export_failed", "boom")  # any end gives the slot on
    [message] = sqs.receive_message(QueueUrl=settings.export_queue_url)["Messages"]
    ExportWorker().handle(message["Body"])
    assert stored(second).status is TaskStatus.COMPLETED
    assert lifecycle.queue.holders(tenant) == set()
