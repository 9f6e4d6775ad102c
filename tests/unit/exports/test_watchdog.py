"""The watchdog re-drives stalled tasks, bounded, and `expired` is honest."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from tests.unit.exports.test_worker_resilience import SyntheticExporter

from mailexports.config import Settings
from mailexports.exports import exporters
from mailexports.exports.requests import ExportType
from mailexports.exports.task import ExportFile, ExportTask, TaskStatus
from mailexports.exports.task_store import DynamoTaskStore
from mailexports.exports.task_view import task_view
from mailexports.exports.watchdog import Watchdog
from mailexports.exports.worker import ExportWorker


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def make_task(task_uuid: str, created_at: datetime) -> ExportTask:
    task = ExportTask(
        task_uuid=task_uuid,
        tenant_id="tenant-1",
        task_type=ExportType.CAMPAIGN_ACTIVITY,
        params={"stat_id": "1"},
        format="ndjson",
        created_at=created_at,
    )
    assert DynamoTaskStore().create(task)
    return task


def queued(settings: Settings) -> list[dict[str, str]]:
    sqs = boto3.client("sqs")
    bodies = []
    while messages := sqs.receive_message(QueueUrl=settings.export_queue_url, MaxNumberOfMessages=10).get(
        "Messages"
    ):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=settings.export_queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def test_a_new_task_whose_message_was_lost_is_requeued(aws_stack: Settings) -> None:
    clock = Clock()
    make_task("lost", clock.now)
    make_task("fresh", clock.now + timedelta(seconds=aws_stack.heartbeat_stale_seconds))
    clock.now += timedelta(seconds=aws_stack.heartbeat_stale_seconds + 5)
    report = Watchdog(clock=clock).sweep()
    assert report.redriven == ["lost"]
    assert queued(aws_stack) == [{"task_uuid": "lost"}]
    task = DynamoTaskStore().load("lost")
    assert task is not None
    assert task.redrives == 1
    assert task.status is TaskStatus.NEW


def test_a_stalled_worker_is_replaced_and_the_export_completes(
    aws_stack: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(exporters.EXPORTERS, ExportType.CAMPAIGN_ACTIVITY, SyntheticExporter(rows=10))
    clock = Clock()
    task = make_task("stalled", clock.now)
    DynamoTaskStore().transition(
        task, {TaskStatus.NEW}, status=TaskStatus.PROCESSING, lease="dead-worker", heartbeat_at=clock.now
    )
    clock.now += timedelta(seconds=aws_stack.heartbeat_stale_seconds + 5)
    assert Watchdog(clock=clock).sweep().redriven == ["stalled"]
    [message] = queued(aws_stack)
    assert message["lease"] != "dead-worker"
    ExportWorker(clock=clock).handle(json.dumps(message))
    done = DynamoTaskStore().load("stalled")
    assert done is not None
    assert done.status is TaskStatus.COMPLETED
    assert done.files[0].records == 10


def test_after_the_allowed_redrives_the_task_fails_with_a_reason(aws_stack: Settings) -> None:
    clock = Clock()
    make_task("hopeless", clock.now)
    watchdog = Watchdog(clock=clock)
    for _ in range(aws_stack.watchdog_max_redrives):
        clock.now += timedelta(seconds=aws_stack.heartbeat_stale_seconds + 5)
        assert watchdog.sweep().redriven == ["hopeless"]
    clock.now += timedelta(seconds=aws_stack.heartbeat_stale_seconds + 5)
    assert watchdog.sweep().failed == ["hopeless"]
    task = DynamoTaskStore().load("hopeless")
    assert task is not None
    assert task.status is TaskStatus.FAILED
    assert task.error is not None
    assert task.error.code == "stalled"
    # Finished tasks leave the watchdog's index.
    clock.now += timedelta(days=1)
    assert watchdog.sweep().redriven == []


def test_a_completed_task_past_retention_reads_as_expired_without_links(aws_stack: Settings) -> None:
    past = datetime.now(UTC) - timedelta(days=aws_stack.retention_days + 1)
    task = make_task("old", past)
    DynamoTaskStore().transition(
        task,
        {TaskStatus.NEW},
        status=TaskStatus.COMPLETED,
        completed_at=past,
        expires_at=past + timedelta(days=aws_stack.retention_days),
        files=[ExportFile(key="tenant-1/old/export-0001.ndjson", bytes=1, records=1, sha256="x")],
    )
    stored_task = DynamoTaskStore().load("old")
    assert stored_task is not None
    view = task_view(stored_task)
    assert view["status"] == "expired"
    assert view["file_to_download"] is None
    assert view["files"][0]["url"] is None
