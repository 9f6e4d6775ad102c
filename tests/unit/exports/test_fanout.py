"""Fan-out under the worker's failure modes: crashes, duplicates, cancel, failure, a stall.

A synthetic sharded exporter yields rows of about 2 KiB, row i in shard i % SHARDS, so a
slice's file spans several real 5 MiB multipart parts. The real row sources' slicing is
tested on generated data in test_fanout_records.py.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator, Sequence
from datetime import timedelta

import boto3
import pytest
from tests.export_queues import drain_export_queues
from tests.unit.exports import test_worker_resilience as resilience
from tests.unit.exports.test_worker_resilience import (
    Clock,
    crash_on_second_part,
    file_bytes,
    objects,
    open_uploads,
    stored,
)

from mailexports.config import Settings, get_settings
from mailexports.errors import ValidationFailed
from mailexports.exports import exporters
from mailexports.exports.exporters.base import Row
from mailexports.exports.file_upload import FileUpload
from mailexports.exports.lifecycle import TaskLifecycle
from mailexports.exports.requests import ExportType
from mailexports.exports.slices import DynamoSliceStore, SliceStatus
from mailexports.exports.task import ExportTask, NotificationAttempt, NotificationState, TaskStatus
from mailexports.exports.task_store import DynamoTaskStore
from mailexports.exports.watchdog import Watchdog
from mailexports.exports.worker import ExportWorker, message_body
from mailexports.marketing.keys import SHARDS

MIB = 1024 * 1024
ROWS = 16_000  # about 32 MiB of NDJSON (24 MiB gzipped): each of 2 slices spans 3 parts of 5 MiB


class ShardedRows:
    """Row i lives in shard i % SHARDS; a slice reads the rows of its shards, in the same order."""

    def __init__(self, rows: int = ROWS) -> None:
        self.total = rows
        self.fail_in: int | None = None  # a shard whose read fails (a validation error)

    def rows(self, task: ExportTask, after: str | None) -> Iterator[Row]:
        return self.slice_rows(task, after, range(SHARDS))

    def slice_rows(self, task: ExportTask, after: str | None, shards: Sequence[int]) -> Iterator[Row]:
        if self.fail_in in shards:
            raise ValidationFailed("the send vanished", [{"field": "stat_id", "issue": "gone"}])
        wanted, start = set(shards), int(after) + 1 if after is not None else 0
        for i in range(start, self.total):
            if i % SHARDS in wanted:
                yield Row(
                    {"n": i, "pad": base64.b64encode(random.Random(i).randbytes(1500)).decode()}, str(i)
                )

    def estimated_items(self, task: ExportTask, up_to: int) -> int:
        return min(self.total, up_to)


@pytest.fixture
def source(aws_stack: Settings, monkeypatch: pytest.MonkeyPatch) -> ShardedRows:
    monkeypatch.setenv("EXPORT_PART_BYTES", str(5 * MIB))
    monkeypatch.setenv("EXPORT_FANOUT_MAX_SLICES", "2")
    monkeypatch.setenv("EXPORT_FANOUT_ITEMS_PER_SLICE", "500")  # 1,000 items make two slices
    get_settings.cache_clear()
    rows = ShardedRows()
    monkeypatch.setitem(exporters.EXPORTERS, ExportType.CAMPAIGN_ACTIVITY, rows)
    return rows


def new_task(uuid: str, *, fmt: str = "ndjson", compression: str = "none") -> ExportTask:
    """A task whose client asked to be told (so the notifications can be counted)."""
    notification = NotificationState(type="email", target="ops@example.com")
    return resilience.new_task(uuid=uuid, fmt=fmt, compression=compression, notification=notification)


def drain(settings: Settings, clock: Clock | None = None) -> list[str]:
    """Work every message on the worker's queues, as SQS would deliver them; returns the bodies."""
    return drain_export_queues(settings, lambda body: ExportWorker(clock=clock or Clock()).handle(body))


