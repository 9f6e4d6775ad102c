"""The SQS event source emulation against in-process moto: events, deletes, retries, the DLQ."""

from __future__ import annotations

import base64
from typing import Any

import boto3
import pytest

from mailexports.config import Settings
from mailexports_dev.local.lambda_runtime import LocalFunction
from mailexports_dev.local.queue_pump import QueuePump, build_sqs_event, failed_message_ids
from mailexports_dev.local.template import functions


class Handler:
    """Records the events it gets; fails the listed bodies, or raises."""

    def __init__(self, fail_bodies: tuple[str, ...] = (), raises: bool = False) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail_bodies = fail_bodies
        self.raises = raises

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        if self.raises:
            raise RuntimeError("worker blew up")
        failures = [r["messageId"] for r in event["Records"] if r["body"] in self.fail_bodies]
        return {"batchItemFailures": [{"itemIdentifier": m} for m in failures]}


def _pump(function_id: str, queue: str, handler: Handler, override: int | None = None) -> QueuePump:
    spec = next(s for s in functions() if s.logical_id == function_id)
    source = next(s for s in spec.queues if s.queue == queue)
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=f"test-{queue}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return QueuePump(
        LocalFunction(spec, handler, memory_mb=128),
        source,
        url,
        arn,
        visibility_override=override,
        wait_seconds=0,
    )


def _counts(url: str) -> tuple[int, int]:
    attributes = boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def _send(url: str, *bodies: str) -> None:
    for body in bodies:
        boto3.client("sqs").send_message(QueueUrl=url, MessageBody=body)


def test_event_has_lambdas_record_shape(aws_stack: Settings) -> None:
    handler = Handler()
    pump = _pump("IngestFunction", "SesEventsQueue", handler)
    boto3.client("sqs").send_message(
        QueueUrl=pump.queue_url,
        MessageBody='{"eventType": "Open"}',
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "ses"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    assert pump.poll_once().received == 1
    (record,) = handler.events[0]["Records"]
    assert record["body"] == '{"eventType": "Open"}'
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == pump.queue_arn
    assert record["awsRegion"] == "us-east-1"
    assert record["md5OfBody"]
    assert record["receiptHandle"]
    assert {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    } <= set(record["attributes"])
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "ses",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert base64.b64decode(record["messageAttributes"]["blob"]["binaryValue"]) == b"\x00\x01"
    assert record["messageAttributes"]["blob"]["dataType"] == "Binary"


def test_batch_item_failures_leave_only_the_failed_message(aws_stack: Settings) -> None:
    handler = Handler(fail_bodies=("two",))
    pump = _pump("IngestFunction", "SesEventsQueue", handler)
    _send(pump.queue_url, "one", "two", "three")
    outcome = pump.poll_once()
    assert (outcome.received, outcome.deleted, outcome.failed) == (3, 2, 1)
    assert len(handler.events[0]["Records"]) == 3  # one batch, up to BatchSize
    assert _counts(pump.queue_url) == (0, 1)  # the failed one waits out the visibility timeout


def test_visibility_override_makes_a_failed_message_visible_again_at_once(aws_stack: Settings) -> None:
    handler = Handler(fail_bodies=("two",))
    pump = _pump("IngestFunction", "SesEventsQueue", handler, override=0)
    _send(pump.queue_url, "one", "two")
    pump.poll_once()
    assert _counts(pump.queue_url) == (1, 0)
    pump.poll_once()
    assert [r["body"] for r in handler.events[1]["Records"]] == ["two"]
    assert handler.events[1]["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"


def test_an_exception_deletes_nothing(aws_stack: Settings) -> None:
    pump = _pump("IngestFunction", "SesEventsQueue", Handler(raises=True))
    _send(pump.queue_url, "one", "two", "three")
    outcome = pump.poll_once()
    assert (outcome.received, outcome.deleted, outcome.raised) == (3, 0, True)
    assert _counts(pump.queue_url) == (0, 3)


def test_a_message_failing_max_receive_count_times_ends_in_the_dlq(aws_stack: Settings) -> None:
    handler = Handler(raises=True)
    pump = _pump("WorkerFunction", "ExportQueue", handler, override=0)
    _send(pump.queue_url, '{"task_uuid": "t-1"}')
    for _ in range(6):  # maxReceiveCount is 5: the sixth receive finds it gone
        pump.poll_once()
    counts = [r["attributes"]["ApproximateReceiveCount"] for e in handler.events for r in e["Records"]]
    assert counts == ["1", "2", "3", "4", "5"]
    assert _counts(pump.queue_url) == (0, 0)
    sqs = boto3.client("sqs")
    dlq = sqs.get_queue_url(QueueName="test-ExportDLQ")["QueueUrl"]
    (dead,) = sqs.receive_message(QueueUrl=dlq).get("Messages", [])
    assert dead["Body"] == '{"task_uuid": "t-1"}'


def test_empty_queue_invokes_nothing(aws_stack: Settings) -> None:
    handler = Handler()
    outcome = _pump("WorkerFunction", "ExportQueue", handler).poll_once()
    assert outcome.received == 0
    assert handler.events == []


@pytest.mark.parametrize(
    ("result", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": "zz"}]}, {"a", "b"}),  # unknown id: whole batch
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"a", "b"}),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, {"a", "b"}),
        ({"batchItemFailures": [{"id": "a"}]}, {"a", "b"}),
        ("not json object", {"a", "b"}),
    ],
)
def test_batch_item_failure_rules(result: Any, failed: set[str]) -> None:
    assert failed_message_ids(result, ["a", "b"], report_batch_item_failures=True) == failed


def test_without_report_batch_item_failures_a_returned_list_is_ignored() -> None:
    result = {"batchItemFailures": [{"itemIdentifier": "a"}]}
    assert failed_message_ids(result, ["a", "b"], report_batch_item_failures=False) == set()


def test_build_sqs_event_keeps_message_order() -> None:
    messages: list[Any] = [
        {"MessageId": str(i), "ReceiptHandle": f"r{i}", "Body": f"b{i}", "MD5OfBody": "x"} for i in range(3)
    ]
    event = build_sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:q")
    assert [r["messageId"] for r in event["Records"]] == ["0", "1", "2"]
    assert event["Records"][0]["messageAttributes"] == {}
