"""Powertools' request validation, with bodies read as JSON only, and its failures as
`ValidationFailed` naming each field the way the API always has (`params.stat_id`).

Every canonical body is JSON. Powertools would also parse form and multipart bodies,
and a malformed multipart body (no boundary, say) escapes it as a bare ValueError,
which would answer 500 to bad input. Refusing any other media type first keeps every
such request a 4xx naming `Content-Type`. The body is read through api/bodies.py, so
bad base64, bad UTF-8 and too deep nesting are 4xx too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
    ValidationException,
)

from mailexports.api.bodies import body_text, parse_json
from mailexports.errors import ValidationFailed
from mailexports.exports.requests import ExportType


def is_json(content_type: str) -> bool:
    """application/json or a +json type; not merely a name that starts the same (application/jsonp)."""
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class JsonBodyValidation(OpenAPIRequestValidationMiddleware):
    def _get_body(self, app: Any) -> Any:
        content_type = (app.current_event.headers.get("content-type") or "").strip()
        if content_type and not is_json(content_type):
            raise RequestUnsupportedContentType(
                "Unsupported content type",
                errors=[
                    {
                        "type": "unsupported_content_type",
                        "loc": ("body",),
                        "msg": f"Unsupported content type: {content_type}",
                        "input": {},
                        "ctx": {},
                    }
                ],
            )
        try:
            text = body_text(app.current_event)
            return parse_json(text) if text else None  # None: Powertools' "body missing"
        except ValidationFailed as refused:
            # As a validation error, so a keyed route still answers 401 first to a caller without a key.
            raise RequestValidationError(
                [{"type": "body_invalid", "loc": ("body",), "msg": refused.message, "input": {}}]
            ) from None


def validating_resolver() -> APIGatewayRestResolver:
    """A resolver that validates typed parameters, bodies as JSON only."""
    # An answer that breaks its handler's declared type is our bug: a 500 (logged), not a 4xx.
    app = APIGatewayRestResolver(enable_validation=True, response_validation_error_http_code=500)
    # Powertools builds each route's middleware stack from this attribute on first use.
    app._request_validation_middleware = JsonBodyValidation()
    return app


_WHERE = {"body", "query", "path", "header", "cookie"}
_EXPORT_TYPES = {t.value for t in ExportType}


def _field(loc: Sequence[str | int]) -> str:
    """pydantic's `("body", "campaign_activity", "params", "stat_id")` as `params.stat_id`."""
    where, rest = (loc[0], list(loc[1:])) if loc and loc[0] in _WHERE else ("body", list(loc))
    if where == "body" and rest and rest[0] in _EXPORT_TYPES:
        rest = rest[1:]  # the tag of the submit body's union, not a field the client sent
    if where == "body" and rest[:1] == ["export"] and len(rest) > 1 and rest[1] in _EXPORT_TYPES:
        rest = [rest[0], *rest[2:]]  # the same union inside a schedule's `export`
    if where == "header" and rest:
        return "-".join(part.capitalize() for part in str(rest[0]).split("-"))  # Idempotency-Key
    if where == "body" and rest and isinstance(rest[-1], int) and len(rest) == 1:
        return "body"  # json_invalid carries the character position
    return ".".join(str(part) for part in rest) or "body"


def _issue(item: dict[str, Any]) -> tuple[str, str]:
    field, kind = _field(item.get("loc", ())), item.get("type")
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        known = ", ".join(sorted(_EXPORT_TYPES))
        where = "type" if field == "body" else f"{field}.type"  # `export.type` in a schedule
        return where, ("Field required" if kind == "union_tag_not_found" else f"one of {known}")
    if field == "body" and kind == "missing":
        return field, "the request body is empty; send a JSON object"
    if field == "body" and kind == "json_invalid":
        return field, "the request body is not valid JSON"
    if field == "body" and kind in {"model_attributes_type", "dict_type", "model_type"}:
        return field, "the request body must be a JSON object"
    return field, str(item.get("msg", "invalid"))


def validation_failure(error: ValidationException, content_type: str = "") -> ValidationFailed:
    media = content_type.split(";")[0].strip().lower()
    if media and not is_json(media):
        # A form or text body cannot be the JSON the route declares: say that, not which field is missing.
        return ValidationFailed(
            "the request body must be JSON",
            [{"field": "Content-Type", "issue": f"send application/json, not {media}"}],
        )
    details = [{"field": field, "issue": issue} for field, issue in map(_issue, error.errors())]
    summary = "; ".join(f"{d['field']}: {d['issue']}" for d in details[:3])
    return ValidationFailed(f"invalid request ({summary})", details)
