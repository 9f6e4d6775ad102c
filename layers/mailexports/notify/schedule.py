"""When to try a failed notification again.

Exponential backoff with equal jitter: after the n-th failed attempt the next
waits between half and all of min(cap, base * 2**(n-1)), so retries spread out
without ever bunching at zero. Retries go on until at least `horizon` (24 h)
has passed since the first attempt. SQS delays stop at 15 minutes, so a longer
wait is a chain of messages, each carrying the `not_before` time it waits for.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

MAX_SQS_DELAY_SECONDS = 900
# A Retry-After longer than this is treated as this long (the receiver still gets retried).
MAX_RETRY_AFTER = timedelta(hours=24)


@dataclass
class RetrySchedule:
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=4)
    horizon: timedelta = timedelta(hours=24)
    rng: random.Random = field(default_factory=random.Random)

    def ceiling(self, failures: int) -> timedelta:
        """The longest wait after `failures` failed attempts (before jitter)."""
        exponent = min(max(failures, 1) - 1, 32)  # 2**32 * base is far past any cap
        return min(self.cap, self.base * (1 << exponent))

    def backoff(self, failures: int) -> timedelta:
        """A wait in [ceiling/2, ceiling] (equal jitter)."""
        top = self.ceiling(failures)
        return top / 2 + top / 2 * self.rng.random()

    def exhausted(self, first_attempt_at: datetime, now: datetime) -> bool:
        """True once the retries have covered the horizon: the last attempt was at or
        after first + horizon, so no more are scheduled."""
        return now - first_attempt_at >= self.horizon

    def next_attempt_at(self, now: datetime, failures: int, retry_after: timedelta | None = None) -> datetime:
        """When to try again: the backoff, or the receiver's Retry-After if that is later."""
        wait = self.backoff(failures)
        if retry_after is not None:
            wait = max(wait, min(retry_after, MAX_RETRY_AFTER))
        return now + wait


def sqs_delay_seconds(now: datetime, not_before: datetime) -> int:
    """The DelaySeconds of the next hop towards `not_before` (0 when it has come)."""
    remaining = (not_before - now).total_seconds()
    if remaining <= 0:
        return 0
    return min(MAX_SQS_DELAY_SECONDS, math.ceil(remaining))


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Retry-After as delta-seconds or an HTTP-date; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return timedelta(seconds=int(text))
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # an HTTP-date is always GMT
        return None
    return max(moment - now, timedelta(0))
