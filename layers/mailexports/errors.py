"""Domain errors. They carry no HTTP status: each API dialect maps them to its own
answer (api/status.py for the canonical API, each dialect's table for its own)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError


class DomainError(Exception):
    """Base of every error the service answers on purpose (never a 500: that is a bug)."""

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
    code = "validation_error"


class Unauthorized(DomainError):
    code = "unauthorized"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class IdempotencyMismatch(DomainError):
    code = "idempotency_key_reused"


class NotAcceptable(DomainError):
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

    code = "unknown_reference"


class DestinationRefused(DomainError):
    """The customer's role cannot be assumed, or their bucket cannot be written."""

    code = "destination_refused"


class UnsupportedFormat(DomainError):
    """A valid format that the export type cannot be written in (contact_data as csv)."""

    code = "unsupported_format"


class RateLimited(DomainError):
    """The tenant submits faster than its rate; `retry_after` says when a submit will pass."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message, details)
        self.retry_after = max(1, retry_after)


class UnknownSend(DomainError):
    """An imported event or message names a `stat_id` that no send record introduced."""

    code = "unknown_send"


class UnstorableRecord(DomainError):
    """An imported record that DynamoDB cannot hold (a number out of range, an item over 400 KB)."""

    code = "unstorable_record"


class WriteFailed(DomainError):
    """DynamoDB kept refusing (throttling) past every retry: nothing was dropped silently."""

    code = "write_failed"
