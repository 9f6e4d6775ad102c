"""DynamoDB (and S3) with the network replaced by a fixed wait: what the import runs into on AWS.

A `before-send` hook on the process's real clients (`mailexports.aws`), so botocore still
builds, signs and parses every request and the caller's code runs unchanged; only the
network is replaced. Each request is answered after its operation's latency, slept (a
network wait releases the GIL, so parallel requests overlap as they do against DynamoDB),
with the answer a fresh, empty table gives. In-process moto instead charges each request
milliseconds of CPU under the GIL, which no parallelism can overlap.

Every request is counted by operation and every item it writes by key, so a figure
taken here can be checked to include all the work; an operation without an answer
here fails the request instead of leaving the process.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders

from mailexports import aws

# Latencies as the client sees them inside one region. DynamoDB documents "single-digit
# millisecond" response times (developer guide, "What is Amazon DynamoDB?"); the figures
# are picked inside that range, a batch of 25 items above a single item.
BATCH_WRITE_LATENCY_S = 0.006  # BatchWriteItem of up to 25 items
BATCH_GET_LATENCY_S = 0.006  # BatchGetItem of up to 100 keys, strongly consistent
SINGLE_ITEM_LATENCY_S = 0.004  # PutItem, GetItem
# S3 performance guidelines: small objects take "roughly 100-200 milliseconds" to first byte.
S3_PUT_LATENCY_S = 0.100  # PutObject of a MIME body too big to keep in its item
LATENCY_S = {
    "BatchWriteItem": BATCH_WRITE_LATENCY_S,
    "BatchGetItem": BATCH_GET_LATENCY_S,
    "PutItem": SINGLE_ITEM_LATENCY_S,
    "GetItem": SINGLE_ITEM_LATENCY_S,
    "PutObject": S3_PUT_LATENCY_S,
}
LATENCY_SOURCES = (
    "BATCH_WRITE_LATENCY_S",
    "BATCH_GET_LATENCY_S",
    "SINGLE_ITEM_LATENCY_S",
    "S3_PUT_LATENCY_S",
)


class UnansweredRequest(RuntimeError):
    """A request the stand-in has no answer for: it would have left the process."""


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class StandIn:
    """Answers and counts the requests of the clients it is attached to."""

    def __init__(self, latency_s: dict[str, float] | None = None) -> None:
        self.latency_s = LATENCY_S if latency_s is None else latency_s
        self.requests: Counter[str] = Counter()  # per operation
        self.items: Counter[str] = Counter()  # items written (put or deleted) per operation
        self.written: Counter[tuple[str, str]] = Counter()  # (pk, sk) -> times written
        self._lock = threading.Lock()

    def attach(self, client: Any) -> None:
        # First: ahead of any other answerer (moto's, when a test runs under mock_aws).
        client.meta.events.register_first("before-send", self._answer)

    def detach(self, client: Any) -> None:
        client.meta.events.unregister("before-send", self._answer)

    def _answer(self, request: Any, event_name: str, **_: Any) -> AWSResponse:
        service, operation = event_name.split(".")[1:]
        if (service, operation) == ("s3", "PutObject"):
            answer, headers = b"", {"ETag": '"stand-in"'}
        elif service == "dynamodb":
            answer = json.dumps(self._dynamodb(operation, json.loads(request.body))).encode()
            headers = {"Content-Type": "application/x-amz-json-1.0"}
        else:
            raise UnansweredRequest(f"the stand-in has no answer for {service} {operation}")
        with self._lock:
            self.requests[operation] += 1
        time.sleep(self.latency_s[operation])
        headers["x-amzn-RequestId"] = "stand-in"
        return AWSResponse(request.url, 200, HTTPHeaders.from_dict(headers), _Body(answer))

    def _dynamodb(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if operation == "BatchWriteItem":
            ((_, requests),) = params["RequestItems"].items()
            self._wrote(
                operation,
                [
                    r["PutRequest"]["Item"] if "PutRequest" in r else r["DeleteRequest"]["Key"]
                    for r in requests
                ],
            )
            return {"UnprocessedItems": {}}
        if operation == "PutItem":
            self._wrote(operation, [params["Item"]])
            return {}  # a fresh table: every condition holds
        if operation == "BatchGetItem":
            return {"Responses": {table: [] for table in params["RequestItems"]}, "UnprocessedKeys": {}}
        if operation == "GetItem":
            return {}  # nothing stored yet: the loader learns a send's campaign from the file
        raise UnansweredRequest(f"the DynamoDB stand-in has no answer for {operation}")

    def _wrote(self, operation: str, items: list[dict[str, Any]]) -> None:
        with self._lock:
            self.items[operation] += len(items)
            self.written.update((item["pk"]["S"], item["sk"]["S"]) for item in items)


@contextmanager
def stand_in(latency_s: dict[str, float] | None = None) -> Iterator[StandIn]:
    """Fresh DynamoDB and S3 clients of `mailexports.aws`, answered by a new stand-in."""
    aws.reset_clients()
    standing = StandIn(latency_s)
    clients = (aws.dynamodb(), aws.s3())
    for client in clients:
        standing.attach(client)
    try:
        yield standing
    finally:
        for client in clients:
            standing.detach(client)
        aws.reset_clients()
