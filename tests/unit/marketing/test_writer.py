"""MarketingWriter against in-process moto: every item where keys.py says, idempotent, latest status wins."""

from __future__ import annotations

import itertools
import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key
from moto.core.models import botocore_stubber

from mailexports.config import Settings
from mailexports.marketing import keys
from mailexports.marketing.records import EventRecord, ImportRecord, parse_line
from mailexports.marketing.writer import (
    MIME_INLINE_LIMIT,
    MarketingWriter,
    UnknownSend,
    record_problem,
)

TENANT = "t-1"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def rec(**fields: Any) -> ImportRecord:
    return parse_line(json.dumps(fields))


def event(
    event_id: str, type_: str, contact: str, at: datetime, stat: str = "981", **extra: Any
) -> ImportRecord:
    return rec(
        kind="event",
        event_id=event_id,
        type=type_,
        stat_id=stat,
        contact_id=contact,
        email=f"{contact}@example.com",
        at=at.isoformat(),
        **extra,
    )


SEND = rec(kind="send", stat_id="981", campaign_id="c-1", sent_at="2025-03-01T09:00:00Z")


def scan_all(table_name: str) -> list[dict[str, Any]]:
    """Every item, for tests only (the service never scans)."""
    pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=table_name)
    items = [item for page in pages for item in page["Items"]]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


@pytest.fixture
def table(aws_stack: Settings) -> Any:
    return boto3.resource("dynamodb").Table(aws_stack.marketing_table)


@pytest.fixture
def writer(aws_stack: Settings) -> MarketingWriter:
    return MarketingWriter(TENANT)


def get(table: Any, pk: str, sk: str) -> dict[str, Any]:
    item = table.get_item(Key={"pk": pk, "sk": sk}).get("Item")
    assert item is not None, (pk, sk)
    return dict(item)


