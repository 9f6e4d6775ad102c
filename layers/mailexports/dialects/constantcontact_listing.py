"""Constant Contact v2 (seed 004): the listing's parameters and rows in the vendor's shape,
shared by its two routes (constantcontact.py): the campaign's opens or clicks, and the
clicks of one link.

`next` is an opaque token holding the tracking listing's cursor, the page size and,
for one link's clicks, the link id: a token only pages the listing that handed it out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from mailexports import opaque
from mailexports.errors import ValidationFailed
from mailexports.exports import tracking
from mailexports.marketing.views import TrackingEvent

# The vendor's own path of the listing, which next_link carries (see constantcontact.py).
VENDOR_PREFIX = "/v2/emailmarketing/campaigns"
# ASCII digits only (`\d` would also take other scripts' digits, which no id has).
_LINK_ID = re.compile(r"[0-9]+")


def accepts_json(accept: str | None) -> bool:
    """Whether an Accept header allows application/json (no header allows anything)."""
    if accept is None or not accept.strip():
        return True
    for media_range in accept.split(","):
        kind, *parameters = (part.strip().lower() for part in media_range.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0 and kind in ("application/json", "application/*", "*/*"):
            return True
    return False


def page_limit(raw: str | None, default: int) -> int:
    if raw is None or raw.strip() == "":
        return default
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= tracking.MAX_LIMIT:
        raise ValidationFailed(
            f"The limit parameter must be an integer from 1 to {tracking.MAX_LIMIT}.",
            [{"field": "limit", "issue": f"got {raw!r}"}],
        )
    return limit


def link_id(campaign_id: str, url: str) -> str:
    """A stable id for one link of one campaign: 52 bits of SHA-256 over both, in decimal
    (the vendor's ids are numeric strings; 52 bits stay exact in a JavaScript number)."""
    digest = hashlib.sha256(f"{campaign_id}\n{url}".encode()).digest()
    return str(int.from_bytes(digest[:8], "big") >> 12)


def requested_link(raw: str) -> str:
    """The link id a path names, as `link_id` spells ids (no leading zeros: the vendor's
    ids are numbers). Anything but digits is the client's mistake; digits no click has
    are simply a link without clicks."""
    if not _LINK_ID.fullmatch(raw):
        raise ValidationFailed(
            "The link_id (linkId path parameter) must be a link id: digits only, "
            "as in the link_id of each click.",
            [{"field": "linkId", "issue": "not digits"}],
        )
    return raw.lstrip("0") or "0"


def clicks_on(campaign_id: str, link: str) -> Callable[[str], bool]:
    """Whether a click's URL is that link's. There is no index by link (SES click events
    carry only the URL), so the listing hashes the URL of each click it reads."""

    def keep(url: str) -> bool:
        return link_id(campaign_id, url) == link

    return keep


def encode_next(cursor: str, limit: int, link: str | None) -> str:
    payload: dict[str, Any] = {"c": cursor, "l": limit}
    if link is not None:
        payload["k"] = link
    return opaque.encode_json(payload)


def bad_next() -> ValidationFailed:
    return ValidationFailed(
        "the next parameter is not one this listing handed out",
        [{"field": "next", "issue": "invalid"}],
    )


def decode_next(token: str, link: str | None) -> tuple[str, int]:
    """The cursor and page size a `next` holds, if this listing (this link's, or the
    campaign's) handed it out."""
    try:
        payload = opaque.decode_json(token)
        cursor, limit = payload["c"], payload["l"]
    except (ValueError, KeyError, TypeError):
        raise bad_next() from None
    if not isinstance(cursor, str) or not isinstance(limit, int) or payload.get("k") != link:
        raise bad_next()
    return cursor, limit


def next_link(campaign_id: str, activity: str, link: str | None, token: str) -> str:
    """The vendor's own path of the following page (no /constantcontact, no stage)."""
    listing = f"{VENDOR_PREFIX}/{quote(campaign_id, safe='')}/tracking/{activity}"
    if link is not None:
        listing += f"/{link}"
    return f"{listing}?next={token}"


def result(item: TrackingEvent, activity: str) -> dict[str, Any]:
    """One row, with exactly Constant Contact's fields for the activity."""
    row: dict[str, Any] = {
        "activity_type": "EMAIL_OPEN" if activity == "opens" else "EMAIL_CLICK",
        "campaign_id": item.campaign_id,
        "contact_id": item.contact_id,
        "email_address": item.email,
    }
    at = item.model_dump(mode="json")["at"]
    if activity == "opens":
        row["open_date"] = at
    else:
        row["link_id"] = link_id(item.campaign_id, item.url) if item.url is not None else None
        row["link_uri"] = item.url
        row["click_date"] = at
    return row
