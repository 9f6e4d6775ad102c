"""HTTP statuses of domain errors: one table per API dialect (the errors carry none).

Kept apart from api/errors.py so a dialect's renderer, which the worker and the
notifier also import with the dialect's value, needs no request-validation machinery.
"""

from __future__ import annotations

from collections.abc import Mapping

from mailexports.errors import (
    Conflict,
    DestinationRefused,
    DomainError,
    IdempotencyMismatch,
    NotAcceptable,
    NotFound,
    RateLimited,
    Unauthorized,
    UnknownReference,
    UnknownSend,
    UnstorableRecord,
    UnsupportedFormat,
    ValidationFailed,
    WriteFailed,
)

# Error type -> HTTP status; the most specific class of an error that is listed wins.
StatusTable = Mapping[type[DomainError], int]

CANONICAL_STATUS: StatusTable = {
    DomainError: 400,
    ValidationFailed: 400,
    Unauthorized: 401,
    NotFound: 404,
    NotAcceptable: 406,
    Conflict: 409,
    IdempotencyMismatch: 422,
    UnknownReference: 422,
    UnsupportedFormat: 422,
    DestinationRefused: 422,
    UnknownSend: 422,
    UnstorableRecord: 422,
    RateLimited: 429,
    WriteFailed: 503,  # the store kept throttling: the same request may pass later
}


def status_of(error: DomainError, table: StatusTable, default: int = 400) -> int:
    """The status `table` gives the error's class or its nearest listed base class."""
    return next((table[kind] for kind in type(error).__mro__ if kind in table), default)
