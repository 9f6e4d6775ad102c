"""The synchronous opens/clicks listing, shared by the canonical route and dialects.

The cursor handed out carries everything the next page needs (the reader's
position, the `created_since` bound, the campaign and activity), so a client may
follow it alone, and a cursor for one listing cannot page another.
"""

from __future__ import annotations

from datetime import datetime

from mailexports import opaque
from mailexports.errors import NotFound, ValidationFailed
from mailexports.marketing.reader import MarketingReader
from mailexports.marketing.records import iso_ms
from mailexports.marketing.tracking_listing import MAX_LIMIT
from mailexports.marketing.views import TrackingPage

__all__ = ["ACTIVITIES", "MAX_LIMIT", "tracking_page"]

ACTIVITIES = {"opens": "open", "clicks": "click"}


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed(
        "invalid cursor", [{"field": "cursor", "issue": "not a cursor this listing issued"}]
    )


def _decode(cursor: str) -> dict[str, str | None]:
    try:
        payload = opaque.decode_json(cursor)
    except ValueError:
        raise _bad_cursor() from None
    if not isinstance(payload, dict) or not isinstance(payload.get("r"), str):
        raise _bad_cursor()
    return payload


def tracking_page(
    tenant_id: str,
    campaign_id: str,
    activity: str,
    *,
    created_since: datetime | None = None,
    limit: int = MAX_LIMIT,
    cursor: str | None = None,
) -> TrackingPage:
    """`activity` is `opens` or `clicks`. Unknown campaigns are 404."""
    if activity not in ACTIVITIES:
        raise NotFound(f"no tracking listing {activity!r}; use opens or clicks")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(
            f"limit must be between 1 and {MAX_LIMIT}", [{"field": "limit", "issue": f"got {limit}"}]
        )
    reader = MarketingReader(tenant_id)
    if reader.campaign(campaign_id) is None:
        raise NotFound(f"no campaign {campaign_id}")
    position = None
    if cursor is not None:
        payload = _decode(cursor)
        if payload.get("c") != campaign_id or payload.get("a") != activity:
            raise _bad_cursor()
        position = payload["r"]
        since_text = payload.get("s")
        created_since = datetime.fromisoformat(since_text) if since_text else None
    page = reader.tracking_page(
        campaign_id, ACTIVITIES[activity], created_since=created_since, limit=limit, cursor=position
    )
    if page.next_cursor is not None:
        since = iso_ms(created_since) if created_since else None
        wrapped = opaque.encode_json({"r": page.next_cursor, "s": since, "c": campaign_id, "a": activity})
        page = page.model_copy(update={"next_cursor": wrapped})
    return page
