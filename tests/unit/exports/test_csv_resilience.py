"""CSV under the worker's failure modes: a crash between parts, running out of time,
splitting into several files. Each time the files must equal an uninterrupted run's,
byte for byte, gzip included, and every file must start with the header.

Synthetic campaign_activity records of about 2 KiB (several events each, some cells to
quote or defuse) make the files span several real 5 MiB multipart parts.
"""

from __future__ import annotations

import base64
import csv
import gzip
import io
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.unit.exports.test_worker_resilience import (
    Clock,
    crash_midway,
    file_bytes,
    objects,
    open_uploads,
    stored,
)

from mailexports.config import Settings, get_settings
from mailexports.exports import exporters
from mailexports.exports.exporters.base import Row
from mailexports.exports.requests import ExportType
from mailexports.exports.task import ExportTask, TaskStatus
from mailexports.exports.task_store import DynamoTaskStore
from mailexports.exports.worker import ExportWorker, message_body
from mailexports_cli.load import load_file

MIB = 1024 * 1024
ROWS = 10_000  # about 18 MiB of CSV (12 MiB gzipped): files of several 5 MiB parts
HEADER = b"contact_id,email,event,at,url,ip,user_agent\r\n"


def activity(i: int) -> dict[str, Any]:
    """One contact's opens and clicks, deterministic in `i`, with text that compresses like real data."""
    rng = random.Random(i)
    agent, other = (base64.b64encode(rng.randbytes(600)).decode() for _ in range(2))
    at = f"2025-03-01T10:{i % 60:02d}:{i % 59:02d}.{i % 1000:03d}Z"
    opens = [{"at": at, "ip": "198.51.100.7", "user_agent": f"{'=' if i % 5 == 0 else ''}{agent}"}]
    opens += [{"at": at, "ip": None, "user_agent": 'Mozilla "quoted", with comma\nand a line break'}]
    clicks = [{"at": at, "url": f"https://example.com/{agent[:40]}?a,b", "ip": "-1", "user_agent": other}]
    return {"contact_id": f"{i:06d}", "email": f"c{i}@example.com", "opens": opens, "clicks": clicks}


class SyntheticActivity:
    def __init__(self, rows: int = ROWS) -> None:
        self.total = rows

    def rows(self, task: ExportTask, after: str | None) -> Iterator[Row]:
        start = int(after) + 1 if after is not None else 0
        for i in range(start, self.total):
            yield Row(activity(i), str(i))


