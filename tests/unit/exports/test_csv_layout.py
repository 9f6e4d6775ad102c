"""The CSV layout's pieces: cell text, formula neutralisation, RFC 4180 quoting, column order."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from mailexports.exports.checkpoint import Checkpoint
from mailexports.exports.csv_layout import activity_rows, by_field_id, cell, csv_layout, csv_line
from mailexports.exports.exporters.base import Row
from mailexports.exports.requests import ExportType
from mailexports.exports.task import ExportTask


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("=1+2", "'=1+2"),
        ("+49 30 1234", "'+49 30 1234"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        (-5, "'-5"),  # the rule is about the cell's text, whatever the value's type
        ("a=b", "a=b"),
        ("'quoted", "'quoted"),
        ("", ""),
        (None, ""),
        (3, "3"),
        (2.5, "2.5"),
        (True, "true"),
        (["a", 1], '["a",1]'),
        ({"k": "ü"}, '{"k":"ü"}'),
    ],
)
def test_cell(value: Any, text: str) -> None:
    assert cell(value) == text


def task(task_type: ExportType, **params: Any) -> ExportTask:
    return ExportTask(
        task_uuid="t",
        tenant_id="x",
        task_type=task_type,
        params=params,
        format="csv",
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )


def test_rows_are_rfc_4180_with_crlf_and_quoted_only_where_needed() -> None:
    layout = csv_layout(task(ExportType.CAMPAIGN_DELIVERY, campaign_id="c", field_ids=["7"]), Checkpoint())
    record = {
        "email": "a@example.com",
        "contact_id": "1",
        "status": "delivered",
        "changed_at": "2025-03-01T10:11:12.345Z",
        "fields": {"7": 'say "hi",\nthen leave'},
    }
    raw = layout.head(task(ExportType.CAMPAIGN_DELIVERY)) + layout.item(Row(record, "x"), 0, None)
    assert raw == (
        b"email,contact_id,status,changed_at,field_7\r\n"
        b'a@example.com,1,delivered,2025-03-01T10:11:12.345Z,"say ""hi"",\nthen leave"\r\n'
    )
    assert list(csv.reader(io.StringIO(raw.decode(), newline="")))[1][4] == 'say "hi",\nthen leave'
    assert layout.tail(1, None) == b""


def test_activity_rows_interleave_opens_and_clicks_by_time() -> None:
    record = {
        "contact_id": "1",
        "email": "a@example.com",
        "opens": [{"at": "2025-01-01T00:00:01.000Z", "ip": "1", "user_agent": "u"},
                  {"at": "2025-01-01T00:00:03.000Z", "ip": None, "user_agent": None}],
        "clicks": [{"at": "2025-01-01T00:00:01.000Z", "url": "https://x", "ip": "2", "user_agent": "v"},
                   {"at": "2025-01-01T00:00:02.000Z", "url": None, "ip": None, "user_agent": None}],
    }  # fmt: skip
    assert [(r[2], r[3][17:19]) for r in activity_rows(record)] == [
        ("open", "01"),
        ("click", "01"),
        ("click", "02"),
        ("open", "03"),
    ]


def test_custom_field_columns_follow_field_ids_numerically() -> None:
    assert by_field_id({"10": "ten", "2": "two", "b": "bee", "1": "one", "a": "ay"}) == [
        "one",
        "two",
        "ten",
        "ay",
        "bee",
    ]


def test_named_fields_keep_the_order_asked_and_membership_comes_first() -> None:
    params = {"segment_ids": ["s"], "include_membership": True, "custom_fields": ["Zip", "=x", "City"]}
    layout = csv_layout(task(ExportType.SEGMENT_CONTACTS, **params), Checkpoint())
    assert (
        layout.head(task(ExportType.SEGMENT_CONTACTS))
        == b"contact_id,email,status,membership,Zip,'=x,City\r\n"
    )
    record = {
        "contact_id": "1",
        "email": "a@example.com",
        "status": "active",
        "membership": ["vip", "newsletter"],
        "custom_fields": {"Zip": "10115", "=x": None, "City": "Berlin"},
    }
    assert (
        layout.item(Row(record, "1"), 0, None) == b"1,a@example.com,active,vip;newsletter,10115,,Berlin\r\n"
    )


def test_all_fields_use_the_names_a_checkpoint_already_holds() -> None:
    # No store is reachable here: the layout must take the frozen names, not read the tenant's.
    checkpoint = Checkpoint(csv_field_names=["B", "A"])
    layout = csv_layout(task(ExportType.SEGMENT_CONTACTS, segment_ids=["s"], custom_fields="all"), checkpoint)
    assert layout.head(task(ExportType.SEGMENT_CONTACTS)) == b"contact_id,email,status,B,A\r\n"


def test_contact_data_has_no_csv_layout() -> None:
    with pytest.raises(ValueError, match="contact_data"):
        csv_layout(task(ExportType.CONTACT_DATA, email="a@example.com"), Checkpoint())


def test_rows_read_back_with_the_csv_module_whatever_the_text() -> None:
    # Seeded random rows over the characters that matter; every layout has 3 columns or more.
    rng = random.Random(7)
    alphabet = ",\"\r\n\t =+-@'aé;"
    rows = [
        ["".join(rng.choice(alphabet) for _ in range(rng.randrange(6))) for _ in range(rng.randrange(2, 6))]
        for _ in range(2000)
    ]
    raw = "".join(csv_line(row) for row in rows)
    written = io.StringIO(newline="")
    csv.writer(written, lineterminator="\r\n").writerows([cell(v) for v in row] for row in rows)
    assert raw == written.getvalue()  # what the stdlib writer writes, only faster
    assert list(csv.reader(io.StringIO(raw, newline=""))) == [[cell(v) for v in row] for row in rows]