def test_every_kind_lands_in_its_item(writer: MarketingWriter, table: Any) -> None:
    stats = writer.write(
        [
            rec(kind="field", field_id="1", name="First Name"),
            rec(kind="tag", tag="vip"),
            rec(
                kind="contact",
                contact_id="51",
                email="Abc@Example.com",
                status="active",
                created_at="2025-01-02T03:04:05+02:00",
                custom_fields={"First Name": "Ann", "score": 1.5, "age": 41},
                tags=["vip"],
                segments=["seg-1", "seg-2"],
            ),
            rec(kind="contact", contact_id="52", email="b@example.com"),
            rec(kind="campaign", campaign_id="c-1", name="Spring sale", subject="Spring is here"),
            SEND,
            rec(
                kind="message",
                message_id="m-1",
                stat_id="981",
                contact_id="51",
                email="abc@example.com",
                sent_at="2025-03-01T09:00:01Z",
                mime="From: a@b\r\n\r\nhi",
            ),
            event(
                "e-1",
                "open",
                "51",
                T0 + timedelta(hours=1, milliseconds=345),
                ip="198.51.100.7",
                user_agent="UA",
            ),
            event("e-2", "click", "51", T0 + timedelta(hours=1, minutes=1), url="https://example.com/sale"),
            event("e-3", "delivery", "51", T0 + timedelta(seconds=2)),
            rec(
                kind="survey_response",
                response_id="r-1",
                survey_id="s-1",
                email="abc@example.com",
                at="2025-03-02T08:00:00Z",
                answers={"q1": "yes", "q2": [1, 2]},
            ),
        ]
    )
    assert stats.records == {
        "field": 1,
        "tag": 1,
        "contact": 2,
        "campaign": 1,
        "send": 1,
        "message": 1,
        "event": 3,
        "survey_response": 1,
    }

    assert get(table, "T#t-1#FIELDS", "F#1") == {
        "pk": "T#t-1#FIELDS",
        "sk": "F#1",
        "field_id": "1",
        "name": "First Name",
    }
    assert get(table, "T#t-1#TAGS", "TAG#vip")["tag"] == "vip"

    contact = get(table, keys.contact_pk(TENANT, "51"), keys.PROFILE)
    assert contact["email"] == "abc@example.com"
    assert contact["status"] == "active"
    assert contact["created_at"] == "2025-01-02T01:04:05.000Z"
    assert contact["custom_fields"] == {"First Name": "Ann", "score": 1.5, "age": 41}
    assert contact["tags"] == ["vip"]
    assert contact["segments"] == ["seg-1", "seg-2"]
    assert "created_at" not in get(table, keys.contact_pk(TENANT, "52"), keys.PROFILE)
    for segment in ("seg-1", "seg-2"):
        member = get(table, keys.segment_pk(TENANT, segment, keys.shard_of("51")), "C#51")
        assert member["contact_id"] == "51"

    assert get(table, "T#t-1#CAMP#c-1", "META") == {
        "pk": "T#t-1#CAMP#c-1",
        "sk": "META",
        "campaign_id": "c-1",
        "name": "Spring sale",
        "subject": "Spring is here",
    }
    send_attributes = {"stat_id": "981", "campaign_id": "c-1", "sent_at": "2025-03-01T09:00:00.000Z"}
    assert get(table, "T#t-1#CAMP#c-1", "SEND#981") == {
        "pk": "T#t-1#CAMP#c-1",
        "sk": "SEND#981",
        **send_attributes,
    }
    assert get(table, "T#t-1#STAT#981", "META") == {"pk": "T#t-1#STAT#981", "sk": "META", **send_attributes}

    message = get(table, "T#t-1#MSG#m-1", "MSG")
    assert message["mime"] == "From: a@b\r\n\r\nhi"
    assert message["gsi2pk"] == "T#t-1#E#abc@example.com"
    assert message["gsi2sk"] == "MSG#2025-03-01T09:00:01.000Z#m-1"
    assert (message["stat_id"], message["contact_id"], message["sent_at"]) == (
        "981",
        "51",
        "2025-03-01T09:00:01.000Z",
    )

    shard = keys.shard_of("51")
    open_item = get(table, f"T#t-1#STAT#981#{shard}", "C#51#2025-03-01T10:00:00.345Z#e-1")
    arrived = open_item.pop("arrived_at")  # the writer's clock: when it reached us, not `at`
    assert (open_item.pop("gsi4pk"), open_item.pop("gsi4sk")) == (open_item["pk"], f"{arrived}#51#e-1")
    assert open_item == {
        "pk": f"T#t-1#STAT#981#{shard}",
        "sk": "C#51#2025-03-01T10:00:00.345Z#e-1",
        "event_id": "e-1",
        "type": "open",
        "stat_id": "981",
        "campaign_id": "c-1",
        "contact_id": "51",
        "email": "51@example.com",
        "at": "2025-03-01T10:00:00.345Z",
        "ip": "198.51.100.7",
        "user_agent": "UA",
        "gsi1pk": f"T#t-1#CAMP#c-1#open#{shard}",
        "gsi1sk": "2025-03-01T10:00:00.345Z#e-1",
        "gsi2pk": "T#t-1#E#51@example.com",
        "gsi2sk": "OPEN#2025-03-01T10:00:00.345Z#e-1",
    }
    clicks = table.query(
        IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(f"T#t-1#CAMP#c-1#click#{shard}")
    )
    assert [(c["event_id"], c["url"], c["gsi2sk"]) for c in clicks["Items"]] == [
        ("e-2", "https://example.com/sale", "CLICK#2025-03-01T10:01:00.000Z#e-2")
    ]
    delivery = get(table, f"T#t-1#STAT#981#D#{shard}", "C#51#2025-03-01T09:00:02.000Z#e-3")
    assert not {"gsi1pk", "gsi2pk", "gsi4pk", "ip", "url"} & delivery.keys()

    recipient = get(table, keys.recipients_pk(TENANT, "c-1", shard), "C#51")
    arrived = recipient.pop("arrived_at")
    assert (recipient.pop("gsi4pk"), recipient.pop("gsi4sk")) == (recipient["pk"], f"{arrived}#51")
    assert recipient == {
        "pk": f"T#t-1#CAMP#c-1#R#{shard}",
        "sk": "C#51",
        "contact_id": "51",
        "email": "51@example.com",
        "status": "delivered",
        "changed_at": "2025-03-01T09:00:02.000Z",
        "status_key": "2025-03-01T09:00:02.000Z#e-3",
        "gsi3pk": f"T#t-1#CAMP#c-1#R#{shard}",
        "gsi3sk": "2025-03-01T09:00:02.000Z#51",
    }

    survey = get(table, "T#t-1#SURVEY#r-1", "RESPONSE")
    assert survey["answers"] == {"q1": "yes", "q2": [1, 2]}
    assert (survey["gsi2pk"], survey["gsi2sk"]) == (
        "T#t-1#E#abc@example.com",
        "SURVEY#2025-03-02T08:00:00.000Z#r-1",
    )
    by_email = table.query(
        IndexName="gsi2", KeyConditionExpression=Key("gsi2pk").eq("T#t-1#E#abc@example.com")
    )
    assert sorted(i["gsi2sk"].split("#")[0] for i in by_email["Items"]) == ["MSG", "SURVEY"]


