"""Per-tenant submit rate: a token bucket in the Limits table (`rate#<tenant>`).

The bucket holds at most `submit_burst` tokens and refills at `submit_rate_per_second`;
each submit takes one, and an empty bucket is `RateLimited` with the seconds until the
next token. DynamoDB has no `min` in update expressions, so a submit reads the bucket
and writes it back under the version it read (optimistic concurrency): of two
concurrent submits exactly one write wins, and the other reads again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from mailexports import aws
from mailexports.conditional_writes import condition_held
from mailexports.config import Settings, get_settings
from mailexports.errors import RateLimited

# Concurrent submits of one tenant that lose the write race read again this many times.
_ATTEMPTS = 5


def bucket_key(tenant_id: str) -> str:
    return f"rate#{tenant_id}"


def wall_clock() -> float:
    """The buckets' clock (seconds); the dialect tests freeze it to read an exact Retry-After."""
    return time.time()


class SubmitRate:
    def __init__(self, settings: Settings | None = None, clock: Callable[[], float] | None = None) -> None:
        self._settings = settings or get_settings()
        self._clock = clock or wall_clock
        self._table = aws.dynamodb_resource().Table(self._settings.limits_table)

    def take(self, tenant_id: str) -> None:
        """Spend one of the tenant's tokens, or raise RateLimited saying when to retry."""
        rate, burst = self._settings.submit_rate_per_second, self._settings.submit_burst
        key = bucket_key(tenant_id)
        for _ in range(_ATTEMPTS):
            item: dict[str, Any] | None = self._table.get_item(Key={"pk": key}, ConsistentRead=True).get(
                "Item"
            )
            moment = self._clock()
            if item is None:
                tokens, version = float(burst), 0
            else:
                elapsed = max(0.0, moment - float(item["at"]))
                tokens, version = min(float(burst), float(item["tokens"]) + elapsed * rate), int(item["v"])
            if tokens < 1:
                wait = math.ceil((1 - tokens) / rate)
                raise RateLimited(
                    f"too many exports submitted; at most {burst} at once and {rate:g} a second "
                    f"after that. Retry in {wait} s",
                    retry_after=wait,
                )
            if self._write(key, tokens - 1, moment, version, idle=burst / rate):
                return
        raise RateLimited("too many exports submitted at the same moment; retry shortly", retry_after=1)

    def _write(self, key: str, tokens: float, moment: float, version: int, *, idle: float) -> bool:
        item: dict[str, Any] = {
            "pk": key,
            "tokens": Decimal(f"{tokens:.6f}"),
            "at": Decimal(f"{moment:.6f}"),
            "v": version + 1,
            # A bucket idle this long is full again anyway: let TTL remove it.
            "ttl": int(moment + idle) + 3600,
        }
        condition = "attribute_not_exists(pk)" if version == 0 else "#v = :v"
        values: dict[str, Any] = (
            {}
            if version == 0
            else {"ExpressionAttributeNames": {"#v": "v"}, "ExpressionAttributeValues": {":v": version}}
        )
        return condition_held(
            lambda: self._table.put_item(Item=item, ConditionExpression=condition, **values)
        )
