"""The one place domain errors become HTTP answers, in the caller's dialect.

A function installs these handlers with the dialects it serves: a path under a
dialect's prefix is answered by that dialect's renderer, with that dialect's status
table; any other by the canonical shape `{"error": {"code", "message", "details"}}`
and the canonical table below. Powertools' request validation
failures become `ValidationFailed` (400) naming each field. Unexpected exceptions
become a 500 without any detail: the traceback goes to the log, never to the client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
    ValidationException,
)
from aws_lambda_powertools.event_handler.request import Request

from mailexports.api.http import json_response
from mailexports.api.status import CANONICAL_STATUS, status_of
from mailexports.api.validation import validation_failure
from mailexports.dialects.dialect import Dialect, ErrorRenderer
from mailexports.errors import DomainError, NotFound, RateLimited, Unauthorized
from mailexports.observability import logger


def with_retry_after(response: Response[str], error: DomainError) -> Response[str]:
    """A rate-limited caller learns when to retry, whatever its dialect's error shape."""
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def canonical_error(error: DomainError) -> Response[str]:
    status = status_of(error, CANONICAL_STATUS)
    body = {"error": {"code": error.code, "message": error.message, "details": error.details}}
    headers = {"WWW-Authenticate": 'Bearer realm="mailexports"'} if status == 401 else None
    return json_response(status, body, headers)


def renderer_for(path: str, dialects: Iterable[Dialect]) -> ErrorRenderer:
    """The renderer of the dialect that owns `path`; the canonical one for any other path."""
    return next((dialect.render_error for dialect in dialects if dialect.owns(path)), canonical_error)


def install_error_handlers(
    app: APIGatewayRestResolver,
    dialects: Iterable[Dialect] = (),
    authenticate: Callable[[Request], object] | None = None,
) -> None:
    """`dialects`: those whose paths this app serves. `authenticate` checks the credential
    of a keyed route whose input is also invalid, so a caller without a valid key learns
    only that (401), as when handlers parsed by hand."""
    served = tuple(dialects)

    def refuse(error: DomainError) -> Response[str]:
        answer = with_retry_after(renderer_for(app.current_event.path, served)(error), error)
        logger.info("request refused", extra={"code": error.code, "status": answer.status_code})
        return answer

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
        return renderer_for(app.current_event.path, served)(NotFound("no such route"))

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response[str]:
        logger.exception("unexpected error")
        return json_response(
            500, {"error": {"code": "internal_error", "message": "internal error", "details": []}}
        )
