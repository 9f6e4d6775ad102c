"""A sliced export holds exactly a one-worker export's records, on generated data through
the real API, worker, row sources and store: each slice's file is the one-worker order
restricted to its shards, every file a whole document, the files in slice order."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
import requests
from tests.unit.exports.test_exporters import Dataset, dataset, run_to_the_end  # noqa: F401 (a fixture)

from mailexports.config import Settings, get_settings
from mailexports.marketing.keys import shard_of

SLICES = 4


def export(
    handlers: dict[str, ModuleType], settings: Settings, key: str, payload: dict[str, Any]
) -> tuple[dict[str, Any], list[bytes]]:
    """The completed task's view and every file of it (the slices' messages worked too)."""
    task = run_to_the_end(handlers, settings, key, payload)
    return task, [requests.get(f["url"], timeout=10).content for f in task["files"]]  # HTTP decodes gzip


def parsed(content: bytes, fmt: str) -> list[Any]:
    """A file's records: JSON's `records` (checking `count`), NDJSON's lines, CSV's rows after its header."""
    if fmt == "json":
        document = json.loads(content)
        assert document["count"] == len(document["records"])
        return list(document["records"])
    if fmt == "ndjson":
        return [json.loads(line) for line in content.splitlines()]
    rows = list(csv.reader(io.StringIO(content.decode(), newline="")))
    assert rows, "every CSV file starts with its header"
    return rows  # the header first: it is compared too


def workers(monkeypatch: pytest.MonkeyPatch, slices: int) -> None:
    monkeypatch.setenv("EXPORT_FANOUT_MAX_SLICES", str(slices))
    monkeypatch.setenv("EXPORT_FANOUT_ITEMS_PER_SLICE", "1")  # one item in shard 0 makes SHARDS slices' worth
    get_settings.cache_clear()


def activity(data: Dataset) -> dict[str, Any]:
    """A send with activity in shard 0, which the size probe counts (80 contacts over 32 shards
    leave some shards without an open)."""
    probed = sorted(
        e["stat_id"]
        for e in data.of("event")
        if e["type"] in ("open", "click") and shard_of(e["contact_id"]) == 0
    )
    assert probed, "the generated data should have activity in shard 0"
    return {"type": "campaign_activity", "params": {"stat_id": probed[0]}}


def segments(data: Dataset) -> dict[str, Any]:
    params = {"segment_ids": ["seg-1", "seg-2"], "custom_fields": "all", "include_membership": True}
    return {"type": "segment_contacts", "params": params}


def delivery(data: Dataset) -> dict[str, Any]:
    field_ids = [f["field_id"] for f in data.of("field")][:2]
    return {
        "type": "campaign_delivery",
        "params": {"campaign_id": data.of("send")[0]["campaign_id"], "field_ids": field_ids},
    }


CONTACT_COLUMN = {"campaign_activity": 0, "segment_contacts": 0, "campaign_delivery": 1}


@pytest.mark.parametrize(
    ("request_of", "fmt", "compression"),
    [
        (activity, "json", "none"),
        (activity, "csv", "none"),
        (activity, "ndjson", "gzip"),
        (segments, "csv", "gzip"),
        (delivery, "json", "none"),
    ],
)
def test_a_sliced_export_holds_a_one_worker_exports_records(
    handlers: dict[str, ModuleType],
    aws_stack: Settings,
    dataset: Dataset,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    request_of: Callable[[Dataset], dict[str, Any]],
    fmt: str,
    compression: str,
) -> None:
    payload = {**request_of(dataset), "format": fmt, "compression": compression}
    key = dataset.tenant.api_key
    workers(monkeypatch, 1)
    whole_view, whole = export(handlers, aws_stack, key, payload)
    workers(monkeypatch, SLICES)
    sliced_view, sliced = export(handlers, aws_stack, key, payload)

    assert len(whole) == 1
    assert len(sliced) == SLICES  # one file per slice here: each well under EXPORT_MAX_FILE_BYTES
    one_worker = parsed(whole[0], fmt)
    if fmt == "csv":
        header, one_worker = one_worker[0], one_worker[1:]
        files = [parsed(content, fmt) for content in sliced]
        assert all(rows[0] == header for rows in files)
        slices = [rows[1:] for rows in files]
        contact_of: Callable[[Any], str] = lambda row: row[CONTACT_COLUMN[payload["type"]]]  # noqa: E731
    else:
        slices = [parsed(content, fmt) for content in sliced]
        contact_of = lambda record: record["contact_id"]  # noqa: E731
    assert one_worker, "the generated data should have records to export"
    for number, records in enumerate(slices):
        # Slice k holds shards s with s % 4 == k, in the one-worker order restricted to them.
        assert records == [r for r in one_worker if shard_of(contact_of(r)) % SLICES == number]
    assert sorted(json.dumps(r) for records in slices for r in records) == sorted(map(json.dumps, one_worker))

    names = [f["url"].split("?")[0].rsplit("/", 1)[1] for f in sliced_view["files"]]
    extension = {"json": "json", "ndjson": "ndjson", "csv": "csv"}[fmt] + (
        ".gz" if compression == "gzip" else ""
    )
    assert names == [f"export-s{k:02d}-0001.{extension}" for k in range(1, SLICES + 1)]
    assert sliced_view["progress"]["records"] == whole_view["progress"]["records"]
    assert sum(f["records"] for f in sliced_view["files"]) == whole_view["files"][0]["records"]
