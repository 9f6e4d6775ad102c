"""Constant Contact v2 (seed 004): `GET /constantcontact/v2/emailmarketing/campaigns/
{campaignId}/tracking/opens` (and `/clicks`), authenticated by the `api_key` parameter.

A synchronous listing over the same tracking reader as the canonical route: newest
first, `created_since` (ISO-8601, inclusive), `limit` 1-500 (default 500).
`meta.pagination.next_link` is a path under this route's own prefix carrying only the
opaque `next` parameter (which holds the position, `created_since` and `limit`); the
last page has no `next_link`.

Errors are Constant Contact's v2 list `[{"error_key", "error_message"}]`: 400 for a
bad parameter, 401 for a bad key, 404 for an unknown campaign, 406 when the Accept
header does not allow application/json.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote, urlsplit

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from mailexports import opaque
from mailexports.api.errors import register_dialect
from mailexports.api.http import api_base_url, json_response, parse_instant
from mailexports.dialects.common import authenticate, describe, headers_of, path_parameter
from mailexports.errors import DomainError, NotAcceptable, NotFound, ValidationFailed
from mailexports.exports import tracking
from mailexports.marketing.views import TrackingEvent

PREFIX = "/constantcontact/"
ROUTE_PREFIX = "/constantcontact/v2/emailmarketing/campaigns"
TRACKING = f"{ROUTE_PREFIX}/<campaign_id>/tracking/<activity>"

status_router = Router()

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
        row["link_uri"] = item.url
        row["click_date"] = at
    return row


@status_router.get(TRACKING)
def campaign_tracking(campaign_id: str, activity: str) -> Response[str]:
    event = status_router.current_event
    headers = headers_of(event)
    if not accepts_json(headers.get("accept")):
        raise NotAcceptable("Unsupported accept header value, must be application/json")
    query = event.query_string_parameters or {}
    tenant = authenticate(query.get("api_key"), "api_key")
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
        # A path under the route's own prefix (and stage, when the URL has one).
        base_path = urlsplit(api_base_url(event)).path
        own = f"{base_path}{ROUTE_PREFIX}/{quote(campaign, safe='')}/tracking/{activity}"
        pagination["next_link"] = f"{own}?next={_encode_next(page.next_cursor, limit)}"
    return json_response(
        200,
        {"meta": {"pagination": pagination}, "results": [result(item, activity) for item in page.items]},
    )


def constantcontact_error(error: DomainError) -> Response[str]:
    key = _ERROR_KEYS.get(error.status, "http.status.error")
    return json_response(error.status, [{"error_key": key, "error_message": describe(error)}])


def register() -> None:
    register_dialect(PREFIX, constantcontact_error)
