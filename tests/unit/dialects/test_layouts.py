"""The per-dialect file shape: Pinpointe's segment file, chosen by the task's dialect."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from mailexports.exports.exporters.base import Row
from mailexports.exports.layouts import (
    ContactDataDocument,
    JsonDocument,
    Ndjson,
    PinpointeSubscribersDocument,
    layout_for,
)
from mailexports.exports.requests import ExportType
from mailexports.exports.task import ExportTask


def task(task_type: ExportType, dialect: str | None, fmt: str = "json") -> ExportTask:
    params = {"email": "a@example.com"} if task_type is ExportType.CONTACT_DATA else {}
    return ExportTask(
        task_uuid="t",
        tenant_id="x",
        task_type=task_type,
        params=params,
        format=fmt,
        dialect=dialect,
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("task_type", "dialect", "fmt", "layout"),
    [
        (ExportType.SEGMENT_CONTACTS, "pinpointe", "json", PinpointeSubscribersDocument),
        (ExportType.SEGMENT_CONTACTS, "pinpointe", "ndjson", Ndjson),  # a format asked for wins
        (ExportType.SEGMENT_CONTACTS, None, "json", JsonDocument),
        (ExportType.CAMPAIGN_ACTIVITY, "pinpointe", "json", JsonDocument),
        (ExportType.CAMPAIGN_DELIVERY, "selzy", "json", JsonDocument),
        (ExportType.CONTACT_DATA, "copernica", "json", ContactDataDocument),
    ],
)
def test_layout_for_a_dialects_task(
    task_type: ExportType, dialect: str | None, fmt: str, layout: type
) -> None:
    assert isinstance(layout_for(task(task_type, dialect, fmt)), layout)


@pytest.mark.parametrize("count", [0, 1, 3])
def test_pinpointe_subscribers_document(count: int) -> None:
    layout = PinpointeSubscribersDocument()
    out = layout.head(task(ExportType.SEGMENT_CONTACTS, "pinpointe"))
    for index in range(count):
        out += layout.item(Row({"email": f"{index}@example.com"}, str(index)), index, 0)
    out += layout.tail(count, 0)
    records = [{"email": f"{i}@example.com"} for i in range(count)]
    assert json.loads(out) == {"status": "SUCCESS", "data": {"subscribers": records, "count": count}}
