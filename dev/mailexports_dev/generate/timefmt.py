"""Timestamps spelled from epoch milliseconds without building datetimes (the hot path)."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta

DAY_MS = 86_400_000
_EPOCH = date(1970, 1, 1)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # fmt: skip

# Lookup tables for the clock part of a timestamp.
_ISO_MINUTES = tuple(f"T{h:02d}:{m:02d}:" for h in range(24) for m in range(60))
_ISO_SECONDS = tuple(f"{second:02d}." for second in range(60))
_ISO_MILLIS = tuple(f"{milli:03d}Z" for milli in range(1000))
_CLOCK_MINUTES = tuple(minute.removeprefix("T") for minute in _ISO_MINUTES)


@functools.lru_cache(maxsize=4096)
def _iso_day(day: int) -> str:
    return (_EPOCH + timedelta(days=day)).isoformat()


def iso_ms(ms: int) -> str:
    """`records.iso_ms` of epoch milliseconds, without building a datetime."""
    day, rest = divmod(ms, DAY_MS)
    minute, rest = divmod(rest, 60_000)
    second, milli = divmod(rest, 1000)
    return _iso_day(day) + _ISO_MINUTES[minute] + _ISO_SECONDS[second] + _ISO_MILLIS[milli]


@functools.lru_cache(maxsize=4096)
def _rfc5322_day(day: int) -> str:
    d = _EPOCH + timedelta(days=day)
    return f"{_WEEKDAYS[d.weekday()]}, {d.day:02d} {_MONTHS[d.month - 1]} {d.year} "


def rfc5322(ms: int) -> str:
    """The `Date:` header spelling of epoch milliseconds (RFC 5322, UTC)."""
    day, rest = divmod(ms, DAY_MS)
    return f"{_rfc5322_day(day)}{_CLOCK_MINUTES[rest // 60_000]}{rest // 1000 % 60:02d} +0000"


def epoch_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1000
