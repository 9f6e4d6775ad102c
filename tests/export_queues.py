"""Working the worker's two queues in tests, as their event sources would."""

from __future__ import annotations

from collections.abc import Callable

import boto3

from mailexports.config import Settings


def drain_export_queues(settings: Settings, handle: Callable[[str], object]) -> list[str]:
    """Work every message of ExportQueue and SliceQueue until both are empty, a task's own
    messages before its slices'; returns the bodies in the order they were worked."""
    sqs, seen = boto3.client("sqs"), list[str]()
    while True:
        for url in (settings.export_queue_url, settings.slice_queue_url):
            if messages := sqs.receive_message(QueueUrl=url).get("Messages"):
                break
        else:
            return seen
        seen.append(messages[0]["Body"])
        sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
        handle(messages[0]["Body"])
