"""Small helpers shared by every route: JSON answers, bodies, the caller's base URL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from pydantic import AfterValidator, BeforeValidator

from mailexports.api.bodies import body_text, parse_json
from mailexports.errors import ValidationFailed


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        headers=headers or {},
    )


def json_body(event: BaseProxyEvent) -> Any:
    raw = body_text(event)
    if not raw or not raw.strip():
        raise ValidationFailed("the request body is empty; send a JSON object")
    return parse_json(raw)


def api_base_url(event: BaseProxyEvent) -> str:
    """The URL prefix the client called, so links we hand out point back at the same API."""
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    context = event.raw_event.get("requestContext") or {}
    host = headers.get("host") or context.get("domainName") or "localhost"
    proto = headers.get("x-forwarded-proto", "https")
    # The default execute-api host carries the stage in the path; custom domains and the local stack do not.
    stage = f"/{context.get('stage', '')}" if host.endswith(".amazonaws.com") else ""
    return f"{proto}://{host}{stage}"


def _repair_instant_text(raw: str) -> str:
    """An ISO-8601 time as query strings mangle it, made parseable."""
    text = raw.strip().replace("Z", "+00:00")
    # Unencoded, the `+` of an offset arrives as a space; a space may also separate date and time.
    return text.replace(" ", "+") if "T" in text else text.replace(" ", "T", 1).replace(" ", "+")


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _instant_text(value: object) -> object:
    return _repair_instant_text(value) if isinstance(value, str) else value


def _blank_as_none(value: object) -> object:
    return None if value == "" else value


# A query parameter sent empty (`?status=`) means "not given", as it always did.
blank_as_none = BeforeValidator(_blank_as_none)

# A time in a query string: ISO-8601, UTC when it carries no offset.
Instant = Annotated[datetime, BeforeValidator(_instant_text), AfterValidator(_as_utc)]


def parse_instant(raw: str | None, field: str) -> datetime | None:
    """`Instant` for the dialects that parse their own query strings."""
    if raw is None or raw == "":
        return None
    try:
        value = datetime.fromisoformat(_repair_instant_text(raw))
    except ValueError:
        raise ValidationFailed(
            f"{field} must be an ISO-8601 time such as 2025-03-01T10:00:00Z",
            [{"field": field, "issue": f"got {raw!r}"}],
        ) from None
    return _as_utc(value)
