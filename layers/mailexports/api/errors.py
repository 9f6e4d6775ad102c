"""The one place domain errors become HTTP answers, in the caller's dialect.

Each dialect registers a renderer for its path prefix; the canonical shape is
`{"error": {"code", "message", "details"}}`. Powertools' request validation
failures become `ValidationFailed` (400) naming each field. Unexpected exceptions
become a 500 without any detail: the traceback goes to the log, never to the client.
"""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
    ValidationException,
)
from aws_lambda_powertools.event_handler.request import Request

from mailexports.api.http import json_response
from mailexports.api.validation import validation_failure
from mailexports.errors import DomainError, NotFound, RateLimited, Unauthorized
from mailexports.observability import logger

ErrorRenderer = Callable[[DomainError], Response[str]]


def with_retry_after(response: Response[str], error: DomainError) -> Response[str]:
    """A rate-limited caller learns when to retry, whatever its dialect's error shape."""
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


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


def install_error_handlers(
    app: APIGatewayRestResolver, authenticate: Callable[[Request], object] | None = None
) -> None:
    """`authenticate` checks the credential of a keyed route whose input is also invalid,
    so a caller without a valid key learns only that (401), as when handlers parsed by hand."""

    def refuse(error: DomainError) -> Response[str]:
        logger.info("request refused", extra={"code": error.code, "status": error.status})
        return with_retry_after(renderer_for(app.current_event.path)(error), error)

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
