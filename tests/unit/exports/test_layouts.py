"""File framing: every layout yields valid JSON however records fall."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from mailexports.exports.exporters.base import Row
from mailexports.exports.layouts import ContactDataDocument, JsonDocument, Ndjson, dumps
from mailexports.exports.requests import ExportType
from mailexports.exports.task import ExportTask


def task(task_type: ExportType = ExportType.CAMPAIGN_ACTIVITY, **params: str) -> ExportTask:
    return ExportTask(
        task_uuid="t",
        tenant_id="x",
        task_type=task_type,
        params=params or {"stat_id": "1"},
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    "value",
    [
        {"a": "ü", "b": [1, 2.5, None, True], "c": {"d": 'x"y\n\u2028'}},
        {},
        [],
        "é",
        {"big": 10**20, "neg": -0.5},
    ],
)
def test_the_compact_encoder_writes_exactly_what_json_dumps_writes(value: object) -> None:
    assert dumps(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def frame(layout: JsonDocument | Ndjson | ContactDataDocument, t: ExportTask, rows: list[Row]) -> bytes:
    out, last = layout.head(t), None
    for index, row in enumerate(rows):
        out += layout.item(row, index, last)
        last = row.group
    return out + layout.tail(len(rows), last)


@pytest.mark.parametrize("count", [0, 1, 3])
def test_json_document(count: int) -> None:
    rows = [Row({"n": i}, str(i)) for i in range(count)]
    document = json.loads(frame(JsonDocument(), task(), rows))
    assert document == {
        "task_uuid": "t",
        "task_type": "campaign_activity",
        "generated_at": "2025-01-01T00:00:00.000Z",
        "records": [{"n": i} for i in range(count)],
        "count": count,
    }


def test_ndjson_is_one_record_a_line() -> None:
    raw = frame(Ndjson(), task(), [Row({"n": i}, str(i)) for i in range(3)])
    assert raw.splitlines() == [b'{"n":0}', b'{"n":1}', b'{"n":2}']


@pytest.mark.parametrize(
    "groups",
    [[], [0], [3], [0, 0, 2], [1, 3], [2, 2, 2], [0, 1, 2, 3]],
)
def test_contact_data_puts_each_kind_in_its_own_array_even_when_some_are_empty(groups: list[int]) -> None:
    rows = [Row({"g": g, "i": i}, f"{g}:{i}", g) for i, g in enumerate(groups)]
    document = json.loads(
        frame(ContactDataDocument(), task(ExportType.CONTACT_DATA, email="a@example.com"), rows)
    )
    assert document["info"] == {"type": "email", "id": "a@example.com"}
    assert document["data"] == [
        [{"g": g, "i": i} for i, g in enumerate(groups) if g == kind] for kind in range(4)
    ]
