"""The gateway and a queue pump dispatching to a FunctionPool: a crashed environment fails as in Lambda."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from mailexports.config import Settings
from mailexports_dev.local.function_pool import FunctionPool
from mailexports_dev.local.gateway import LocalApi
from mailexports_dev.local.proxy_event import GatewayInfo, HttpRequest
from mailexports_dev.local.queue_pump import BatchOutcome, QueuePump
from mailexports_dev.local.template import ApiRoute, FunctionSpec, QueueSource

# An API handler and an SQS handler in one file; each dies on request, as a segfault would.
HANDLER = """
import json, os

def api(event, context):
    if (event.get("queryStringParameters") or {}).get("crash"):
        os._exit(1)
    return {"statusCode": 200, "body": json.dumps({"pid": os.getpid(), "path": event["path"]})}

def sqs(event, context):
    if any(record["body"] == "crash" for record in event["Records"]):
        os._exit(1)
    return {"batchItemFailures": []}
"""


@pytest.fixture
def code(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(HANDLER)
    return tmp_path


@pytest.fixture
def api_pool(code: Path) -> Iterator[FunctionPool]:
    spec = FunctionSpec("ApiProbe", code, "app.api", 5, routes=(ApiRoute("GET", "/probe/{id}"),))
    pool = FunctionPool(spec, limit=2, environment=dict(os.environ), memory_mb=128)
    yield pool
    pool.stop()


def _get(api: LocalApi, path: str, query: str = "") -> tuple[int, bytes]:
    response, _ = api.handle(HttpRequest("GET", path, query, [("Host", "localhost")], b"", "127.0.0.1"))
    return response.status, response.body


def test_a_crash_is_the_gateways_502_and_the_next_request_gets_a_fresh_environment(
    api_pool: FunctionPool, capsys: pytest.CaptureFixture[str]
) -> None:
    api = LocalApi([api_pool], GatewayInfo(stage="dev"))
    status, body = _get(api, "/probe/1")
    assert status == 200
    first = json.loads(body)
    assert first["path"] == "/probe/1"
    assert _get(api, "/probe/2", "crash=1") == (502, b'{"message": "Internal server error"}')
    assert "exited" in capsys.readouterr().err  # the reason is on the console, not in the answer
    status, body = _get(api, "/probe/3")
    assert status == 200
    assert json.loads(body)["pid"] != first["pid"]
    assert api_pool.stats().lost == 1


def test_a_crash_during_a_batch_returns_its_messages_to_the_queue(aws_stack: Settings, code: Path) -> None:
    source = QueueSource("SesEventsQueue", batch_size=10, report_batch_item_failures=True)
    spec = FunctionSpec("SqsProbe", code, "app.sqs", 5, queues=(source,))
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="test-SesEventsQueue")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pool = FunctionPool(spec, limit=1, environment=dict(os.environ), memory_mb=128)
    pump = QueuePump(pool, source, url, arn, visibility_override=0, wait_seconds=0)
    try:
        sqs.send_message(QueueUrl=url, MessageBody="crash")
        outcome = pump.poll_once()
        assert (outcome.received, outcome.deleted, outcome.raised) == (1, 0, True)
        # Back in the queue (visible again at once with the override), tried again, and again lost.
        again = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])["Messages"]
        assert [m["Body"] for m in again] == ["crash"]
        assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"
        sqs.delete_message(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"])
        # The pool replaced the environment: the next batch succeeds and is deleted.
        sqs.send_message(QueueUrl=url, MessageBody="fine")
        assert pump.poll_once() == BatchOutcome(1, 1, 0, False)
        assert pool.stats().lost == 1
    finally:
        pool.stop()
