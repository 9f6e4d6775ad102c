"""Domain errors. The API layer maps each to an HTTP answer in the caller's dialect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError


class DomainError(Exception):
    """Base of every error the service answers on purpose (never a 5xx)."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        message = _clipped(message)
        super().__init__(message)
        self.message = message
        self.details = [{k: _clipped(v) for k, v in d.items()} for d in details or []]


# Messages quote what the client sent; a refusal names the fault without echoing megabytes back.
MAX_ERROR_TEXT = 500


def _clipped[T](value: T) -> T | str:
    if isinstance(value, str) and len(value) > MAX_ERROR_TEXT:
        return value[: MAX_ERROR_TEXT - 1] + "…"
    return value


class ValidationFailed(DomainError):
    status = 400
    code = "validation_error"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class IdempotencyMismatch(DomainError):
    status = 422
    code = "idempotency_key_reused"


class NotAcceptable(DomainError):
    status = 406
    code = "not_acceptable"


def error_details(error: ValidationError, prefix: Sequence[str | int] = ()) -> list[dict[str, Any]]:
    """pydantic's errors as `{"field": "params.stat_id", "issue": "Field required"}` entries."""
    details = []
    for item in error.errors(include_url=False, include_input=False):
        path = [*prefix, *item["loc"]]
        details.append({"field": ".".join(str(p) for p in path) or "body", "issue": item["msg"]})
    return details


class UnknownReference(DomainError):
    """The request names something (a stat, segment, campaign) the tenant does not have."""

    status = 422
    code = "unknown_reference"


class UnsupportedFormat(DomainError):
    """A valid format that the export type cannot be written in (contact_data as csv)."""

    status = 422
    code = "unsupported_format"
