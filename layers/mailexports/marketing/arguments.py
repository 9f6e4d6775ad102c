"""Checks of the readers' arguments, each failure naming the argument (ValidationFailed).

The exports pass parameters their request models already validated; these checks
keep a direct caller (a listing, a test, the bench) from querying with a naive
time or an empty id, which would silently read the wrong keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from mailexports.emails import email_problem
from mailexports.errors import ValidationFailed
from mailexports.marketing.keys import SHARDS
from mailexports.marketing.vocabulary import EventType, iso_ms

ENGAGEMENT: Final = frozenset({EventType.OPEN.value, EventType.CLICK.value})


def utc(value: datetime | None, field: str) -> str | None:
    """`value` in the store's spelling; a naive datetime is refused (which zone would it be?)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValidationFailed(
            f"{field} must carry a time zone", [{"field": field, "issue": "naive datetime"}]
        )
    return iso_ms(value)


def identifier(value: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(f"{field} is required", [{"field": field, "issue": "empty"}])
    return value


def activity(value: str) -> str:
    if value not in ENGAGEMENT:
        raise ValidationFailed(
            f"activity must be 'open' or 'click', not {value!r}",
            [{"field": "activity", "issue": "unknown activity"}],
        )
    return str(value)


def email(value: str) -> str:
    """The address as the store keys it (trimmed, lower case)."""
    address = value.strip().lower() if isinstance(value, str) else ""
    if email_problem(address):
        raise ValidationFailed(
            "email is not an email address", [{"field": "email", "issue": "not an email address"}]
        )
    return address


def shards(value: Sequence[int] | None) -> tuple[int, ...]:
    """The shards a read covers, ascending: all of them (None), or a slice's subset."""
    if value is None:
        return tuple(range(SHARDS))
    chosen = tuple(sorted(set(value)))
    if not chosen or not all(0 <= shard < SHARDS for shard in chosen):
        raise ValidationFailed(
            f"shards must be a non-empty subset of 0..{SHARDS - 1}",
            [{"field": "shards", "issue": f"got {list(value)}"}],
        )
    return chosen
