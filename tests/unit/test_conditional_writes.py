"""A failed condition is told apart from every other DynamoDB error."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from mailexports.conditional_writes import condition_held, refused_as
from mailexports.errors import Conflict


def failing(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "UpdateItem")


def raise_(error: Exception) -> None:
    raise error


def test_a_write_made_or_refused_by_its_condition_is_true_or_false() -> None:
    assert condition_held(lambda: None) is True
    assert condition_held(lambda: raise_(failing("ConditionalCheckFailedException"))) is False


def test_any_other_error_is_raised_as_it_came() -> None:
    throttled = failing("ProvisionedThroughputExceededException")
    with pytest.raises(ClientError) as raised:
        condition_held(lambda: raise_(throttled))
    assert raised.value is throttled
    with pytest.raises(ClientError) as raised, refused_as(Conflict("taken")):
        raise throttled
    assert raised.value is throttled


def test_a_refused_write_raises_the_stores_own_error() -> None:
    with pytest.raises(Conflict, match="taken"), refused_as(Conflict("taken")):
        raise failing("ConditionalCheckFailedException")
    with refused_as(Conflict("taken")):
        pass  # a write that was made raises nothing
