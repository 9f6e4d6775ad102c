"""Small helpers shared by every route: JSON answers, bodies, the caller's base URL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from mailexports.errors import ValidationFailed


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        headers=headers or {},
    )


def json_body(event: BaseProxyEvent) -> Any:
    raw = event.decoded_body
    if not raw or not raw.strip():
        raise ValidationFailed("the request body is empty; send a JSON object")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValidationFailed(
            f"the request body is not valid JSON ({error.msg} at position {error.pos})"
        ) from None


def api_base_url(event: BaseProxyEvent) -> str:
    """The URL prefix the client called, so links we hand out point back at the same API."""
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    context = event.raw_event.get("requestContext") or {}
    host = headers.get("host") or context.get("domainName") or "localhost"
    proto = headers.get("x-forwarded-proto", "https")
    # The default execute-api host carries the stage in the path; custom domains and the local stack do not.
    stage = f"/{context.get('stage', '')}" if host.endswith(".amazonaws.com") else ""
    return f"{proto}://{host}{stage}"


def parse_int(raw: str | None, field: str, *, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValidationFailed(
            f"{field} must be an integer", [{"field": field, "issue": f"got {raw!r}"}]
        ) from None


def parse_instant(raw: str | None, field: str) -> datetime | None:
    """An ISO-8601 time from a query string; without an offset it is taken as UTC."""
    if raw is None or raw == "":
        return None
    text = raw.strip().replace("Z", "+00:00")
    # Unencoded, the `+` of an offset arrives as a space; a space may also separate date and time.
    text = text.replace(" ", "+") if "T" in text else text.replace(" ", "T", 1).replace(" ", "+")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            f"{field} must be an ISO-8601 time such as 2025-03-01T10:00:00Z",
            [{"field": field, "issue": f"got {raw!r}"}],
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
