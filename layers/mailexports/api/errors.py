"""The one place domain errors become HTTP answers, in the caller's dialect.

Each dialect registers a renderer for its path prefix; the canonical shape is
`{"error": {"code", "message", "details"}}`. Powertools' request validation
failures become `ValidationFailed` (400) naming each field. Unexpected exceptions
become a 500 without any detail: the traceback goes to the log, never to the client.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
    ValidationException,
)
from aws_lambda_powertools.event_handler.request import Request

from mailexports.api.http import json_response
from mailexports.errors import DomainError, NotFound, Unauthorized, ValidationFailed
from mailexports.exports.requests import ExportType
from mailexports.observability import logger

ErrorRenderer = Callable[[DomainError], Response[str]]


def canonical_error(error: DomainError) -> Response[str]:
    body = {"error": {"code": error.code, "message": error.message, "details": error.details}}
    headers = {"WWW-Authenticate": 'Bearer realm="mailexports"'} if error.status == 401 else None
    return json_response(error.status, body, headers)


# Path prefix -> renderer; dialect modules add theirs with `register_dialect`.
_RENDERERS: dict[str, ErrorRenderer] = {}


def register_dialect(prefix: str, renderer: ErrorRenderer) -> None:
    _RENDERERS[prefix] = renderer


def renderer_for(path: str) -> ErrorRenderer:
    for prefix, renderer in _RENDERERS.items():
        if path.startswith(prefix):
            return renderer
    return canonical_error


_WHERE = {"body", "query", "path", "header", "cookie"}
_EXPORT_TYPES = {t.value for t in ExportType}


def _field(loc: Sequence[str | int]) -> str:
    """pydantic's `("body", "campaign_activity", "params", "stat_id")` as `params.stat_id`."""
    where, rest = (loc[0], list(loc[1:])) if loc and loc[0] in _WHERE else ("body", list(loc))
    if where == "body" and rest and rest[0] in _EXPORT_TYPES:
        rest = rest[1:]  # the tag of the submit body's union, not a field the client sent
    if where == "header" and rest:
        return "-".join(part.capitalize() for part in str(rest[0]).split("-"))  # Idempotency-Key
    if where == "body" and rest and isinstance(rest[-1], int) and len(rest) == 1:
        return "body"  # json_invalid carries the character position
    return ".".join(str(part) for part in rest) or "body"


def _issue(item: dict[str, Any]) -> tuple[str, str]:
    field, kind = _field(item.get("loc", ())), item.get("type")
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        known = ", ".join(sorted(_EXPORT_TYPES))
        return "type", ("Field required" if kind == "union_tag_not_found" else f"one of {known}")
    if field == "body" and kind == "missing":
        return field, "the request body is empty; send a JSON object"
    if field == "body" and kind == "json_invalid":
        return field, "the request body is not valid JSON"
    if field == "body" and kind in {"model_attributes_type", "dict_type", "model_type"}:
        return field, "the request body must be a JSON object"
    return field, str(item.get("msg", "invalid"))


def validation_failure(error: ValidationException, content_type: str = "") -> ValidationFailed:
    media = content_type.split(";")[0].strip().lower()
    if media and not media.startswith("application/json"):
        # A form or text body cannot be the JSON the route declares: say that, not which field is missing.
        return ValidationFailed(
            "the request body must be JSON",
            [{"field": "Content-Type", "issue": f"send application/json, not {media}"}],
        )
    details = [{"field": field, "issue": issue} for field, issue in map(_issue, error.errors())]
    summary = "; ".join(f"{d['field']}: {d['issue']}" for d in details[:3])
    return ValidationFailed(f"invalid request ({summary})", details)


def install_error_handlers(
    app: APIGatewayRestResolver, authenticate: Callable[[Request], object] | None = None
) -> None:
    """`authenticate` checks the credential of a keyed route whose input is also invalid,
    so a caller without a valid key learns only that (401), as when handlers parsed by hand."""

    def refuse(error: DomainError) -> Response[str]:
        logger.info("request refused", extra={"code": error.code, "status": error.status})
        return renderer_for(app.current_event.path)(error)

    app.exception_handler(DomainError)(refuse)

    @app.exception_handler([RequestValidationError, RequestUnsupportedContentType])
    def _invalid(error: ValidationException) -> Response[str]:
        route = app.context.get("_route")  # Powertools' matched route; `security` marks keyed ones
        if authenticate is not None and route is not None and route.security:
            try:
                authenticate(app.request)
            except Unauthorized as refused:
                return refuse(refused)
        return refuse(validation_failure(error, app.current_event.headers.get("content-type") or ""))

    @app.not_found
    def _not_found(_: Exception) -> Response[str]:
        return renderer_for(app.current_event.path)(NotFound("no such route"))

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response[str]:
        logger.exception("unexpected error")
        return json_response(
            500, {"error": {"code": "internal_error", "message": "internal error", "details": []}}
        )
