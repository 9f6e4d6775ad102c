"""Every way a task ends goes through the lifecycle: no open upload, no file, one notification.

Tasks are brought to a real mid-export state by the real worker (a part uploaded
to an open multipart upload, or unsent bytes parked in S3) on moto.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import ModuleType

import boto3
import pytest
from tests.builders import FakeLambdaContext, api_event
from tests.unit.exports.test_worker_resilience import (
    MIB,
    Clock,
    SyntheticExporter,
    objects,
    open_uploads,
    stored,
)

from mailexports.config import Settings, get_settings
from mailexports.errors import NotFound
from mailexports.exports import exporters
from mailexports.exports.exporters.base import Row
from mailexports.exports.file_upload import FileUpload
from mailexports.exports.lifecycle import TaskLifecycle, TransitionRefused, status_at
from mailexports.exports.requests import ExportType
from mailexports.exports.task import ExportFile, ExportTask, NotificationState, TaskStatus
from mailexports.exports.task_store import DynamoTaskStore
from mailexports.exports.watchdog import Watchdog
from mailexports.exports.worker import ExportWorker, message_body
from mailexports.observability import logger
from mailexports.tenants.models import CreatedTenant

HOOK = "https://hooks.example.com/exports"


@pytest.fixture
def stack(aws_stack: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """moto, with S3's smallest parts and big synthetic rows, so uploads really are multipart."""
    monkeypatch.setenv("EXPORT_PART_BYTES", str(5 * MIB))
    get_settings.cache_clear()
    monkeypatch.setitem(exporters.EXPORTERS, ExportType.CAMPAIGN_ACTIVITY, SyntheticExporter())
    return get_settings()