def test_writing_the_same_records_twice_changes_no_item(writer: MarketingWriter, aws_stack: Settings) -> None:
    records = [
        rec(
            kind="contact", contact_id="51", email="a@example.com", segments=["seg-1"], custom_fields={"x": 1}
        ),
        SEND,
        *(
            event(f"e-{i}", t, str(i % 4), T0 + timedelta(minutes=i))
            for i, t in enumerate(["send", "open", "delivery"] * 4)
        ),
    ]
    writer.write(records)
    first = scan_all(aws_stack.marketing_table)
    again = MarketingWriter(TENANT).write(records)
    assert scan_all(aws_stack.marketing_table) == first
    assert again.status_updates == 0
    assert again.status_unchanged == 4  # one collapsed request per recipient, each a no-op
    assert again.events_already_stored == 4  # the opens: found by the check, not written again


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_latest_delivery_event_wins_whatever_the_order(
    seed: int, aws_stack: Settings, table: Any
) -> None:
    history = {
        "a": [("send", 0), ("delivery", 5), ("open", 60), ("complaint", 90)],
        "b": [("send", 0), ("soft_bounce", 4), ("delivery", 30)],
        "c": [("send", 0), ("hard_bounce", 3)],
        "d": [("send", 0), ("delivery", 7), ("click", 120)],
    }
    events = [
        event(f"{contact}-{n}", type_, contact, T0 + timedelta(seconds=s))
        for contact, steps in history.items()
        for n, (type_, s) in enumerate(steps)
    ]
    random.Random(seed).shuffle(events)
    writer = MarketingWriter(TENANT, chunk_records=3)  # several chunks: later chunks may carry older events
    writer.write([SEND])
    for part in itertools.batched(events, 4, strict=False):
        writer.write(part)

    expected = {
        "a": ("complaint", 90),
        "b": ("delivered", 30),
        "c": ("hard_bounce", 3),
        "d": ("delivered", 7),
    }
    for contact, (status, seconds) in expected.items():
        item = get(table, keys.recipients_pk(TENANT, "c-1", keys.shard_of(contact)), f"C#{contact}")
        changed_at = (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        assert (item["status"], item["changed_at"], item["gsi3sk"]) == (
            status,
            changed_at,
            f"{changed_at}#{contact}",
        )


def test_same_instant_events_are_ordered_by_event_id(writer: MarketingWriter, table: Any) -> None:
    writer.write([SEND, event("e-2", "hard_bounce", "51", T0), event("e-1", "delivery", "51", T0)])
    MarketingWriter(TENANT).write([event("e-1", "delivery", "51", T0)])
    assert (
        get(table, keys.recipients_pk(TENANT, "c-1", keys.shard_of("51")), "C#51")["status"] == "hard_bounce"
    )


def test_a_big_mime_goes_to_s3_behind_a_pointer(
    writer: MarketingWriter, aws_stack: Settings, table: Any
) -> None:
    mime = "From: a@example.com\r\nSubject: big\r\n\r\n" + "é" * MIME_INLINE_LIMIT  # two bytes each
    message = rec(
        kind="message",
        message_id="m-big",
        stat_id="981",
        contact_id="51",
        email="a@example.com",
        sent_at="2025-03-01T09:00:01Z",
        mime=mime,
    )
    stats = writer.write([SEND, message])

    item = get(table, "T#t-1#MSG#m-big", "MSG")
    assert "mime" not in item
    assert item["mime_s3_key"] == "t-1/mime/m-big.eml"
    assert len(json.dumps(item, default=str).encode()) < 400_000
    body = boto3.client("s3").get_object(Bucket=aws_stack.data_bucket, Key=item["mime_s3_key"])["Body"].read()
    assert body.decode() == mime
    assert stats.mime_objects == 1


def test_a_contact_reimported_with_fewer_segments_leaves_the_old_ones(
    writer: MarketingWriter, table: Any
) -> None:
    writer.write(
        [rec(kind="contact", contact_id="51", email="a@example.com", segments=["seg-1", "seg-2", "seg-3"])]
    )
    stats = MarketingWriter(TENANT).write(
        [rec(kind="contact", contact_id="51", email="a@example.com", segments=["seg-2"])]
    )

    shard = keys.shard_of("51")
    members = {
        segment: table.get_item(Key={"pk": keys.segment_pk(TENANT, segment, shard), "sk": "C#51"}).get("Item")
        for segment in ("seg-1", "seg-2", "seg-3")
    }
    assert members["seg-1"] is None
    assert members["seg-3"] is None
    assert members["seg-2"] is not None
    assert stats.items_deleted == 2
    assert get(table, keys.contact_pk(TENANT, "51"), keys.PROFILE)["segments"] == ["seg-2"]


def test_within_one_batch_the_last_line_of_a_contact_counts(writer: MarketingWriter, table: Any) -> None:
    writer.write(
        [
            rec(kind="contact", contact_id="51", email="a@example.com", segments=["seg-1", "seg-2"]),
            rec(kind="contact", contact_id="51", email="a@example.com", segments=["seg-2"]),
        ]
    )
    seg1 = table.get_item(Key={"pk": keys.segment_pk(TENANT, "seg-1", keys.shard_of("51")), "sk": "C#51"})
    assert "Item" not in seg1
    assert get(table, keys.contact_pk(TENANT, "51"), keys.PROFILE)["segments"] == ["seg-2"]


def test_an_event_of_an_unknown_send_is_refused_before_anything_is_written(
    writer: MarketingWriter, aws_stack: Settings
) -> None:
    with pytest.raises(UnknownSend, match="404"):
        writer.write([rec(kind="tag", tag="vip"), event("e-1", "open", "51", T0, stat="404")])
    assert scan_all(aws_stack.marketing_table) == []


def test_the_campaign_of_a_stored_send_is_read_from_the_table(writer: MarketingWriter, table: Any) -> None:
    writer.write([SEND])
    fresh = MarketingWriter(TENANT)
    assert fresh.campaign_of("981") == "c-1"
    assert fresh.campaign_of("404") is None
    fresh.write([event("e-1", "open", "51", T0)])
    assert (
        get(table, f"T#t-1#STAT#981#{keys.shard_of('51')}", "C#51#2025-03-01T09:00:00.000Z#e-1")[
            "campaign_id"
        ]
        == "c-1"
    )


def test_duplicate_keys_in_one_batch_are_written_once(writer: MarketingWriter, aws_stack: Settings) -> None:
    duplicate = event("e-1", "open", "51", T0)
    stats = writer.write([SEND, duplicate, duplicate, rec(kind="tag", tag="vip"), rec(kind="tag", tag="vip")])
    assert stats.items_written == 4  # two send items, one event, one tag
    assert len(scan_all(aws_stack.marketing_table)) == 4


def test_many_records_are_written_in_parallel_chunks(aws_stack: Settings) -> None:
    events = [event(f"e-{i}", "open", str(i % 97), T0 + timedelta(seconds=i)) for i in range(600)]
    stats = MarketingWriter(TENANT, chunk_records=250).write([SEND, *events])
    assert stats.items_written == 602
    assert len(scan_all(aws_stack.marketing_table)) == 602


def test_unprocessed_items_are_sent_again(
    writer: MarketingWriter, aws_stack: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = writer._client.batch_write_item
    calls: list[int] = []

    def refuse_first(**kwargs: Any) -> Any:
        calls.append(len(kwargs["RequestItems"][aws_stack.marketing_table]))
        if len(calls) == 1:  # DynamoDB accepted nothing and hands every request back
            return {"UnprocessedItems": kwargs["RequestItems"]}
        return real(**kwargs)

    monkeypatch.setattr(writer._client, "batch_write_item", refuse_first)
    stats = writer.write([rec(kind="tag", tag=f"t{i}") for i in range(5)])

    assert calls == [5, 5]
    assert stats.retries == 1
    assert len(scan_all(aws_stack.marketing_table)) == 5


def test_throttling_is_backed_off_and_retried(
    writer: MarketingWriter, aws_stack: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto answers the first BatchWriteItem and PutItem with DynamoDB's throttling error;
    botocore's retry mode (set once in mailexports.aws) sends them again."""
    throttled: list[str] = []
    real = botocore_stubber.process_request
    error = {
        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "message": "slow down",
    }

    def throttle_once(request: Any) -> Any:
        target = request.headers.get("X-Amz-Target") or b""
        name = (target.decode() if isinstance(target, bytes) else target).rpartition(".")[2]
        if name in ("BatchWriteItem", "PutItem") and name not in throttled:
            throttled.append(name)
            return 400, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(error)
        return real(request)

    monkeypatch.setattr(botocore_stubber, "process_request", throttle_once)
    one_at_a_time = MarketingWriter(TENANT, max_workers=1)  # the batch write is sent before the put
    stats = one_at_a_time.write([SEND, event("e-1", "delivery", "51", T0)])

    assert throttled == ["BatchWriteItem", "PutItem"]
    assert stats.status_updates == 1
    assert len(scan_all(aws_stack.marketing_table)) == 4  # two send items, the event, the recipient


def test_record_problem_names_what_dynamodb_cannot_hold() -> None:
    fine = rec(kind="contact", contact_id="1", email="a@example.com", custom_fields={"n": 1.25})
    assert record_problem(TENANT, fine) is None
    not_a_number = rec(
        kind="contact", contact_id="1", email="a@example.com", custom_fields={"n": float("nan")}
    )
    assert "custom_fields" in (record_problem(TENANT, not_a_number) or "")
    huge_number = rec(
        kind="survey_response",
        response_id="r",
        survey_id="s",
        email="a@b.c",
        at=T0.isoformat(),
        answers={"n": 10**40 + 1},
    )
    assert "answers" in (record_problem(TENANT, huge_number) or "")
    too_big = rec(
        kind="contact", contact_id="1", email="a@example.com", custom_fields={"notes": "x" * 410_000}
    )
    assert "400 KB" in (record_problem(TENANT, too_big) or "")
    big_mime = rec(
        kind="message",
        message_id="m",
        stat_id="1",
        contact_id="1",
        email="a@b.c",
        sent_at=T0.isoformat(),
        mime="x" * 1_000_000,
    )
    assert record_problem(TENANT, big_mime) is None  # its MIME goes to S3


def test_events_are_spread_over_shards(writer: MarketingWriter, aws_stack: Settings) -> None:
    events = [event(f"e-{i}", "open", f"contact-{i}", T0) for i in range(200)]
    writer.write([SEND, *events])
    partitions = {
        i["pk"]["S"]
        for i in scan_all(aws_stack.marketing_table)
        if i["pk"]["S"].startswith("T#t-1#STAT#981#")
    }
    assert len(partitions) == keys.SHARDS
    assert isinstance(events[0], EventRecord)


def test_only_opens_and_clicks_live_in_the_activity_partitions(
    writer: MarketingWriter, aws_stack: Settings
) -> None:
    """campaign_activity reads the activity partitions whole: a send's other events, two or
    more per recipient, would be read and paid for there, and thrown away."""
    kinds = [
        "send",
        "delivery",
        "open",
        "click",
        "soft_bounce",
        "hard_bounce",
        "complaint",
        "unsubscribe",
        "reject",
    ]
    writer.write([SEND, *(event(f"e-{kind}", kind, "7", T0) for kind in kinds)])
    shard = keys.shard_of("7")
    by_partition: dict[str, set[str]] = {}
    for item in scan_all(aws_stack.marketing_table):
        by_partition.setdefault(item["pk"]["S"], set()).add(item.get("type", {}).get("S", ""))
    assert by_partition[keys.activity_events_pk(TENANT, "981", shard)] == {"open", "click"}
    assert by_partition[keys.delivery_events_pk(TENANT, "981", shard)] == set(kinds) - {"open", "click"}
