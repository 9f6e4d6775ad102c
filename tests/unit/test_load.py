"""`mailexports load`: two passes, bad lines with their numbers, --strict, idempotent, order-free."""

from __future__ import annotations

import gzip
import io
import json
import random
import re
from pathlib import Path
from typing import Any

import boto3
import pytest

from mailexports.config import Settings
from mailexports.marketing import keys
from mailexports.tenants.service import create_tenant
from mailexports_cli.load import BadLine, load_file
from mailexports_cli.main import main

TENANT = "t-1"

FIELD = {"kind": "field", "field_id": "1", "name": "First Name"}
TAG = {"kind": "tag", "tag": "vip"}
CONTACT = {
    "kind": "contact",
    "contact_id": "51",
    "email": "abc@example.com",
    "status": "active",
    "created_at": "2025-01-02T03:04:05Z",
    "custom_fields": {"First Name": "Ann"},
    "tags": ["vip"],
    "segments": ["seg-1"],
}
CAMPAIGN = {
    "kind": "campaign",
    "campaign_id": "1100394165287",
    "name": "Spring sale",
    "subject": "Spring is here",
}
SEND = {"kind": "send", "stat_id": "981", "campaign_id": "1100394165287", "sent_at": "2025-03-01T09:00:00Z"}
MESSAGE = {
    "kind": "message",
    "message_id": "m-1",
    "stat_id": "981",
    "contact_id": "51",
    "email": "abc@example.com",
    "sent_at": "2025-03-01T09:00:01Z",
    "mime": "From: news@example.com\r\n\r\nHello",
}
SURVEY = {
    "kind": "survey_response",
    "response_id": "r-1",
    "survey_id": "s-1",
    "email": "abc@example.com",
    "at": "2025-03-02T08:00:00Z",
    "answers": {"q1": "yes"},
}


def event(
    event_id: str, type_: str, at: str, contact: str = "51", stat: str = "981", **extra: Any
) -> dict[str, Any]:
    return {
        "kind": "event",
        "event_id": event_id,
        "type": type_,
        "stat_id": stat,
        "contact_id": contact,
        "email": f"{contact}@example.com",
        "at": at,
        **extra,
    }


SAMPLE = [
    FIELD,
    TAG,
    CONTACT,
    CAMPAIGN,
    SEND,
    MESSAGE,
    event("e-0", "send", "2025-03-01T09:00:01Z"),
    event("e-1", "open", "2025-03-01T10:11:12.345Z", ip="198.51.100.7", user_agent="Mozilla/5.0"),
    event("e-2", "click", "2025-03-01T10:12:00Z", url="https://example.com/sale"),
    event("e-3", "delivery", "2025-03-01T09:00:02Z"),
    SURVEY,
]


