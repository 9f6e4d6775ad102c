"""DynamoDB's conditional writes, with a failed condition told apart from every other error.

A failed condition is how every store here learns it lost a race or met a state it
must not overwrite; each store says what that means (False, or its own domain error),
and any other error is raised as it came.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from botocore.exceptions import ClientError

CONDITION_FAILED = "ConditionalCheckFailedException"


def condition_failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == CONDITION_FAILED


def condition_held(write: Callable[[], object]) -> bool:
    """Make one conditional write: True if it was made, False if its condition failed."""
    try:
        write()
    except ClientError as error:
        if condition_failed(error):
            return False
        raise
    return True


@contextmanager
def refused_as(refusal: Exception) -> Iterator[None]:
    """Inside, a write whose condition fails raises `refusal` instead."""
    try:
        yield
    except ClientError as error:
        if condition_failed(error):
            raise refusal from None
        raise
