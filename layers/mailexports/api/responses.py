"""The `responses=` each canonical route declares, so the OpenAPI document lists
every answer a client can get, errors in the canonical shape."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel

from mailexports.api.schemas import ErrorResponse

# What each error status means on the canonical API (codes from mailexports.errors).
_ERRORS = {
    400: "The request is invalid (`validation_error`); `details` name each field at fault.",
    401: "Missing or invalid API key (`unauthorized`).",
    404: "No such resource for this tenant (`not_found`); another tenant's task is a 404 too.",
    409: "The task is not in a state that allows this (`conflict`).",
    422: "Well-formed but refers to what the tenant does not have (`unknown_reference`), "
    "or reuses an Idempotency-Key with another body (`idempotency_key_reused`).",
    429: "The tenant submits exports faster than its rate (`rate_limited`); the `Retry-After` "
    "header says how many seconds to wait.",
    500: "Unexpected failure (`internal_error`); never carries internal detail.",
}

# The credentials a keyed route accepts (names of the document's security schemes).
KEYED: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}]


def answers(
    status: int,
    description: str,
    model: type[BaseModel] | None = None,
    *,
    errors: tuple[int, ...],
    headers: dict[str, Any] | None = None,
) -> dict[int, OpenAPIResponse]:
    """The success answer (`model` as JSON, or none for a redirect) plus `errors` and 500."""
    success: dict[str, Any] = {"description": description}
    if model is not None:
        success["content"] = {"application/json": {"model": model}}
    else:
        # A redirect has no body; an empty content map keeps Powertools from inventing one.
        success["content"] = {}
    if headers:
        success["headers"] = headers
    documented: dict[int, OpenAPIResponse] = {status: success}  # type: ignore[dict-item]
    for code in (*errors, 500):
        documented[code] = {
            "description": _ERRORS[code],
            "content": {"application/json": {"model": ErrorResponse}},
        }
    return documented


def header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}
