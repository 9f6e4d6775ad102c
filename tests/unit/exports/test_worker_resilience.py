"""The worker under failure: crashes, duplicates, time-outs, cancel, poison, splitting.

A synthetic exporter yields large deterministic rows so that files span several
real multipart parts (S3 wants 5 MiB per part); the reader is tested elsewhere.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests

from mailexports.config import Settings, get_settings
from mailexports.exports import exporters
from mailexports.exports.exporters.base import Row
from mailexports.exports.file_upload import FileUpload
from mailexports.exports.requests import ExportType
from mailexports.exports.task import ExportTask, NotificationState, TaskStatus
from mailexports.exports.task_store import DynamoTaskStore
from mailexports.exports.task_view import task_view
from mailexports.exports.worker import ExportWorker, message_body

MIB = 1024 * 1024
ROWS = 8_000  # about 16 MiB of NDJSON (12 MiB gzipped): three parts of 5 MiB either way


class SyntheticExporter:
    """Deterministic rows of about 2 KiB that compress like real data; the cursor is the row's index."""

    def __init__(self, rows: int = ROWS) -> None:
        self.total = rows

    def rows(self, task: ExportTask, after: str | None) -> Iterator[Row]:
        start = int(after) + 1 if after is not None else 0
        for i in range(start, self.total):
            yield Row({"n": i, "pad": base64.b64encode(random.Random(i).randbytes(1500)).decode()}, str(i))


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def settings(aws_stack: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("EXPORT_PART_BYTES", str(5 * MIB))
    get_settings.cache_clear()
    monkeypatch.setitem(exporters.EXPORTERS, ExportType.CAMPAIGN_ACTIVITY, SyntheticExporter())
    return get_settings()


def new_task(
    *,
    fmt: str = "ndjson",
    compression: str = "none",
    uuid: str = "t-1",
    notification: NotificationState | None = None,
) -> ExportTask:
    task = ExportTask(
        task_uuid=uuid,
        tenant_id="tenant-1",
        task_type=ExportType.CAMPAIGN_ACTIVITY,
        params={"stat_id": "1"},
        format=fmt,
        compression=compression,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        notification=notification,
    )
    assert DynamoTaskStore().create(task)
    return task


def stored(task_uuid: str) -> ExportTask:
    task = DynamoTaskStore().load(task_uuid)
    assert task is not None
    return task


@contextmanager
def crash_on_second_part(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """What runs inside dies (ConnectionError) at its second part upload, after the first
    was uploaded and checkpointed; uploads work again afterwards."""
    original = FileUpload.upload_part
    calls = {"n": 0}

    def crash_on_second(self: FileUpload) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise ConnectionError("the network went away")
        original(self)

    monkeypatch.setattr(FileUpload, "upload_part", crash_on_second)
    try:
        with pytest.raises(ConnectionError):
            yield
    finally:
        monkeypatch.setattr(FileUpload, "upload_part", original)


def crash_midway(monkeypatch: pytest.MonkeyPatch, task: ExportTask, clock: Clock) -> ExportTask:
    """The first invocation dies after one part is uploaded and checkpointed; returns the
    task as it was left (the upload itself is restored for the next invocation)."""
    with crash_on_second_part(monkeypatch):
        ExportWorker(clock=clock).handle(message_body(task.task_uuid))
    midway = stored(task.task_uuid)
    assert midway.checkpoint is not None
    assert midway.checkpoint.current is not None
    assert len(midway.checkpoint.current.parts) == 1
    return midway


def file_bytes(task: ExportTask, index: int = 0) -> bytes:
    """The file as stored: the presigned URL, without HTTP's transparent gzip decoding."""
    url = task_view(task)["files"][index]["url"]
    answer = requests.get(url, timeout=10, stream=True)
    assert answer.status_code == 200
    return bytes(answer.raw.read(decode_content=False))


def exported_numbers(raw: bytes) -> list[int]:
    return [json.loads(line)["n"] for line in raw.splitlines()]


def objects(settings: Settings) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=settings.exports_bucket)
    return [o["Key"] for o in listing.get("Contents", [])]


def open_uploads(settings: Settings) -> list[Any]:
    return boto3.client("s3").list_multipart_uploads(Bucket=settings.exports_bucket).get("Uploads", [])


def test_a_big_export_goes_up_in_parts_and_reads_back_whole(settings: Settings) -> None:
    task = new_task()
    ExportWorker().handle(message_body(task.task_uuid))
    done = stored(task.task_uuid)
    assert done.status is TaskStatus.COMPLETED
    assert done.checkpoint is None
    assert done.lease is None
    raw = file_bytes(done)
    assert exported_numbers(raw) == list(range(ROWS))
    assert done.files[0].bytes == len(raw)
    import hashlib

    assert done.files[0].sha256 == hashlib.sha256(raw).hexdigest()


@pytest.mark.parametrize(("fmt", "compression"), [("ndjson", "gzip"), ("json", "none"), ("json", "gzip")])
def test_resume_after_a_crash_between_parts_is_byte_identical(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, fmt: str, compression: str
) -> None:
    reference = new_task(fmt=fmt, compression=compression, uuid="reference")
    ExportWorker().handle(message_body(reference.task_uuid))

    crashed = new_task(fmt=fmt, compression=compression, uuid="crashed")
    clock = Clock()
    midway = crash_midway(monkeypatch, crashed, clock)
    assert midway.status is TaskStatus.PROCESSING

    # SQS redelivers once the visibility timeout is over; by then the heartbeat is stale.
    clock.now += timedelta(seconds=settings.heartbeat_stale_seconds + 1)
    ExportWorker(clock=clock).handle(message_body(crashed.task_uuid), receive_count=2)

    resumed, uninterrupted = stored(crashed.task_uuid), stored(reference.task_uuid)
    assert resumed.status is TaskStatus.COMPLETED
    got, want = file_bytes(resumed), file_bytes(uninterrupted)
    if compression == "gzip":
        got, want = gzip.decompress(got), gzip.decompress(want)
        assert got.count(b'"n":') == ROWS
    if fmt == "json":  # the header names its own task and start time; everything after it must match
        head = b'"records":['
        assert got.split(head, 1)[1] == want.split(head, 1)[1]
    else:
        assert got == want
    if compression == "gzip" and fmt == "ndjson":  # the stored gzip stream itself, byte for byte
        assert file_bytes(resumed) == file_bytes(uninterrupted)
    assert resumed.files[0].sha256 != ""
    assert not open_uploads(settings)


def test_running_out_of_time_continues_in_a_new_invocation(settings: Settings) -> None:
    task = new_task(compression="gzip")
    budget = iter([900_000] * 40 + [1_000] + [900_000] * 10_000)  # low after 41 checks of 64 records
    ExportWorker().handle(message_body(task.task_uuid), remaining_ms=lambda: next(budget))
    paused = stored(task.task_uuid)
    assert paused.status is TaskStatus.PROCESSING
    assert paused.checkpoint is not None
    assert paused.checkpoint.current is not None
    assert paused.checkpoint.current.pending_key  # the unsent bytes were parked in S3

    sqs = boto3.client("sqs")
    message = sqs.receive_message(QueueUrl=settings.export_queue_url)["Messages"][0]
    assert json.loads(message["Body"]) == {"task_uuid": task.task_uuid, "lease": paused.lease}
    ExportWorker().handle(message["Body"])

    done = stored(task.task_uuid)
    assert done.status is TaskStatus.COMPLETED
    assert exported_numbers(gzip.decompress(file_bytes(done))) == list(range(ROWS))
    assert [k for k in objects(settings) if k.endswith(".pending")] == []

    reference = new_task(compression="gzip", uuid="reference")
    ExportWorker().handle(message_body(reference.task_uuid))
    assert file_bytes(done) == file_bytes(stored(reference.task_uuid))


def test_a_duplicate_message_makes_no_second_file(settings: Settings) -> None:
    task = new_task()
    worker = ExportWorker()
    worker.handle(message_body(task.task_uuid))
    first = stored(task.task_uuid)
    worker.handle(message_body(task.task_uuid))  # SQS delivered it twice
    assert stored(task.task_uuid).files == first.files
    assert objects(settings) == [first.files[0].key]


def test_a_concurrent_duplicate_leaves_the_task_to_its_live_worker(settings: Settings) -> None:
    task = new_task()
    clock = Clock()
    claimed = DynamoTaskStore().transition(
        task, {TaskStatus.NEW}, status=TaskStatus.PROCESSING, lease="live-worker", heartbeat_at=clock.now
    )
    ExportWorker(clock=clock).handle(message_body(task.task_uuid))
    after = stored(task.task_uuid)
    assert after.lease == claimed.lease
    assert objects(settings) == []


def test_cancel_mid_export_aborts_the_upload_and_leaves_no_file(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = new_task()
    original = FileUpload.upload_part

    def cancel_after_first_part(self: FileUpload) -> None:
        original(self)
        current = stored(task.task_uuid)
        DynamoTaskStore().transition(current, {TaskStatus.PROCESSING}, status=TaskStatus.CANCELLED)

    monkeypatch.setattr(FileUpload, "upload_part", cancel_after_first_part)
    ExportWorker().handle(message_body(task.task_uuid))
    assert stored(task.task_uuid).status is TaskStatus.CANCELLED
    assert objects(settings) == []
    assert not open_uploads(settings)


def test_a_poison_message_fails_the_task_on_its_last_delivery(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken:
        def rows(self, task: ExportTask, after: str | None) -> Iterator[Row]:
            raise RuntimeError("corrupt data")
            yield  # pragma: no cover

    monkeypatch.setitem(exporters.EXPORTERS, ExportType.CAMPAIGN_ACTIVITY, Broken())
    task = new_task()
    clock = Clock()
    with pytest.raises(RuntimeError):
        ExportWorker(clock=clock).handle(message_body(task.task_uuid), receive_count=1)
    assert stored(task.task_uuid).status is TaskStatus.PROCESSING  # retried later

    clock.now += timedelta(seconds=settings.heartbeat_stale_seconds + 1)
    with pytest.raises(RuntimeError):  # re-raised so SQS moves the message to the DLQ
        ExportWorker(clock=clock).handle(
            message_body(task.task_uuid), receive_count=settings.export_max_receives
        )
    failed = stored(task.task_uuid)
    assert failed.status is TaskStatus.FAILED
    assert failed.error is not None
    assert failed.error.code == "export_failed"


def test_large_exports_split_into_several_whole_files(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPORT_MAX_FILE_BYTES", str(5 * MIB))
    get_settings.cache_clear()
    task = new_task(fmt="json")
    ExportWorker().handle(message_body(task.task_uuid))
    done = stored(task.task_uuid)
    assert len(done.files) >= 3
    assert all(f.bytes < 6 * MIB for f in done.files)
    numbers: list[int] = []
    for index, file in enumerate(done.files):
        document = json.loads(file_bytes(done, index))
        assert document["count"] == file.records == len(document["records"])
        numbers += [r["n"] for r in document["records"]]
    assert numbers == list(range(ROWS))
    names = [f.key.rsplit("/", 1)[1] for f in done.files]
    assert names == [f"export-{i:04d}.json" for i in range(1, len(done.files) + 1)]


def test_an_export_with_no_rows_is_one_valid_empty_document(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(exporters.EXPORTERS, ExportType.CAMPAIGN_ACTIVITY, SyntheticExporter(rows=0))
    task = new_task(fmt="json", compression="gzip")
    ExportWorker().handle(message_body(task.task_uuid))
    done = stored(task.task_uuid)
    document = json.loads(gzip.decompress(file_bytes(done)))
    assert document["records"] == []
    assert document["count"] == 0
