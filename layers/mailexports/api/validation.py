"""Powertools' request validation, with request bodies read as JSON only.

Every canonical body is JSON. Powertools would also parse form and multipart bodies,
and a malformed multipart body (no boundary, say) escapes it as a bare ValueError,
which would answer 500 to bad input. Refusing any other media type first keeps every
such request a 4xx naming `Content-Type` (see api/errors.py).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType


class JsonBodyValidation(OpenAPIRequestValidationMiddleware):
    def _get_body(self, app: Any) -> dict[str, Any]:
        content_type = (app.current_event.headers.get("content-type") or "").strip()
        if content_type and not content_type.lower().startswith("application/json"):
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
        body: dict[str, Any] = super()._get_body(app)
        return body


def validating_resolver() -> APIGatewayRestResolver:
    """A resolver that validates typed parameters, bodies as JSON only."""
    # An answer that breaks its handler's declared type is our bug: a 500 (logged), not a 4xx.
    app = APIGatewayRestResolver(enable_validation=True, response_validation_error_http_code=500)
    # Powertools builds each route's middleware stack from this attribute on first use.
    app._request_validation_middleware = JsonBodyValidation()
    return app
