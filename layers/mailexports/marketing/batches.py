"""BatchGetItem and BatchWriteItem with their unprocessed keys and items sent again.

botocore's retry mode (configured once in `mailexports.aws`) repeats throttled
requests, but a batch that succeeds while leaving part of its work unprocessed is
not an error to botocore: that part is re-sent here, with jittered exponential
backoff, until done or `attempts` requests were made.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Final

from mailexports.marketing.codec import WireItem

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_GET_KEYS: Final = 100  # BatchGetItem's per-request maximum
BATCH_WRITE_ITEMS: Final = 25  # BatchWriteItem's per-request maximum


class BatchIncomplete(RuntimeError):
    """DynamoDB kept part of a batch unprocessed after every attempt (sustained throttling)."""


def batched[T](rows: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of `size` (the last one shorter), drawn lazily."""
    for chunk in itertools.batched(rows, size, strict=False):
        yield list(chunk)


def back_off(attempt: int) -> None:
    """Sleep before re-sending (exponential, full jitter, at most 5 s)."""
    time.sleep(random.uniform(0, min(5.0, 0.05 * 2**attempt)))


def batch_get(
    db: DynamoDBClient, table: str, request: dict[str, Any], *, attempts: int
) -> tuple[list[WireItem], int]:
    """Every item of one BatchGetItem request (`Keys` <= 100, with its projection) and the
    number of requests it took."""
    pending: Any = {table: request}
    found: list[WireItem] = []
    for attempt in range(attempts):
        response = db.batch_get_item(RequestItems=pending)
        found.extend(response.get("Responses", {}).get(table, []))
        unprocessed = response.get("UnprocessedKeys", {}).get(table)
        if not unprocessed or not unprocessed.get("Keys"):
            return found, attempt + 1
        pending = {table: unprocessed}
        if attempt + 1 < attempts:
            back_off(attempt)
    raise BatchIncomplete(
        f"BatchGetItem kept leaving {len(pending[table]['Keys'])} keys unprocessed after {attempts} attempts"
    )


def batch_write(db: DynamoDBClient, table: str, requests: list[dict[str, Any]], *, attempts: int) -> int:
    """Write up to 25 put/delete requests; returns how many times unprocessed ones were re-sent."""
    pending: Any = {table: requests}
    for attempt in range(attempts):
        response = db.batch_write_item(RequestItems=pending)
        pending = response.get("UnprocessedItems") or None
        if not pending:
            return attempt
        if attempt + 1 < attempts:
            back_off(attempt)
    raise BatchIncomplete(f"BatchWriteItem kept leaving items unprocessed after {attempts} attempts")