def new_task(task_uuid: str = "t-1", tenant_id: str = "tenant-1") -> ExportTask:
    task = ExportTask(
        task_uuid=task_uuid,
        tenant_id=tenant_id,
        task_type=ExportType.CAMPAIGN_ACTIVITY,
        params={"stat_id": "1"},
        format="ndjson",
        notification=NotificationState(type="webhook", target=HOOK),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert DynamoTaskStore().create(task)
    return task


def notify_queue(settings: Settings) -> list[dict[str, object]]:
    """Everything on NotifyQueue, consumed."""
    sqs = boto3.client("sqs")
    bodies = []
    while batch := sqs.receive_message(QueueUrl=settings.notify_queue_url, MaxNumberOfMessages=10).get(
        "Messages"
    ):
        for message in batch:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=settings.notify_queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def paused_midway(task: ExportTask, clock: Clock) -> ExportTask:
    """The worker uploads a part, then yields on time with bytes parked in S3, and is never resumed."""
    budget = iter([900_000] * 40 + [1_000] + [900_000] * 10_000)
    ExportWorker(clock=clock).handle(message_body(task.task_uuid), remaining_ms=lambda: next(budget))
    paused = stored(task.task_uuid)
    assert paused.checkpoint is not None
    assert paused.checkpoint.current is not None
    assert paused.checkpoint.current.pending_key
    return paused


def crashed_midway(task: ExportTask, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> ExportTask:
    """The worker uploads one part and dies on the second (its message is then lost)."""
    original = FileUpload.upload_part
    calls = {"n": 0}

    def die_on_second_part(self: FileUpload) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise ConnectionError("the worker's sandbox went away")
        original(self)

    monkeypatch.setattr(FileUpload, "upload_part", die_on_second_part)
    with pytest.raises(ConnectionError):
        ExportWorker(clock=clock).handle(message_body(task.task_uuid))
    monkeypatch.setattr(FileUpload, "upload_part", original)
    return stored(task.task_uuid)


def assert_left_nothing(settings: Settings) -> None:
    assert open_uploads(settings) == []
    assert objects(settings) == []


def test_a_task_the_watchdog_fails_is_notified_once_and_leaves_no_upload(
    stack: Settings,
) -> None:
    clock = Clock()
    task = paused_midway(new_task(), clock)
    assert open_uploads(stack)  # the state the watchdog used to leave behind
    DynamoTaskStore().transition(task, {TaskStatus.PROCESSING}, redrives=stack.watchdog_max_redrives)

    clock.now += timedelta(seconds=stack.heartbeat_stale_seconds + 5)
    assert Watchdog(clock=clock).sweep().failed == [task.task_uuid]
    assert Watchdog(clock=clock).sweep().failed == []  # the next run finds nothing to do
    # A second watchdog that read the task before the first one failed it loses the race.
    with pytest.raises(TransitionRefused):
        TaskLifecycle(clock=clock).fail(task, "stalled", "late")

    failed = stored(task.task_uuid)
    assert failed.status is TaskStatus.FAILED
    assert failed.error is not None
    assert failed.error.code == "stalled"
    assert failed.checkpoint is None
    assert notify_queue(stack) == [{"task_uuid": task.task_uuid, "event": "export.failed"}]
    assert_left_nothing(stack)


def test_a_worker_failure_is_notified_once_and_leaves_no_upload(
    stack: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class VanishingSegment(SyntheticExporter):
        """Rows enough for a part, then the data turns out to be gone: a domain error."""

        def rows(self, task: ExportTask, after: str | None) -> Iterator[Row]:
            yield from super().rows(task, after)
            raise NotFound("the segment was deleted")

    monkeypatch.setitem(exporters.EXPORTERS, ExportType.CAMPAIGN_ACTIVITY, VanishingSegment(rows=4_000))
    task = new_task()
    ExportWorker().handle(message_body(task.task_uuid))

    failed = stored(task.task_uuid)
    assert failed.status is TaskStatus.FAILED
    assert failed.error is not None
    assert failed.error.code == "not_found"
    assert notify_queue(stack) == [{"task_uuid": task.task_uuid, "event": "export.failed"}]
    assert_left_nothing(stack)


def test_cancel_through_the_route_cleans_up_after_a_dead_worker(
    stack: Settings,
    monkeypatch: pytest.MonkeyPatch,
    handlers: dict[str, ModuleType],
    tenant: CreatedTenant,
) -> None:
    clock = Clock()
    task = crashed_midway(new_task(tenant_id=tenant.tenant_id), clock, monkeypatch)
    assert open_uploads(stack)

    event = api_event(
        "DELETE",
        f"/v1/exports/{task.task_uuid}",
        resource="/v1/exports/{task_uuid}",
        api_key=tenant.api_key,
    )
    answer = handlers["submit"].lambda_handler(event, FakeLambdaContext())
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["status"] == "cancelled"
    assert_left_nothing(stack)
    assert notify_queue(stack) == []  # the client asked for it: nothing to tell

    # The worker's redelivered message finds the task finished and does nothing more.
    clock.now += timedelta(seconds=stack.heartbeat_stale_seconds + 1)
    ExportWorker(clock=clock).handle(message_body(task.task_uuid), receive_count=2)
    assert stored(task.task_uuid).status is TaskStatus.CANCELLED
    assert_left_nothing(stack)


def test_cancel_under_a_live_worker_stops_it_and_leaves_nothing(
    stack: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    task = new_task()
    original = FileUpload.upload_part
    calls = {"n": 0}

    def cancel_after_second_part(self: FileUpload) -> None:
        original(self)
        calls["n"] += 1
        if calls["n"] == 2:  # the client cancels while the worker is between two parts
            TaskLifecycle().cancel(stored(task.task_uuid))

    monkeypatch.setattr(FileUpload, "upload_part", cancel_after_second_part)
    ExportWorker().handle(message_body(task.task_uuid))
    assert stored(task.task_uuid).status is TaskStatus.CANCELLED
    assert_left_nothing(stack)
    assert notify_queue(stack) == []


def test_an_end_interrupted_before_its_cleanup_is_finished_by_the_next_delivery(
    stack: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    task = crashed_midway(new_task(), clock, monkeypatch)
    lifecycle = TaskLifecycle(clock=clock)
    monkeypatch.setattr(lifecycle, "_clean_up", lambda task: None)  # crashed right after the transition
    monkeypatch.setattr(lifecycle, "_notify", lambda task: None)
    lifecycle.fail(task, "export_failed", "gave up")
    assert open_uploads(stack)

    clock.now += timedelta(seconds=stack.heartbeat_stale_seconds + 1)
    ExportWorker(clock=clock).handle(message_body(task.task_uuid), receive_count=2)
    assert stored(task.task_uuid).checkpoint is None
    assert_left_nothing(stack)
    assert notify_queue(stack) == [{"task_uuid": task.task_uuid, "event": "export.failed"}]


def test_expiry_is_the_lifecycle_rule_and_an_expired_task_cannot_be_ended_again(aws_stack: Settings) -> None:
    task = new_task()
    done = DynamoTaskStore().transition(
        task,
        {TaskStatus.NEW},
        status=TaskStatus.COMPLETED,
        expires_at=datetime(2026, 2, 1, tzinfo=UTC),
        files=[ExportFile(key="tenant-1/t-1/export-0001.ndjson", bytes=1, records=1, sha256="x")],
    )
    assert status_at(done, datetime(2026, 1, 31, tzinfo=UTC)) is TaskStatus.COMPLETED
    assert status_at(done, datetime(2026, 2, 1, tzinfo=UTC)) is TaskStatus.EXPIRED
    with pytest.raises(TransitionRefused):
        TaskLifecycle().cancel(done)
    with pytest.raises(TransitionRefused):
        TaskLifecycle().fail(done, "export_failed", "too late")
    assert stored(task.task_uuid).status is TaskStatus.COMPLETED


def test_log_lines_name_the_task_and_the_key_does_not_outlive_its_record(aws_stack: Settings) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    try:
        ExportWorker().handle(message_body("no-such-task"))
        assert "task_uuid" not in logger.get_current_keys()
        logger.info("the next record of the batch")
    finally:
        logger.removeHandler(handler)
    first, following = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "message for an unknown task, dropped"
    assert first["task_uuid"] == "no-such-task"
    assert "task_uuid" not in following
