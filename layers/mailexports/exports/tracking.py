"""The synchronous opens/clicks listing, shared by the canonical route and dialects.

The cursor handed out carries everything the next page needs (the reader's
position, the `created_since` bound, the campaign and activity), so a client may
follow it alone, and a cursor for one listing cannot page another. Query
parameters are checked here, each failure naming its parameter; the data layer
(marketing/tracking_listing.py) trusts what it is given.

`keep_url` lists only the clicks whose URL it keeps (a dialect's per-link listing).
There is no index by URL, so such a page reads the clicks in order and may end after
FILTER_BUDGET of them with fewer than `limit` (or none) and a cursor to go on from;
the cursor does not carry the filter, so the caller binds it to its own token.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from mailexports import opaque
from mailexports.errors import NotFound, ValidationFailed
from mailexports.marketing.reader import MarketingReader
from mailexports.marketing.tracking_listing import FILTER_BUDGET, MAX_LIMIT
from mailexports.marketing.views import TrackingEvent, TrackingPage
from mailexports.marketing.vocabulary import iso_ms

__all__ = ["ACTIVITIES", "FILTER_BUDGET", "MAX_LIMIT", "decode_position", "encode_position", "tracking_page"]

ACTIVITIES = {"opens": "open", "clicks": "click"}
# The reader's position (a gsi1sk, `{at}#{event_id}`), unpadded URL-safe base64 in the cursor.
_POSITION_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,2048}")
_POSITION = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z#.+", re.DOTALL)


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


def _since(text: str | None) -> datetime | None:
    """The `created_since` a cursor carries (aware, as it was written)."""
    if not text:
        return None
    try:
        since = datetime.fromisoformat(text)
    except ValueError:
        raise _bad_cursor() from None
    if since.tzinfo is None:
        raise _bad_cursor()
    return since


def encode_position(gsi1sk: str) -> str:
    return opaque.b64encode(gsi1sk.encode())


def decode_position(token: object) -> str:
    """The gsi1sk a cursor's position stands for; anything else is the client's mistake."""
    if not isinstance(token, str) or not _POSITION_TOKEN.fullmatch(token):
        raise _bad_cursor()
    try:
        text = opaque.b64decode(token).decode()
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise _bad_cursor() from None
    if not _POSITION.fullmatch(text):
        raise _bad_cursor()
    return text


def _by_url(keep_url: Callable[[str], bool]) -> Callable[[TrackingEvent], bool]:
    def keep(event: TrackingEvent) -> bool:
        return event.url is not None and keep_url(event.url)

    return keep


def tracking_page(
    tenant_id: str,
    campaign_id: str,
    activity: str,
    *,
    created_since: datetime | None = None,
    limit: int = MAX_LIMIT,
    cursor: str | None = None,
    keep_url: Callable[[str], bool] | None = None,
    budget: int = FILTER_BUDGET,
) -> TrackingPage:
    """`activity` is `opens` or `clicks`. Unknown campaigns are 404. `keep_url` (clicks
    only) keeps the clicks whose URL it accepts, reading at most `budget` clicks."""
    if activity not in ACTIVITIES:
        raise NotFound(f"no tracking listing {activity!r}; use opens or clicks")
    if keep_url is not None and activity != "clicks":
        raise ValueError("only clicks have a URL to filter by")  # a caller's bug, not a client's
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
        position = decode_position(payload["r"])
        created_since = _since(payload.get("s"))
    keep = _by_url(keep_url) if keep_url is not None else None
    page = reader.tracking_page(
        campaign_id,
        ACTIVITIES[activity],
        created_since=created_since,
        limit=limit,
        cursor=position,
        keep=keep,
        budget=budget,
    )
    if page.next_cursor is not None:
        since = iso_ms(created_since) if created_since else None
        next_position = encode_position(page.next_cursor)
        wrapped = opaque.encode_json({"r": next_position, "s": since, "c": campaign_id, "a": activity})
        page = page.model_copy(update={"next_cursor": wrapped})
    return page