def write_lines(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def scan_all(table_name: str) -> list[dict[str, Any]]:
    pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=table_name)
    return sorted((i for p in pages for i in p["Items"]), key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def item(table_name: str, pk: str, sk: str) -> dict[str, Any] | None:
    found = boto3.resource("dynamodb").Table(table_name).get_item(Key={"pk": pk, "sk": sk}).get("Item")
    return dict(found) if found else None


def test_every_kind_is_loaded(tmp_path: Path, aws_stack: Settings) -> None:
    report = load_file(write_lines(tmp_path / "data.ndjson", SAMPLE), TENANT, progress=False)

    assert report.bad_count == 0
    assert not report.aborted
    assert report.lines == len(SAMPLE)
    assert report.written == {
        "field": 1,
        "tag": 1,
        "contact": 1,
        "campaign": 1,
        "send": 1,
        "message": 1,
        "event": 4,
        "survey_response": 1,
    }
    table = aws_stack.marketing_table
    shard = keys.shard_of("51")
    assert item(table, "T#t-1#C#51", "PROFILE") is not None
    assert item(table, f"T#t-1#SEG#seg-1#{shard}", "C#51") is not None
    opened = item(table, f"T#t-1#STAT#981#{shard}", "C#51#2025-03-01T10:11:12.345Z#e-1")
    assert opened is not None
    assert opened["gsi1pk"] == f"T#t-1#CAMP#1100394165287#open#{shard}"
    recipient = item(table, f"T#t-1#CAMP#1100394165287#R#{shard}", "C#51")
    assert recipient is not None
    assert (recipient["status"], recipient["changed_at"]) == ("delivered", "2025-03-01T09:00:02.000Z")
    assert "loaded 11 records into tenant t-1" in report.summary()


def test_loading_the_same_file_twice_changes_no_item(tmp_path: Path, aws_stack: Settings) -> None:
    path = write_lines(tmp_path / "data.ndjson", SAMPLE)
    load_file(path, TENANT, progress=False)
    first = scan_all(aws_stack.marketing_table)
    assert len(first) > len(SAMPLE)
    second = load_file(path, TENANT, progress=False)
    assert scan_all(aws_stack.marketing_table) == first
    assert second.stats.status_updates == 0


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_delivery_status_is_the_latest_event_whatever_the_line_order(
    seed: int, tmp_path: Path, aws_stack: Settings
) -> None:
    events = [
        event("a1", "send", "2025-03-01T09:00:00Z", contact="a"),
        event("a2", "delivery", "2025-03-01T09:00:03Z", contact="a"),
        event("a3", "open", "2025-03-01T11:00:00Z", contact="a"),
        event("a4", "unsubscribe", "2025-03-01T12:00:00.250Z", contact="a"),
        event("b1", "send", "2025-03-01T09:00:00Z", contact="b"),
        event("b2", "soft_bounce", "2025-03-01T09:00:05Z", contact="b"),
        event("b3", "delivery", "2025-03-01T09:30:00Z", contact="b"),
        event("c1", "send", "2025-03-01T09:00:00Z", contact="c"),
        event("c2", "reject", "2025-03-01T09:00:01Z", contact="c"),
    ]
    lines = [CAMPAIGN, SEND, *events]
    random.Random(seed).shuffle(lines)  # sends may come after their events too
    load_file(write_lines(tmp_path / "shuffled.ndjson", lines), TENANT, progress=False, chunk_records=2)

    expected = {
        "a": ("unsubscribe", "2025-03-01T12:00:00.250Z"),
        "b": ("delivered", "2025-03-01T09:30:00.000Z"),
        "c": ("reject", "2025-03-01T09:00:01.000Z"),
    }
    for contact, (status, changed_at) in expected.items():
        stored = item(
            aws_stack.marketing_table,
            keys.recipients_pk(TENANT, "1100394165287", keys.shard_of(contact)),
            f"C#{contact}",
        )
        assert stored is not None
        assert (stored["status"], stored["changed_at"]) == (status, changed_at)


def test_a_big_mime_is_kept_in_s3(tmp_path: Path, aws_stack: Settings) -> None:
    mime = "From: news@example.com\r\n\r\n" + "x" * 600_000
    load_file(write_lines(tmp_path / "big.ndjson", [SEND, {**MESSAGE, "mime": mime}]), TENANT, progress=False)
    stored = item(aws_stack.marketing_table, "T#t-1#MSG#m-1", "MSG")
    assert stored is not None
    assert "mime" not in stored
    assert len(json.dumps(stored)) < 400_000
    obj = boto3.client("s3").get_object(Bucket=aws_stack.data_bucket, Key=stored["mime_s3_key"])
    assert obj["Body"].read().decode() == mime


BAD_FILE = [
    FIELD,  # 1
    '{"kind":"tag","tag":"vip"',  # 2: truncated JSON
    {**CONTACT, "email": "not-an-address"},  # 3
    "",  # 4: blank lines are not records
    {"kind": "segment", "segment_id": "x"},  # 5
    {**SEND, "sent_at": "2025-03-01T09:00:00"},  # 6: no timezone
    SEND,  # 7
    event("e-1", "opened", "2025-03-01T10:00:00Z"),  # 8
    event("e-2", "open", "2025-03-01T10:00:00Z", stat="404"),  # 9: no such send
    {**CONTACT, "colour": "blue"},  # 10
    event("e-3", "open", "2025-03-01T10:00:00Z"),  # 11
    {"contact_id": "1"},  # 12: no kind
    "[1, 2]",  # 13
    {**SEND, "campaign_id": "other"},  # 14: the same send, another campaign
]


def test_bad_lines_are_reported_with_their_number_and_field(tmp_path: Path, aws_stack: Settings) -> None:
    report = load_file(write_lines(tmp_path / "bad.ndjson", BAD_FILE), TENANT, progress=False)

    reasons = {bad.line: bad.reason for bad in report.bad_lines}
    assert sorted(reasons) == [2, 3, 5, 6, 8, 9, 10, 12, 13, 14]
    assert reasons[2].startswith("invalid JSON")
    assert reasons[3].startswith("email:")
    assert reasons[5].startswith("kind: 'segment' is not one of")
    assert reasons[6].startswith("sent_at: Input should have timezone info")
    assert reasons[8].startswith("type: Input should be")
    assert "(got 'opened')" in reasons[8]
    assert reasons[9].startswith("stat_id: no send '404'")
    assert reasons[10].startswith("colour: Extra inputs are not permitted")
    assert reasons[12].startswith("kind: missing")
    assert reasons[13] == "not a JSON object"
    assert reasons[14].startswith("stat_id: '981' was sent for campaign '1100394165287' on line 7")
    assert report.bad_count == 10
    assert report.lines == 13

    # Without --strict the good lines are written and the bad ones skipped.
    assert report.written == {"field": 1, "send": 1, "event": 1}
    table = aws_stack.marketing_table
    assert item(table, "T#t-1#FIELDS", "F#1") is not None
    assert (
        item(table, f"T#t-1#STAT#981#{keys.shard_of('51')}", "C#51#2025-03-01T10:00:00.000Z#e-3") is not None
    )
    assert item(table, "T#t-1#C#51", "PROFILE") is None
    assert item(table, "T#t-1#STAT#981", "META")["campaign_id"] == "1100394165287"  # type: ignore[index]


def test_strict_writes_nothing_when_a_line_is_bad(tmp_path: Path, aws_stack: Settings) -> None:
    report = load_file(write_lines(tmp_path / "bad.ndjson", BAD_FILE), TENANT, strict=True, progress=False)
    assert report.aborted
    assert report.bad_count == 10
    assert report.written == {}
    assert scan_all(aws_stack.marketing_table) == []
    assert report.summary().startswith("nothing written: 10 bad line(s)")


def test_a_send_stored_by_an_earlier_load_is_known(tmp_path: Path, aws_stack: Settings) -> None:
    load_file(write_lines(tmp_path / "sends.ndjson", [CAMPAIGN, SEND]), TENANT, progress=False)
    later = load_file(
        write_lines(
            tmp_path / "events.ndjson",
            [event("e-9", "click", "2025-03-02T10:00:00Z", url="https://x.example")],
        ),
        TENANT,
        strict=True,
        progress=False,
    )
    assert later.bad_count == 0
    assert later.written == {"event": 1}
    # ...but only for its own tenant.
    other = load_file(tmp_path / "events.ndjson", "t-2", progress=False)
    assert other.bad_lines == [
        BadLine(1, "stat_id: no send '981' in this file or in the store (add its `send` line)")
    ]


def test_a_send_line_contradicting_the_store_is_bad(tmp_path: Path, aws_stack: Settings) -> None:
    load_file(write_lines(tmp_path / "first.ndjson", [SEND]), TENANT, progress=False)
    report = load_file(
        write_lines(
            tmp_path / "second.ndjson",
            [{**SEND, "campaign_id": "c-2"}, event("e-1", "open", "2025-03-01T10:00:00Z")],
        ),
        TENANT,
        progress=False,
    )
    assert [b.line for b in report.bad_lines] == [1]
    assert "already stored as a send of campaign '1100394165287'" in report.bad_lines[0].reason
    opened = item(
        aws_stack.marketing_table,
        f"T#t-1#STAT#981#{keys.shard_of('51')}",
        "C#51#2025-03-01T10:00:00.000Z#e-1",
    )
    assert opened is not None
    assert opened["campaign_id"] == "1100394165287"


def test_an_unstorable_record_is_a_bad_line_not_a_crash(tmp_path: Path, aws_stack: Settings) -> None:
    lines = [
        '{"kind":"contact","contact_id":"1","email":"a@example.com","custom_fields":{"n":NaN}}',
        {**CONTACT, "custom_fields": {"notes": "x" * 420_000}},
        TAG,
    ]
    report = load_file(write_lines(tmp_path / "odd.ndjson", lines), TENANT, progress=False)
    assert [b.line for b in report.bad_lines] == [1, 2]
    assert report.bad_lines[0].reason.startswith("custom_fields:")
    assert "400 KB" in report.bad_lines[1].reason
    assert report.written == {"tag": 1}


def test_a_contact_reloaded_with_fewer_segments_leaves_them(tmp_path: Path, aws_stack: Settings) -> None:
    load_file(
        write_lines(tmp_path / "a.ndjson", [{**CONTACT, "segments": ["seg-1", "seg-2"]}]),
        TENANT,
        progress=False,
    )
    load_file(
        write_lines(tmp_path / "b.ndjson", [{**CONTACT, "segments": ["seg-2"]}]), TENANT, progress=False
    )
    shard = keys.shard_of("51")
    assert item(aws_stack.marketing_table, f"T#t-1#SEG#seg-1#{shard}", "C#51") is None
    assert item(aws_stack.marketing_table, f"T#t-1#SEG#seg-2#{shard}", "C#51") is not None


def test_gzip_files_and_a_byte_order_mark_are_read(tmp_path: Path, aws_stack: Settings) -> None:
    path = tmp_path / "data.ndjson.gz"
    path.write_bytes(gzip.compress(b"\xef\xbb\xbf" + "\n".join(json.dumps(r) for r in SAMPLE).encode()))
    report = load_file(path, TENANT, strict=True, progress=False)
    assert report.bad_count == 0
    assert report.records_written == len(SAMPLE)


def test_progress_is_rewritten_in_place(tmp_path: Path, aws_stack: Settings) -> None:
    stream = io.StringIO()
    load_file(write_lines(tmp_path / "data.ndjson", SAMPLE), TENANT, progress=stream)
    # The text without the terminal's control sequences (rich hides the cursor, clears the line, colours).
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", stream.getvalue())
    assert shown.startswith("\rchecking: 11 lines")
    assert "\rwriting: 11 records" in shown
    assert "records/s" in shown
    assert shown.endswith("\n")


# ---------------------------------------------------------------- the command


@pytest.fixture
def local_stack_state(aws_stack: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The state file a running local stack writes, so `apply_target` finds this (in-process) stack."""
    state = tmp_path / "local-stack.json"
    env = {
        "TASKS_TABLE": aws_stack.tasks_table,
        "TENANTS_TABLE": aws_stack.tenants_table,
        "MARKETING_TABLE": aws_stack.marketing_table,
        "EXPORTS_BUCKET": aws_stack.exports_bucket,
        "DATA_BUCKET": aws_stack.data_bucket,
    }
    state.write_text(json.dumps({"env": env}))
    monkeypatch.setenv("MAILEXPORTS_STATE_FILE", str(state))
    return aws_stack


def test_the_command_loads_for_a_tenant_named_by_name(
    tmp_path: Path, local_stack_state: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = create_tenant("Acme", "acme")
    path = write_lines(tmp_path / "data.ndjson", SAMPLE)

    assert main(["load", str(path), "--tenant", "Acme"]) == 0
    out, _ = capsys.readouterr()
    assert f"loaded 11 records into tenant {tenant.tenant_id}" in out
    assert "records/s" in out
    assert item(local_stack_state.marketing_table, f"T#{tenant.tenant_id}#C#51", "PROFILE") is not None


def test_the_command_with_strict_exits_2_and_lists_the_bad_lines(
    tmp_path: Path, local_stack_state: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = create_tenant("Acme", "acme")
    path = write_lines(tmp_path / "bad.ndjson", BAD_FILE)

    assert main(["load", str(path), "--tenant", tenant.tenant_id, "--strict"]) == 2
    out, err = capsys.readouterr()
    assert f"{path}: line 3: email:" in err
    assert f"{path}: line 9: stat_id: no send '404'" in err
    assert out.startswith("nothing written: 10 bad line(s)")
    assert scan_all(local_stack_state.marketing_table) == []


def test_the_command_names_an_unknown_tenant_or_file(
    tmp_path: Path, local_stack_state: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_lines(tmp_path / "data.ndjson", SAMPLE)
    assert main(["load", str(path), "--tenant", "nobody"]) == 2
    assert "no tenant 'nobody'" in capsys.readouterr().err
    assert main(["load", str(tmp_path / "missing.ndjson"), "--tenant", "nobody"]) == 2
    assert "missing.ndjson: no such file" in capsys.readouterr().err
