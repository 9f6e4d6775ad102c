"""The per-dialect file shapes (Pinpointe's segment file, Selzy's delivery report), chosen by
the task's dialect."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from mailexports.dialects import pinpointe_file, selzy_file
from mailexports.dialects.dialect import dialect_layouts
from mailexports.dialects.pinpointe_file import PinpointeSubscribersDocument
from mailexports.dialects.selzy_file import SELZY_SEND_RESULTS, SelzyDeliveryReport
from mailexports.exports.exporters.base import Row
from mailexports.exports.layouts import ContactDataDocument, JsonDocument, Ndjson, layout_for
from mailexports.exports.requests import ExportType
from mailexports.exports.task import ExportTask
from mailexports.marketing.records import DELIVERY_STATUS_OF


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
        (ExportType.CAMPAIGN_DELIVERY, "selzy", "json", SelzyDeliveryReport),
        (ExportType.CAMPAIGN_DELIVERY, "selzy", "ndjson", Ndjson),
        (ExportType.CAMPAIGN_DELIVERY, None, "json", JsonDocument),
        (ExportType.CONTACT_DATA, "copernica", "json", ContactDataDocument),
    ],
)
def test_layout_for_a_dialects_task(
    task_type: ExportType, dialect: str | None, fmt: str, layout: type
) -> None:
    layouts = dialect_layouts((pinpointe_file.FILES, selzy_file.FILES))  # as the worker's handler has them
    assert isinstance(layout_for(task(task_type, dialect, fmt), None, layouts), layout)


@pytest.mark.parametrize("count", [0, 1, 3])
def test_pinpointe_subscribers_document(count: int) -> None:
    layout = PinpointeSubscribersDocument()
    out = layout.head(task(ExportType.SEGMENT_CONTACTS, "pinpointe"))
    for index in range(count):
        out += layout.item(Row({"email": f"{index}@example.com"}, str(index)), index, 0)
    out += layout.tail(count, 0)
    records = [{"email": f"{i}@example.com"} for i in range(count)]
    assert json.loads(out) == {"status": "SUCCESS", "data": {"subscribers": records, "count": count}}


def delivery_record(n: int, status: str, fields: dict[str, object]) -> Row:
    record = {
        "email": f"{n}@example.com",
        "contact_id": str(n),
        "status": status,
        "changed_at": f"2025-03-0{n + 1}T23:59:5{n}.999Z",
        "fields": fields,
    }
    return Row(record, str(n))


@pytest.mark.parametrize("field_ids", [[], ["2", "1", "7"]])
def test_selzy_delivery_report_streams_the_vendors_shape(field_ids: list[str]) -> None:
    delivery = task(ExportType.CAMPAIGN_DELIVERY, "selzy")
    delivery.params = {"campaign_id": "c", "field_ids": field_ids}
    layout = SelzyDeliveryReport()
    values = {"2": "Lee", "1": "Ann", "7": None}
    rows = [
        delivery_record(n, status, {f: values[f] for f in field_ids})
        for n, status in enumerate(["delivered", "hard_bounce", "sent"])
    ]
    # The head, then each record on its own, as the worker writes them (and resumes them).
    out = layout.head(delivery) + b"".join(layout.item(row, i, 0) for i, row in enumerate(rows))
    out += layout.tail(len(rows), 0)
    assert json.loads(out) == {
        "result": {
            "fields": ["email", "send_result", "last_update", *field_ids],
            "data": [
                ["0@example.com", "ok_delivered", "2025-03-01 23:59:50", *(values[f] for f in field_ids)],
                ["1@example.com", "err_user_unknown", "2025-03-02 23:59:51", *(values[f] for f in field_ids)],
                ["2@example.com", "ok_sent", "2025-03-03 23:59:52", *(values[f] for f in field_ids)],
            ],
        }
    }
    empty = layout.head(delivery) + layout.tail(0, None)
    assert json.loads(empty) == {
        "result": {"fields": ["email", "send_result", "last_update", *field_ids], "data": []}
    }


def test_selzy_send_results_cover_every_delivery_status_with_a_vendor_code() -> None:
    assert set(SELZY_SEND_RESULTS) == set(DELIVERY_STATUS_OF.values())
    # The vendor's rule: ok_* delivered or in progress, err_* failed, not_sent the exception.
    assert all(code.startswith(("ok_", "err_")) for code in SELZY_SEND_RESULTS.values())
    row = delivery_record(0, "some_future_status", {})
    assert json.loads(SelzyDeliveryReport().item(row, 0, 0))[1] == "not_sent"
