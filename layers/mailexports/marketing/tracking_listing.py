"""Access pattern: the tracking listing, one page of a campaign's opens (or clicks),
newest first, from the gsi1 shards merged."""

from __future__ import annotations

import heapq
import itertools
import re
from datetime import datetime
from operator import itemgetter
from typing import Any, Final, NamedTuple

from mailexports import opaque
from mailexports.errors import ValidationFailed
from mailexports.marketing import arguments, codec, keys
from mailexports.marketing.codec import WireItem
from mailexports.marketing.shards import ShardReader, with_pk
from mailexports.marketing.views import TrackingEvent, TrackingPage

MAX_LIMIT: Final = 500  # the most events one page lists, whatever the API asking
_CURSOR_TEXT = re.compile(r"[A-Za-z0-9_-]{1,2048}")  # unpadded URL-safe base64, as opaque.py writes
_CURSOR_KEY = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z#.+", re.DOTALL)


class _TrackingRow(NamedTuple):
    gsi1sk: str
    event: TrackingEvent


def _tracking_row(item: WireItem) -> _TrackingRow:
    return _TrackingRow(
        codec.required(item, "gsi1sk"),
        TrackingEvent(
            event_id=codec.required(item, "event_id"),
            campaign_id=codec.required(item, "campaign_id"),
            stat_id=codec.required(item, "stat_id"),
            contact_id=codec.required(item, "contact_id"),
            email=codec.required(item, "email"),
            at=codec.required(item, "at"),
            url=codec.string(item, "url"),
            ip=codec.string(item, "ip"),
            user_agent=codec.string(item, "user_agent"),
        ),
    )


def encode_cursor(gsi1sk: str) -> str:
    return opaque.b64encode(gsi1sk.encode())


def decode_cursor(cursor: str) -> str:
    """The gsi1sk a tracking cursor stands for; anything else is the caller's mistake."""
    problem = ValidationFailed(
        "cursor is not a cursor this listing returned",
        [{"field": "cursor", "issue": "invalid cursor"}],
    )
    if not isinstance(cursor, str) or not _CURSOR_TEXT.fullmatch(cursor):
        raise problem
    try:
        text = opaque.b64decode(cursor).decode()
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise problem from None
    if not _CURSOR_KEY.fullmatch(text):
        raise problem
    return text


def tracking_page(
    reader: ShardReader,
    campaign_id: str,
    activity: str,
    *,
    created_since: datetime | None = None,
    limit: int = MAX_LIMIT,
    cursor: str | None = None,
) -> TrackingPage:
    """One page of a campaign's opens (or clicks), newest first, `created_since`
    inclusive. `next_cursor` (opaque) fetches the following page and is None on
    the last one; across pages every event appears exactly once.

    Each shard is read newest first (gsi1, ScanIndexForward=False) in small pages
    (about limit/shards, plus slack) and the shards are merged; a shard that runs
    dry before the page is full is read further. Taking limit + 1 tells whether a
    next page exists.
    """
    activity = arguments.activity(activity)
    arguments.identifier(campaign_id, "campaign_id")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(
            f"limit must be between 1 and {MAX_LIMIT}", [{"field": "limit", "issue": f"got {limit!r}"}]
        )
    since = arguments.utc(created_since, "created_since")
    before = decode_cursor(cursor) if cursor is not None else None
    values: dict[str, Any] = {}
    key_condition = "gsi1pk = :pk"
    if since is not None and before is not None:
        if since > before:
            return TrackingPage(items=[], next_cursor=None)
        # BETWEEN is inclusive; the cursor's own event is dropped below.
        values |= {":since": {"S": since}, ":before": {"S": before}}
        key_condition += " AND gsi1sk BETWEEN :since AND :before"
    elif since is not None:
        values[":since"] = {"S": since}
        key_condition += " AND gsi1sk >= :since"
    elif before is not None:
        values[":before"] = {"S": before}
        key_condition += " AND gsi1sk < :before"
    projection, names = codec.projection(
        "gsi1sk", "event_id", "campaign_id", "stat_id", "contact_id", "email", "at", "url", "ip", "user_agent"
    )
    per_shard = min(limit + 1, -(-(limit + 1) * 3 // (2 * keys.SHARDS)) + 2)
    request = {
        "IndexName": "gsi1",
        "KeyConditionExpression": key_condition,
        "ProjectionExpression": projection,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
        "Limit": per_shard,
    }
    with reader.workers() as pool:
        shards = [
            (
                row
                for row in reader.rows(
                    pool,
                    with_pk(request, keys.tracking_gsi1pk(reader.tenant, campaign_id, activity, shard)),
                    _tracking_row,
                    prefetch=False,
                )
                if row.gsi1sk != before
            )
            for shard in range(keys.SHARDS)
        ]
        rows = list(itertools.islice(heapq.merge(*shards, key=itemgetter(0), reverse=True), limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return TrackingPage(
        items=[row.event for row in rows],
        next_cursor=encode_cursor(rows[-1].gsi1sk) if more else None,
    )
