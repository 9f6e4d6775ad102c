"""Access pattern: the tracking listing, one page of a campaign's opens (or clicks),
newest first, from the gsi1 shards merged; optionally only the events a filter keeps.

A filtered page (`keep`) has no index to read by: it reads the listing in order and
keeps what the filter keeps. So that a rare match on a huge campaign never makes one
request read the whole campaign, a filtered page reads at most `budget` events past
its cursor (FILTER_BUDGET, four unfiltered pages' worth); when the budget runs out
before the listing does, the page ends early, possibly with fewer than `limit` events
or none, and its cursor is the last event it read, so the next page goes on from there.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from datetime import datetime
from operator import itemgetter
from typing import Any, Final, NamedTuple

from mailexports.marketing import arguments, codec, keys
from mailexports.marketing.codec import WireItem
from mailexports.marketing.shards import ShardReader, with_pk
from mailexports.marketing.views import TrackingEvent, TrackingPage

MAX_LIMIT: Final = 500  # the most events one page lists, whatever the API asking (checked by the caller)
# The most events a filtered page reads past its cursor (see the module's doc).
FILTER_BUDGET: Final = 4 * MAX_LIMIT

Keep = Callable[[TrackingEvent], bool]


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


def tracking_page(
    reader: ShardReader,
    campaign_id: str,
    activity: str,
    *,
    created_since: datetime | None = None,
    limit: int = MAX_LIMIT,
    after: str | None = None,
    keep: Keep | None = None,
    budget: int = FILTER_BUDGET,
) -> TrackingPage:
    """One page of a campaign's opens (or clicks), newest first, `created_since`
    inclusive; with `keep`, only the events it keeps, reading at most `budget` events.
    `next_cursor` is the position (gsi1sk) of the last event the page read, None on
    the last page; passed back as `after` it fetches the following page, and across
    pages every event appears exactly once. The position is trusted: the caller
    decodes and checks the cursor its client sent (exports/tracking.py).

    Each shard is read newest first (gsi1, ScanIndexForward=False) in small pages
    (about limit/shards, plus slack; a filtered page, about budget/shards/2) and the
    shards are merged; a shard that runs dry before the page is done is read
    further. Looking at one event past the page tells whether a next page exists.
    """
    activity = arguments.activity(activity)
    arguments.identifier(campaign_id, "campaign_id")
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    if budget < 1:
        raise ValueError(f"budget must be at least 1, not {budget}")
    since = arguments.utc(created_since, "created_since")
    before = after
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
    if keep is not None:
        # Sized for the budget, not the limit: a rare match reads the whole budget, and
        # at the limit's size that would be a query per few events. DynamoDB then reads
        # at most the budget plus one unread page per shard.
        per_shard = max(per_shard, -(-budget // (2 * keys.SHARDS)))
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
        merged = heapq.merge(*shards, key=itemgetter(0), reverse=True)
        return _page(merged, limit, keep, budget if keep is not None else None)


def _page(rows: Iterable[_TrackingRow], limit: int, keep: Keep | None, budget: int | None) -> TrackingPage:
    """Up to `limit` kept events from the merged rows. The page stops before a row it
    would keep once it is full, or before any row once it has read `budget` rows: either
    way a row is left, so the cursor (the last row read) leads to more. Running out of
    rows is the last page."""
    items: list[TrackingEvent] = []
    last: str | None = None
    for read, row in enumerate(rows):  # `read` rows came before this one
        kept = keep is None or keep(row.event)
        if (kept and len(items) == limit) or (budget is not None and read >= budget):
            return TrackingPage(items=items, next_cursor=last)
        last = row.gsi1sk
        if kept:
            items.append(row.event)
    return TrackingPage(items=items, next_cursor=None)
