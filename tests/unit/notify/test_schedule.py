"""Retry timing: backoff with equal jitter, the 24-hour horizon, SQS hops, Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from mailexports.notify.schedule import (
    MAX_SQS_DELAY_SECONDS,
    RetrySchedule,
    parse_retry_after,
    sqs_delay_seconds,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def test_ceilings_double_from_the_base_up_to_the_cap() -> None:
    schedule = RetrySchedule(base=timedelta(seconds=30), cap=timedelta(hours=4))
    assert [schedule.ceiling(n).total_seconds() for n in range(1, 12)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3840,
        7680,
        14400,
        14400,
    ]
    assert schedule.ceiling(10_000) == timedelta(hours=4)


def test_equal_jitter_stays_between_half_and_all_of_the_ceiling_and_varies() -> None:
    schedule = RetrySchedule(rng=random.Random(7))
    for failures in (1, 3, 8, 20):
        top = schedule.ceiling(failures)
        waits = [schedule.backoff(failures) for _ in range(500)]
        assert all(top / 2 <= w <= top for w in waits)
        assert len(set(waits)) > 400  # jittered, not one fixed value
        assert min(waits) < top * 0.55
        assert max(waits) > top * 0.95


def test_the_horizon_is_measured_from_the_first_attempt() -> None:
    schedule = RetrySchedule(horizon=timedelta(hours=24))
    assert not schedule.exhausted(NOW, NOW + timedelta(hours=23, minutes=59))
    assert schedule.exhausted(NOW, NOW + timedelta(hours=24))


def test_retry_after_wins_when_later_than_the_backoff_and_is_capped_at_a_day() -> None:
    schedule = RetrySchedule(base=timedelta(seconds=30), rng=random.Random(1))
    assert schedule.next_attempt_at(NOW, 1, timedelta(seconds=600)) == NOW + timedelta(seconds=600)
    soon = schedule.next_attempt_at(NOW, 1, timedelta(seconds=1))
    assert NOW + timedelta(seconds=15) <= soon <= NOW + timedelta(seconds=30)  # never sooner than the backoff
    assert schedule.next_attempt_at(NOW, 1, timedelta(days=30)) == NOW + timedelta(hours=24)


@pytest.mark.parametrize(
    ("wait", "hop"),
    [(-5, 0), (0, 0), (0.2, 1), (30, 30), (900, 900), (901, 900), (7200, 900)],
)
def test_sqs_hops_never_exceed_fifteen_minutes(wait: float, hop: int) -> None:
    assert sqs_delay_seconds(NOW, NOW + timedelta(seconds=wait)) == hop
    assert hop <= MAX_SQS_DELAY_SECONDS


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", timedelta(seconds=120)),
        (" 0 ", timedelta(0)),
        (format_datetime(NOW + timedelta(minutes=10), usegmt=True), timedelta(minutes=10)),
        (format_datetime(NOW - timedelta(minutes=10), usegmt=True), timedelta(0)),  # already past
        ("Wed, 21 Oct 2015 07:28:00", None),  # no zone: not an HTTP-date
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_as_seconds_or_http_date(header: str | None, expected: timedelta | None) -> None:
    assert parse_retry_after(header, NOW) == expected
