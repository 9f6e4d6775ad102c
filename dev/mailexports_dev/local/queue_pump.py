"""An SQS event source mapping, emulated: poll a queue, invoke the function, delete what succeeded.

Semantics follow Lambda's poller. A batch whose invocation raises is left alone
(every message becomes visible again after the queue's visibility timeout). With
`ReportBatchItemFailures` only the messages the function lists in `batchItemFailures`
stay; an invalid list fails the whole batch. Redrive to the dead-letter queue is SQS's
own job: moto moves a message once its receive count reaches `maxReceiveCount`, over the
server as in-process, so the pump does not.

`concurrency` pollers run at once (Lambda's poller also handles several batches in
parallel), each invoking the function for one batch at a time; with a `FunctionPool`
every batch gets an execution environment of its own.

`visibility_override` shortens the wait for failed messages (ChangeMessageVisibility),
so a developer need not sit out a 90-minute visibility timeout to see a retry.
"""

from __future__ import annotations

import base64
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3

from mailexports_dev.local.lambda_runtime import Invocable, report_failure
from mailexports_dev.local.resources import REGION
from mailexports_dev.local.template import QueueSource

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueOutputTypeDef, MessageTypeDef


def build_sqs_event(messages: list[MessageTypeDef], queue_arn: str, region: str = REGION) -> dict[str, Any]:
    """The event Lambda's SQS event source passes to the function."""
    return {"Records": [_record(message, queue_arn, region) for message in messages]}


def _record(message: MessageTypeDef, queue_arn: str, region: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _lambda_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _lambda_attribute(value: MessageAttributeValueOutputTypeDef) -> dict[str, Any]:
    """SQS's MessageAttributeValue in the camel-case, base64 shape Lambda delivers."""
    out: dict[str, Any] = {}
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    out["stringListValues"] = list(value.get("StringListValues", []))
    out["binaryListValues"] = [base64.b64encode(v).decode("ascii") for v in value.get("BinaryListValues", [])]
    out["dataType"] = value["DataType"]
    return out


def failed_message_ids(result: Any, batch_ids: list[str], report_batch_item_failures: bool) -> set[str]:
    """Which messages of a successfully invoked batch failed, by Lambda's rules."""
    if not report_batch_item_failures or result is None:
        return set()
    if not isinstance(result, dict):
        return set(batch_ids)  # not a valid response: the whole batch fails
    failures = result.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return set(batch_ids)
    failed: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in batch_ids:
            return set(batch_ids)  # null, empty or unknown identifier: Lambda fails the batch
        failed.add(identifier)
    return failed


@dataclass(frozen=True)
class BatchOutcome:
    received: int
    deleted: int
    failed: int
    raised: bool = False


class QueuePump:
    """Polls one queue for one function from daemon threads; `poll_once` runs one cycle (tests)."""

    def __init__(
        self,
        function: Invocable,
        source: QueueSource,
        queue_url: str,
        queue_arn: str,
        *,
        visibility_override: int | None = None,
        wait_seconds: int = 1,
        region: str = REGION,
        sqs: SQSClient | None = None,
        concurrency: int = 1,
    ) -> None:
        self.function = function
        self.source = source
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.visibility_override = visibility_override
        self.wait_seconds = wait_seconds
        self.region = region
        self._sqs = sqs
        self._stopping = threading.Event()
        self._client_lock = threading.Lock()
        self._threads = [
            threading.Thread(
                target=self._run, name=f"pump-{function.logical_id}-{source.queue}-{i}", daemon=True
            )
            for i in range(max(1, concurrency))
        ]

    @property
    def sqs(self) -> SQSClient:
        with self._client_lock:  # boto3 clients are thread-safe once made; making one is not
            if self._sqs is None:
                self._sqs = boto3.client("sqs", region_name=self.region)
            return self._sqs

    def describe(self) -> str:
        pollers = f", {len(self._threads)} pollers" if len(self._threads) > 1 else ""
        return f"{self.function.logical_id} <- {self.source.queue} (batch {self.source.batch_size}{pollers})"

    def poll_once(self) -> BatchOutcome:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(self.source.batch_size, 10),
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return BatchOutcome(0, 0, 0)
        ids = [m["MessageId"] for m in messages]
        raised = False
        try:
            result = self.function.invoke(build_sqs_event(messages, self.queue_arn, self.region))
            failed = failed_message_ids(result, ids, self.source.report_batch_item_failures)
        except Exception as error:
            report_failure(self.function, error)
            failed, raised = set(ids), True
        succeeded = [m for m in messages if m["MessageId"] not in failed]
        self._delete(succeeded)
        self._hasten_retry([m for m in messages if m["MessageId"] in failed])
        outcome = BatchOutcome(len(messages), len(succeeded), len(failed), raised)
        print(
            f"[pump] {self.function.logical_id} <- {self.source.queue}: {outcome.received} message(s), "
            f"{outcome.failed} failed" + (" (invocation raised)" if raised else ""),
            flush=True,
        )
        return outcome

    def _delete(self, messages: list[MessageTypeDef]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )

    def _hasten_retry(self, failed: list[MessageTypeDef]) -> None:
        if self.visibility_override is None or not failed:
            return
        for start in range(0, len(failed), 10):
            chunk = failed[start : start + 10]
            self.sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {
                        "Id": str(i),
                        "ReceiptHandle": m["ReceiptHandle"],
                        "VisibilityTimeout": self.visibility_override,
                    }
                    for i, m in enumerate(chunk)
                ],
            )

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def request_stop(self) -> None:
        """Stop after the current poll or invocation (lets several pumps wind down at once)."""
        self._stopping.set()

    def stop(self, timeout: float = 5) -> bool:
        """Stop and wait; False if an invocation is still running after `timeout` seconds."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    def _run(self) -> None:
        reported = False
        while not self._stopping.is_set():
            try:
                self.poll_once()
                reported = False
            except Exception as error:
                if self._stopping.is_set():
                    return
                if not reported:  # one line per outage, not one per second
                    print(f"[pump] {self.describe()}: polling failed: {error!r}", file=sys.stderr, flush=True)
                    reported = True
                time.sleep(1)