@pytest.fixture
def settings(aws_stack: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("EXPORT_PART_BYTES", str(5 * MIB))
    get_settings.cache_clear()
    monkeypatch.setitem(exporters.EXPORTERS, ExportType.CAMPAIGN_ACTIVITY, SyntheticActivity())
    return get_settings()


def new_task(
    uuid: str,
    *,
    compression: str = "none",
    task_type: ExportType = ExportType.CAMPAIGN_ACTIVITY,
    params: dict[str, Any] | None = None,
) -> ExportTask:
    task = ExportTask(
        task_uuid=uuid,
        tenant_id="tenant-1",
        task_type=task_type,
        params=params or {"stat_id": "1"},
        format="csv",
        compression=compression,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert DynamoTaskStore().create(task)
    return task


def finished(task_uuid: str) -> ExportTask:
    task = stored(task_uuid)
    assert task.status is TaskStatus.COMPLETED
    return task


def all_files(task: ExportTask) -> list[bytes]:
    return [file_bytes(task, index) for index in range(len(task.files))]


def csv_rows(raw: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(raw.decode(), newline="")))


def test_a_big_csv_export_reads_back_whole(settings: Settings) -> None:
    task = new_task("whole")
    ExportWorker().handle(message_body(task.task_uuid))
    raw = file_bytes(finished(task.task_uuid))
    assert raw.startswith(HEADER)
    rows = csv_rows(raw)
    assert len(rows) == 1 + 3 * ROWS
    assert rows[1][6].startswith("'=")  # record 0's agent, defused
    assert rows[2][6] == 'Mozilla "quoted", with comma\nand a line break'
    assert rows[3][5] == "'-1"
    assert stored(task.task_uuid).files[0].records == ROWS


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_resume_after_a_crash_between_parts_is_byte_identical(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, compression: str
) -> None:
    reference = new_task("reference", compression=compression)
    ExportWorker().handle(message_body(reference.task_uuid))

    crashed = new_task("crashed", compression=compression)
    clock = Clock()
    crash_midway(monkeypatch, crashed, clock)

    clock.now += timedelta(seconds=settings.heartbeat_stale_seconds + 1)
    ExportWorker(clock=clock).handle(message_body(crashed.task_uuid), receive_count=2)

    got, want = file_bytes(finished(crashed.task_uuid)), file_bytes(finished(reference.task_uuid))
    assert got == want  # the stored bytes, gzip stream included: CSV names no task or time
    text = gzip.decompress(got) if compression == "gzip" else got
    assert text.startswith(HEADER)
    assert text.count(HEADER) == 1
    assert not open_uploads(settings)


def test_running_out_of_time_continues_with_the_same_gzip_bytes(settings: Settings) -> None:
    reference = new_task("reference", compression="gzip")
    ExportWorker().handle(message_body(reference.task_uuid))

    task = new_task("paused", compression="gzip")
    budget = iter([900_000] * 40 + [1_000] + [900_000] * 10_000)  # low after 41 checks of 64 records
    ExportWorker().handle(message_body(task.task_uuid), remaining_ms=lambda: next(budget))
    paused = stored(task.task_uuid)
    assert paused.status is TaskStatus.PROCESSING
    assert paused.checkpoint is not None
    assert paused.checkpoint.current is not None
    assert paused.checkpoint.current.pending_key  # the unsent bytes, header among them, parked in S3
    ExportWorker().handle(message_body(task.task_uuid, paused.lease))

    assert file_bytes(finished(task.task_uuid)) == file_bytes(finished(reference.task_uuid))
    assert [k for k in objects(settings) if k.endswith(".pending")] == []


def test_split_files_each_start_with_the_header_and_survive_a_time_out(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPORT_MAX_FILE_BYTES", str(5 * MIB))
    get_settings.cache_clear()
    reference = new_task("reference")
    ExportWorker().handle(message_body(reference.task_uuid))
    whole = finished(reference.task_uuid)
    files = all_files(whole)
    assert len(files) >= 3
    assert all(f.startswith(HEADER) for f in files)
    body_rows = [row for f in files for row in csv_rows(f)[1:]]  # each file parses on its own
    assert len(body_rows) == 3 * ROWS
    assert sum(f.records for f in whole.files) == ROWS
    assert [f.key.rsplit("/", 1)[1] for f in whole.files][:2] == ["export-0001.csv", "export-0002.csv"]

    # Pause in the second file, well past the first split: the resumed files match.
    task = new_task("paused")
    budget = iter([900_000] * 60 + [1_000] + [900_000] * 10_000)
    ExportWorker().handle(message_body(task.task_uuid), remaining_ms=lambda: next(budget))
    paused = stored(task.task_uuid)
    assert paused.checkpoint is not None
    assert paused.checkpoint.current is not None
    assert paused.checkpoint.current.number == 2
    ExportWorker().handle(message_body(task.task_uuid, paused.lease))
    assert all_files(finished(task.task_uuid)) == files


class SyntheticContacts:
    """segment_contacts records whose custom fields include one the tenant adds mid-export."""

    def rows(self, task: ExportTask, after: str | None) -> Iterator[Row]:
        start = int(after) + 1 if after is not None else 0
        for i in range(start, 3_000):
            fields = {"City": f"City {i}", "Late": "x", "Pad": "p" * 2000}
            record = {"contact_id": f"{i:06d}", "email": f"c{i}@example.com", "status": "active"}
            yield Row({**record, "custom_fields": fields}, str(i))


def load_fields(tmp_path: Path, fields: dict[str, str]) -> None:
    path = tmp_path / "fields.ndjson"
    path.write_text(
        "".join(json.dumps({"kind": "field", "field_id": i, "name": n}) + "\n" for i, n in fields.items())
    )
    assert load_file(path, "tenant-1", progress=False).bad_count == 0


def test_all_fields_keep_their_columns_when_the_tenant_adds_one_mid_export(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(exporters.EXPORTERS, ExportType.SEGMENT_CONTACTS, SyntheticContacts())
    load_fields(tmp_path, {"2": "Pad", "10": "City"})
    params = {"segment_ids": ["s"], "custom_fields": "all"}
    reference = new_task("reference", task_type=ExportType.SEGMENT_CONTACTS, params=params)
    ExportWorker().handle(message_body(reference.task_uuid))
    want = file_bytes(finished(reference.task_uuid))
    assert want.startswith(b"contact_id,email,status,Pad,City\r\n")  # by field id: 2 before 10

    task = new_task("paused", task_type=ExportType.SEGMENT_CONTACTS, params=params)
    budget = iter([900_000] * 20 + [1_000] + [900_000] * 10_000)
    ExportWorker().handle(message_body(task.task_uuid), remaining_ms=lambda: next(budget))
    paused = stored(task.task_uuid)
    assert paused.checkpoint is not None
    assert paused.checkpoint.csv_field_names == ["Pad", "City"]
    load_fields(tmp_path, {"1": "Late"})  # the tenant adds a field while the export waits
    ExportWorker().handle(message_body(task.task_uuid, paused.lease))
    assert file_bytes(finished(task.task_uuid)) == want
