"""Constant Contact v2 (seed 004): `GET /constantcontact/v2/emailmarketing/campaigns/
{campaignId}/tracking/opens` (and `/clicks`).

A synchronous listing over the same tracking reader as the canonical route: newest
first, `created_since` (ISO-8601, inclusive), `limit` 1-500 (default 500).
`meta.pagination.next_link` is the vendor's own path, `/v2/emailmarketing/campaigns/
{id}/tracking/opens?next=...`, with no `/constantcontact` or stage prefix: the vendor's
SDKs resolve it against the base URL they were given (the Python SDK keeps what follows
`/v2/` and puts its base URL before it). `next` is opaque and holds the position,
`created_since` and `limit`; the last page has no `next_link`.

Credentials: the tenant's key as the `api_key` parameter or as `Authorization: Bearer`.
The vendor's SDKs always send both (an application key and an access token); each one
that is present must be a valid key, and both must name the same tenant.

Clicks carry `link_id`: a number derived from the campaign and the URL (`link_id`
below), so every click on one link of a campaign has the same id on every page and in
every call, with no link table to keep in step with the SES click events (which carry
only the URL).

Errors are Constant Contact's v2 list `[{"error_key", "error_message"}]`: 400 for a
bad parameter, 401 for a bad key, 404 for an unknown campaign, 406 when the Accept
header does not allow application/json.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote, unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from mailexports import opaque
from mailexports.api.http import json_response, parse_instant
from mailexports.api.status import status_of
from mailexports.dialects.common import authenticate, describe, headers_of, path_parameter
from mailexports.dialects.dialect import Dialect
from mailexports.dialects.names import CONSTANT_CONTACT
from mailexports.errors import DomainError, NotAcceptable, NotFound, Unauthorized, ValidationFailed
from mailexports.exports import tracking
from mailexports.marketing.views import TrackingEvent
from mailexports.tenants.models import Tenant

PREFIX = "/constantcontact/"
ROUTE_PREFIX = "/constantcontact/v2/emailmarketing/campaigns"
TRACKING = f"{ROUTE_PREFIX}/<campaign_id>/tracking/<activity>"
# The vendor's own path of the listing, which next_link carries (see the module's doc).
VENDOR_PREFIX = "/v2/emailmarketing/campaigns"

status_router = Router()

# The vendor's v2 statuses: what the listing can refuse; anything else is a bad request.
STATUS: dict[type[DomainError], int] = {
    DomainError: 400,
    ValidationFailed: 400,
    Unauthorized: 401,
    NotFound: 404,
    NotAcceptable: 406,
}
_ERROR_KEYS = {
    400: "query.param.invalid",
    401: "http.status.authentication.invalid_token",
    404: "http.status.not_found",
    406: "http.status.not_acceptable",
}


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


def _encode_next(cursor: str, limit: int) -> str:
    return opaque.encode_json({"c": cursor, "l": limit})


def _bad_next() -> ValidationFailed:
    return ValidationFailed(
        "the next parameter is not one this listing handed out",
        [{"field": "next", "issue": "invalid"}],
    )


def _decode_next(token: str) -> tuple[str, int]:
    try:
        payload = opaque.decode_json(token)
        cursor, limit = payload["c"], payload["l"]
    except (ValueError, KeyError, TypeError):
        raise _bad_next() from None
    if not isinstance(cursor, str) or not isinstance(limit, int):
        raise _bad_next()
    return cursor, limit


def _limit(raw: str | None, default: int) -> int:
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


def _bearer(headers: dict[str, str]) -> str | None:
    scheme, _, value = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None  # the SDKs send "Bearer " when given no token


def caller(query: dict[str, str], headers: dict[str, str]) -> Tenant:
    """The tenant named by `api_key` and/or the Bearer token; when both are sent (as the
    vendor's SDKs do) both must be valid and name the same tenant."""
    api_key = (query.get("api_key") or "").strip() or None
    token = _bearer(headers)
    if api_key is None and token is None:
        raise Unauthorized(
            "api_key is required (or the key as Authorization: Bearer)",
            [{"field": "api_key", "issue": "missing"}],
        )
    by_key = authenticate(api_key, "api_key") if api_key is not None else None
    if token is None or token == api_key:
        assert by_key is not None
        return by_key
    by_token = authenticate(token, "access token")
    if by_key is not None and by_key.tenant_id != by_token.tenant_id:
        raise Unauthorized(
            "api_key and the Bearer access token belong to different accounts",
            [{"field": "api_key", "issue": "does not match the access token"}],
        )
    return by_token


@status_router.get(TRACKING)
def campaign_tracking(campaign_id: str, activity: str) -> Response[str]:
    event = status_router.current_event
    headers = headers_of(event)
    if not accepts_json(headers.get("accept")):
        raise NotAcceptable("Unsupported accept header value, must be application/json")
    query = event.query_string_parameters or {}
    tenant = caller(query, headers)
    campaign = path_parameter(event, "campaignId") or unquote(campaign_id)
    activity = path_parameter(event, "activity") or unquote(activity)
    if activity not in tracking.ACTIVITIES:
        raise NotFound(f"No tracking listing {activity!r}; use opens or clicks.")
    cursor = None
    limit = _limit(query.get("limit"), tracking.MAX_LIMIT)
    created_since = parse_instant(query.get("created_since"), "created_since")
    if query.get("next"):
        cursor, carried = _decode_next(query["next"])
        limit = _limit(query.get("limit"), carried)
        created_since = None  # the cursor carries the bound the first page was asked with
    try:
        page = tracking.tracking_page(
            tenant.tenant_id, campaign, activity, created_since=created_since, limit=limit, cursor=cursor
        )
    except NotFound:
        raise NotFound(f"Campaign ID {campaign} not found.") from None
    except ValidationFailed as error:
        if any(detail.get("field") == "cursor" for detail in error.details):
            raise _bad_next() from None
        raise
    pagination: dict[str, str] = {}
    if page.next_cursor is not None:
        listing = f"{VENDOR_PREFIX}/{quote(campaign, safe='')}/tracking/{activity}"
        pagination["next_link"] = f"{listing}?next={_encode_next(page.next_cursor, limit)}"
    return json_response(
        200,
        {"meta": {"pagination": pagination}, "results": [result(item, activity) for item in page.items]},
    )


def constantcontact_error(error: DomainError) -> Response[str]:
    status = status_of(error, STATUS)
    key = _ERROR_KEYS.get(status, "http.status.error")
    return json_response(status, [{"error_key": key, "error_message": describe(error)}])


DIALECT = Dialect(
    name=CONSTANT_CONTACT,
    path_prefix=PREFIX,
    render_error=constantcontact_error,
    status_routers=(status_router,),
)