def notifications(settings: Settings) -> list[dict[str, str]]:
    sqs = boto3.client("sqs")
    found = []
    while messages := sqs.receive_message(QueueUrl=settings.notify_queue_url).get("Messages"):
        found.append(json.loads(messages[0]["Body"]))
        sqs.delete_message(QueueUrl=settings.notify_queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
    return found


def numbers(raw: bytes) -> list[int]:
    return [json.loads(line)["n"] for line in raw.splitlines()]


def run(uuid: str, settings: Settings, **kwargs: str) -> ExportTask:
    new_task(uuid, **kwargs)
    ExportWorker().handle(message_body(uuid))
    drain(settings)
    return stored(uuid)


def test_a_big_export_is_worked_in_slices_whose_files_hold_every_record(
    source: ShardedRows, aws_stack: Settings
) -> None:
    task = new_task("t-1")
    ExportWorker().handle(message_body(task.task_uuid))
    planned = stored(task.task_uuid)
    assert planned.slices == [list(range(0, SHARDS, 2)), list(range(1, SHARDS, 2))]
    assert planned.status is TaskStatus.PROCESSING
    bodies = drain(aws_stack)
    assert [json.loads(b) for b in bodies] == [
        {"task_uuid": "t-1", "slice": 1},
        {"task_uuid": "t-1", "slice": 2},
    ]

    done = stored(task.task_uuid)
    assert done.status is TaskStatus.COMPLETED
    assert [f.key.rsplit("/", 1)[1] for f in done.files] == [
        "export-s01-0001.ndjson",
        "export-s02-0001.ndjson",
    ]
    # Each slice's file is its shards' rows in order; together, every row once.
    slice_1, slice_2 = numbers(file_bytes(done, 0)), numbers(file_bytes(done, 1))
    assert slice_1 == [i for i in range(ROWS) if i % 2 == 0]
    assert slice_2 == [i for i in range(ROWS) if i % 2 == 1]
    assert done.progress.records == ROWS == sum(f.records for f in done.files)
    assert done.progress.bytes == sum(f.bytes for f in done.files)
    assert done.checkpoint is None
    assert len(notifications(aws_stack)) == 1
    assert sorted(objects(aws_stack)) == sorted(f.key for f in done.files)
    # The slices' items are no tasks: not found by id, not listed.
    assert DynamoTaskStore().load("t-1#s01") is None
    listed, _ = DynamoTaskStore().list("tenant-1", status=None, limit=10, cursor=None)
    assert [t.task_uuid for t in listed] == ["t-1"]


def test_a_slice_short_of_time_continues_in_a_new_invocation(
    source: ShardedRows, aws_stack: Settings
) -> None:
    source.total = 3_000
    new_task("late")
    ExportWorker().handle(message_body("late"))  # the plan: both slices' messages are queued
    budget = iter([900_000] * 5 + [1_000] + [900_000] * 10_000)  # low after 6 checks of 64 records
    ExportWorker().handle(message_body("late", slice=1), remaining_ms=lambda: next(budget))
    paused = DynamoSliceStore().load("late", 1)
    assert paused is not None
    assert paused.checkpoint is not None
    assert paused.checkpoint.records == 6 * 64

    bodies = [json.loads(b) for b in drain(aws_stack)]  # slice 1's first message finds it live
    assert bodies == [
        {"task_uuid": "late", "slice": 1},
        {"task_uuid": "late", "slice": 2},
        {"task_uuid": "late", "lease": paused.lease, "slice": 1},  # the continuation
    ]
    done = stored("late")
    assert done.status is TaskStatus.COMPLETED
    assert numbers(file_bytes(done, 0)) == [i for i in range(3_000) if i % 2 == 0]


def test_a_small_export_is_not_sliced(source: ShardedRows, aws_stack: Settings) -> None:
    source.total = 999  # under two slices' worth
    done = run("small", aws_stack)
    assert done.slices is None
    assert [f.key.rsplit("/", 1)[1] for f in done.files] == ["export-0001.ndjson"]
    assert numbers(file_bytes(done)) == list(range(999))


def test_the_slices_wait_in_their_own_queue_not_in_the_one_exports_start_from(
    source: ShardedRows, aws_stack: Settings
) -> None:
    new_task("pooled")
    ExportWorker().handle(message_body("pooled"))
    sqs = boto3.client("sqs")

    def bodies(url: str) -> list[dict[str, object]]:
        return [
            json.loads(m["Body"])
            for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        ]

    assert bodies(aws_stack.export_queue_url) == []
    assert sorted(b["slice"] for b in bodies(aws_stack.slice_queue_url)) == [1, 2]  # type: ignore[type-var]


@pytest.mark.parametrize(
    ("total", "most", "slices"),
    [(1_999, 32, 3), (2_000, 32, 4), (5_000, 32, 10), (100_000, 32, 32), (100_000, 16, 16), (5_000, 4, 4)],
)
def test_a_bigger_export_gets_more_slices_up_to_the_most(
    source: ShardedRows,
    aws_stack: Settings,
    monkeypatch: pytest.MonkeyPatch,
    total: int,
    most: int,
    slices: int,
) -> None:
    monkeypatch.setenv("EXPORT_FANOUT_MAX_SLICES", str(most))
    get_settings.cache_clear()
    source.total = total  # 500 items a slice (the fixture)
    new_task("sized")
    ExportWorker().handle(message_body("sized"))
    planned = stored("sized").slices
    assert planned is not None
    assert len(planned) == slices
    assert sorted(shard for shards in planned for shard in shards) == list(range(SHARDS))


@pytest.mark.parametrize(("fmt", "compression"), [("ndjson", "none"), ("ndjson", "gzip")])
def test_a_slice_resumed_after_a_crash_writes_the_same_bytes(
    source: ShardedRows, aws_stack: Settings, monkeypatch: pytest.MonkeyPatch, fmt: str, compression: str
) -> None:
    reference = run("reference", aws_stack, fmt=fmt, compression=compression)

    crashed = new_task("crashed", fmt=fmt, compression=compression)
    clock = Clock()
    ExportWorker(clock=clock).handle(message_body(crashed.task_uuid))
    with crash_on_second_part(monkeypatch):
        ExportWorker(clock=clock).handle(message_body(crashed.task_uuid, slice=1))
    midway = DynamoSliceStore().load(crashed.task_uuid, 1)
    assert midway is not None
    assert midway.status is SliceStatus.PROCESSING
    assert midway.checkpoint is not None
    assert midway.checkpoint.current is not None
    assert len(midway.checkpoint.current.parts) == 1
    # The task's progress is what its slices reported.
    assert stored(crashed.task_uuid).progress.records == midway.checkpoint.records > 0

    # A duplicate while the slice's holder looks alive is left alone ...
    ExportWorker(clock=clock).handle(message_body(crashed.task_uuid, slice=1))
    assert DynamoSliceStore().load(crashed.task_uuid, 1) == midway
    # ... and once its heartbeat is stale (SQS redelivers after the visibility timeout) it resumes.
    clock.now += timedelta(seconds=aws_stack.heartbeat_stale_seconds + 1)
    drain(aws_stack, clock)  # slice 2's first message, slice 1's redelivery
    ExportWorker(clock=clock).handle(message_body(crashed.task_uuid, slice=1), receive_count=2)

    resumed = stored(crashed.task_uuid)
    assert resumed.status is TaskStatus.COMPLETED
    assert len(resumed.files) == len(reference.files) == 2
    for index in range(2):
        assert file_bytes(resumed, index) == file_bytes(reference, index)
    assert [f.sha256 for f in resumed.files] == [f.sha256 for f in reference.files]
    assert not open_uploads(aws_stack)


def test_duplicate_slice_messages_make_no_second_file_and_one_notification(
    source: ShardedRows, aws_stack: Settings
) -> None:
    source.total = 3_000
    done = run("dup", aws_stack)
    assert notifications(aws_stack) == [{"task_uuid": "dup", "event": "export.completed"}]
    # The notifier delivers it (a task seen again before that hands it on again: lifecycle.settle).
    assert done.notification is not None
    delivered = done.notification.model_copy(
        update={
            "status": "delivered",
            "attempts": [NotificationAttempt(at=done.created_at, outcome="delivered")],
        }
    )
    done = DynamoTaskStore().transition(done, {TaskStatus.COMPLETED}, notification=delivered)
    for body in (message_body("dup", slice=1), message_body("dup", slice=2), message_body("dup")):
        ExportWorker().handle(body)  # SQS delivered each again
    again = stored("dup")
    assert again.files == done.files
    assert again.completed_at == done.completed_at
    assert sorted(objects(aws_stack)) == sorted(f.key for f in done.files)
    assert notifications(aws_stack) == []


def test_a_slice_finished_twice_counts_once(source: ShardedRows, aws_stack: Settings) -> None:
    source.total = 3_000
    new_task("twice")
    ExportWorker().handle(message_body("twice"))
    ExportWorker().handle(message_body("twice", slice=1))
    ExportWorker().handle(message_body("twice", slice=1))
    assert stored("twice").slices_done == 1
    assert stored("twice").status is TaskStatus.PROCESSING  # slice 2 has not run
    ExportWorker().handle(message_body("twice", slice=2))
    assert stored("twice").status is TaskStatus.COMPLETED


def test_cancel_mid_run_leaves_no_file_and_no_open_upload(
    source: ShardedRows, aws_stack: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = new_task("cancelled")
    ExportWorker().handle(message_body(task.task_uuid))
    ExportWorker().handle(message_body(task.task_uuid, slice=1))  # one slice done, its file written
    original = FileUpload.upload_part

    def cancel_after_first_part(self: FileUpload) -> None:
        original(self)
        TaskLifecycle().cancel(stored(task.task_uuid))

    monkeypatch.setattr(FileUpload, "upload_part", cancel_after_first_part)
    ExportWorker().handle(message_body(task.task_uuid, slice=2))  # notices at its checkpoint
    cancelled = stored(task.task_uuid)
    assert cancelled.status is TaskStatus.CANCELLED
    assert cancelled.progress.records == ROWS // 2  # how far its slices got: slice 1, all of it
    assert objects(aws_stack) == []
    assert not open_uploads(aws_stack)
    assert notifications(aws_stack) == []  # the client asked for it


def test_a_failing_slice_fails_the_task_and_removes_every_slice_output(
    source: ShardedRows, aws_stack: Settings
) -> None:
    source.total, source.fail_in = 3_000, 1  # shard 1 is slice 2's
    done = run("failing", aws_stack)
    assert done.status is TaskStatus.FAILED
    assert done.error is not None
    assert done.error.code == "validation_error"
    assert objects(aws_stack) == []  # slice 1's finished file went too
    assert notifications(aws_stack) == [{"task_uuid": "failing", "event": "export.failed"}]


def test_the_watchdog_redrives_a_stalled_sliced_task_through_its_unfinished_slices(
    source: ShardedRows, aws_stack: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = run("reference", aws_stack)
    task = new_task("stalled")
    clock = Clock()
    ExportWorker(clock=clock).handle(message_body(task.task_uuid))
    with crash_on_second_part(monkeypatch):
        ExportWorker(clock=clock).handle(message_body(task.task_uuid, slice=1))
    ExportWorker(clock=clock).handle(message_body(task.task_uuid, slice=2))
    boto3.client("sqs").purge_queue(QueueUrl=aws_stack.slice_queue_url)  # slice 1's message is lost

    clock.now += timedelta(seconds=aws_stack.heartbeat_stale_seconds + 1)
    report = Watchdog(clock=clock).sweep()
    assert report.redriven == ["stalled"]
    bodies = drain(aws_stack, clock)
    assert [json.loads(b).get("slice") for b in bodies] == [None, 1]  # the task, then its unfinished slice

    done = stored("stalled")
    assert done.status is TaskStatus.COMPLETED
    assert [file_bytes(done, i) for i in range(2)] == [file_bytes(reference, i) for i in range(2)]
    assert not open_uploads(aws_stack)
