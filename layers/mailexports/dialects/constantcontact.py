"""Constant Contact v2 (seed 004): `GET /constantcontact/v2/emailmarketing/campaigns/
{campaignId}/tracking/opens` (and `/clicks`, and `/clicks/{linkId}`: one link's clicks).

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

Clicks carry `link_id`: a number derived from the campaign and the URL
(constantcontact_listing.link_id), so every click on one link of a campaign has the
same id on every page and in every call, with no link table to keep in step with the
SES click events (which carry only the URL).

One link's clicks (the SDK's `get_campaign_clicks_by_link_id`) are the campaign's
clicks whose URL hashes to the id: with no index by link, a page reads the clicks in
order and keeps those, but reads at most LINK_BUDGET of them, so a rare link on a huge
campaign costs one request a bounded read. A page can therefore hold fewer than
`limit` clicks, even none, and still have a `next_link` (its own path, `.../clicks/
{linkId}?next=...`, the link bound into `next`); the SDK's `next_page` follows it like
any other. As the vendor documents only "campaign not found" as a 404 there, a linkId
of digits that no click has is an empty listing (200); one that is not digits is a 400.

Errors are Constant Contact's v2 list `[{"error_key", "error_message"}]`: 400 for a
bad parameter, 401 for a bad key, 404 for an unknown campaign, 406 when the Accept
header does not allow application/json.
"""

from __future__ import annotations

from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from mailexports.api.http import json_response, parse_instant
from mailexports.api.status import status_of
from mailexports.dialects.common import authenticate, describe, headers_of, path_parameter
from mailexports.dialects.constantcontact_listing import (
    accepts_json,
    bad_next,
    clicks_on,
    decode_next,
    encode_next,
    next_link,
    page_limit,
    requested_link,
    result,
)
from mailexports.dialects.dialect import Dialect
from mailexports.dialects.names import CONSTANT_CONTACT
from mailexports.errors import DomainError, NotAcceptable, NotFound, Unauthorized, ValidationFailed
from mailexports.exports import tracking
from mailexports.tenants.models import Tenant

PREFIX = "/constantcontact/"
ROUTE_PREFIX = "/constantcontact/v2/emailmarketing/campaigns"
TRACKING = f"{ROUTE_PREFIX}/<campaign_id>/tracking/<activity>"
# Declared under {activity}, not a literal `clicks`: API Gateway prefers a literal resource
# to a sibling {param}, so a `clicks` resource (with no GET of its own) could shadow
# TRACKING's `.../tracking/clicks`. Any activity but clicks is a 404 here.
LINK_CLICKS = f"{TRACKING}/<link_id>"
# The most clicks one page of a link's clicks reads (tests lower it to page across it).
LINK_BUDGET = tracking.FILTER_BUDGET

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
    campaign = path_parameter(event, "campaignId") or unquote(campaign_id)
    activity = path_parameter(event, "activity") or unquote(activity)
    return _listing(campaign, activity, None)


@status_router.get(LINK_CLICKS)
def link_clicks(campaign_id: str, activity: str, link_id: str) -> Response[str]:
    event = status_router.current_event
    campaign = path_parameter(event, "campaignId") or unquote(campaign_id)
    activity = path_parameter(event, "activity") or unquote(activity)
    link = path_parameter(event, "linkId") or unquote(link_id)
    return _listing(campaign, activity, link)


def _listing(campaign: str, activity: str, raw_link: str | None) -> Response[str]:
    """One page of the campaign's opens or clicks, or (`raw_link`) of one link's clicks."""
    event = status_router.current_event
    headers = headers_of(event)
    if not accepts_json(headers.get("accept")):
        raise NotAcceptable("Unsupported accept header value, must be application/json")
    query = event.query_string_parameters or {}
    tenant = caller(query, headers)
    if raw_link is not None and activity != "clicks":  # only clicks have links
        raise NotFound(f"No tracking listing {activity + '/{linkId}'!r}; use clicks/{{linkId}}.")
    if activity not in tracking.ACTIVITIES:
        raise NotFound(f"No tracking listing {activity!r}; use opens or clicks.")
    link = requested_link(raw_link) if raw_link is not None else None
    cursor = None
    limit = page_limit(query.get("limit"), tracking.MAX_LIMIT)
    created_since = parse_instant(query.get("created_since"), "created_since")
    if query.get("next"):
        cursor, carried = decode_next(query["next"], link)
        limit = page_limit(query.get("limit"), carried)
        created_since = None  # the cursor carries the bound the first page was asked with
    keep_url = clicks_on(campaign, link) if link is not None else None
    try:
        page = tracking.tracking_page(
            tenant.tenant_id,
            campaign,
            activity,
            created_since=created_since,
            limit=limit,
            cursor=cursor,
            keep_url=keep_url,
            budget=LINK_BUDGET,
        )
    except NotFound:
        raise NotFound(f"Campaign ID {campaign} not found.") from None
    except ValidationFailed as error:
        if any(detail.get("field") == "cursor" for detail in error.details):
            raise bad_next() from None
        raise
    pagination: dict[str, str] = {}
    if page.next_cursor is not None:
        token = encode_next(page.next_cursor, limit, link)
        pagination["next_link"] = next_link(campaign, activity, link, token)
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
