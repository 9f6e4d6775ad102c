"""Access pattern: the tracking listing, one page of a campaign's opens (or clicks),
newest first, from the gsi1 shards merged."""

from __future__ import annotations

import heapq
import itertools
from datetime import datetime
from operator import itemgetter
from typing import Any, Final, NamedTuple

from mailexports.marketing import arguments, codec, keys
from mailexports.marketing.codec import WireItem
from mailexports.marketing.shards import ShardReader, with_pk
from mailexports.marketing.views import TrackingEvent, TrackingPage

MAX_LIMIT: Final = 500  # the most events one page lists, whatever the API asking (checked by the caller)


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
) -> TrackingPage:
    """One page of a campaign's opens (or clicks), newest first, `created_since`
    inclusive. `next_cursor` is the position (gsi1sk) of the page's last event, None
    on the last page; passed back as `after` it fetches the following page, and
    across pages every event appears exactly once. The position is trusted: the
    caller decodes and checks the cursor its client sent (exports/tracking.py).

    Each shard is read newest first (gsi1, ScanIndexForward=False) in small pages
    (about limit/shards, plus slack) and the shards are merged; a shard that runs
    dry before the page is full is read further. Taking limit + 1 tells whether a
    next page exists.
    """
    activity = arguments.activity(activity)
    arguments.identifier(campaign_id, "campaign_id")
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
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
        next_cursor=rows[-1].gsi1sk if more else None,
    )
