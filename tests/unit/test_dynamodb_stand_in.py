"""The benchmark's DynamoDB stand-in answers every request the loader makes and hides none of its work."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from bench import dynamodb_stand_in
from bench.dynamodb_stand_in import LATENCY_S, StandIn, UnansweredRequest, stand_in
from tests.unit.test_load import MESSAGE, SAMPLE, SEND, TENANT, scan_all, write_lines

from mailexports import aws
from mailexports.config import Settings
from mailexports.marketing.items import MIME_INLINE_LIMIT
from mailexports.marketing.writer import MarketingWriter
from mailexports_cli.load import LoadReport, load_file

NO_LATENCY = dict.fromkeys(LATENCY_S, 0.0)


def load_into_stand_in(path: Path) -> tuple[StandIn, LoadReport]:
    with stand_in(NO_LATENCY) as standing:
        writer = MarketingWriter(TENANT, table_name="marketing", data_bucket="data")
        return standing, load_file(path, TENANT, progress=False, writer=writer)


def test_the_loader_sends_every_item_it_stores(tmp_path: Path, aws_stack: Settings) -> None:
    path = write_lines(tmp_path / "data.ndjson", SAMPLE)
    load_file(path, TENANT, progress=False)
    stored = {(item["pk"]["S"], item["sk"]["S"]) for item in scan_all(aws_stack.marketing_table)}

    standing, report = load_into_stand_in(path)

    assert set(standing.written) == stored  # the same items moto stores, none missing, none extra
    stats = report.stats
    assert standing.items["BatchWriteItem"] == stats.items_written + stats.items_deleted
    assert standing.items["PutItem"] == stats.status_updates + stats.status_unchanged == 1
    assert standing.requests["GetItem"] == 1  # the file's one send, looked up in the (empty) store
    assert standing.requests["BatchGetItem"] >= 1  # the existence check of the open and the click
    assert report.records_written == len(SAMPLE)


def test_a_big_mime_body_goes_to_s3_through_the_stand_in(tmp_path: Path) -> None:
    big = {**MESSAGE, "mime": "From: news@example.com\r\n\r\n" + "x" * MIME_INLINE_LIMIT}
    path = write_lines(tmp_path / "data.ndjson", [SEND, big])

    standing, report = load_into_stand_in(path)

    assert report.stats.mime_objects == 1
    assert standing.requests["PutObject"] == 1
    assert standing.items["BatchWriteItem"] == report.stats.items_written  # the message's item too


def test_a_request_it_cannot_answer_fails_instead_of_leaving_the_process() -> None:
    with stand_in(NO_LATENCY) as standing, pytest.raises(UnansweredRequest):
        aws.dynamodb().query(
            TableName="marketing",
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "x"}},
        )
    with stand_in(NO_LATENCY), pytest.raises(UnansweredRequest):
        aws.s3().get_object(Bucket="data", Key="x")
    assert standing.requests == {}


def test_each_request_waits_its_operations_latency(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    with stand_in() as standing:
        aws.dynamodb().get_item(TableName="marketing", Key={"pk": {"S": "p"}, "sk": {"S": "s"}})
        aws.dynamodb().batch_write_item(
            RequestItems={"marketing": [{"PutRequest": {"Item": {"pk": {"S": "p"}, "sk": {"S": "s"}}}}]}
        )
    assert waits == [dynamodb_stand_in.SINGLE_ITEM_LATENCY_S, dynamodb_stand_in.BATCH_WRITE_LATENCY_S]
    assert standing.written == {("p", "s"): 1}
