"""Domain errors carry no HTTP status; the tables that give them one cover every error."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import mailexports
from mailexports import errors
from mailexports.api.status import CANONICAL_STATUS, status_of
from mailexports.dialects.constantcontact import STATUS as CONSTANT_CONTACT_STATUS
from mailexports.dialects.copernica import STATUS as COPERNICA_STATUS
from mailexports.dialects.copernica import DataRequestGone
from mailexports.dialects.selzy import STATUS as SELZY_STATUS

DOMAIN_ERRORS = [
    kind for _, kind in inspect.getmembers(errors, inspect.isclass) if issubclass(kind, errors.DomainError)
]


def every_domain_error() -> list[type[errors.DomainError]]:
    """Every subclass of DomainError defined anywhere in the layer, not only in errors.py."""
    for module in pkgutil.walk_packages(mailexports.__path__, "mailexports."):
        importlib.import_module(module.name)
    found, pending = [], [errors.DomainError]
    while pending:
        kind = pending.pop()
        found.append(kind)
        pending += kind.__subclasses__()
    return found


def test_no_domain_error_anywhere_carries_a_status() -> None:
    carrying = [
        f"{kind.__module__}.{kind.__name__}" for kind in every_domain_error() if hasattr(kind, "status")
    ]
    assert carrying == []


@pytest.mark.parametrize("kind", DOMAIN_ERRORS, ids=lambda kind: kind.__name__)
def test_no_domain_error_carries_a_status_and_the_canonical_table_names_each(kind: type) -> None:
    assert not hasattr(kind, "status")
    assert kind in CANONICAL_STATUS


@pytest.mark.parametrize(
    ("error", "canonical", "selzy", "copernica", "constantcontact"),
    [
        (errors.ValidationFailed("x"), 400, 200, 400, 400),
        (errors.Unauthorized("x"), 401, 200, 400, 401),
        (errors.NotFound("x"), 404, 200, 404, 404),
        (errors.NotAcceptable("x"), 406, 200, 400, 406),
        (errors.UnknownReference("x"), 422, 200, 400, 400),
        (errors.UnknownSend("x"), 422, 200, 400, 400),
        (errors.UnstorableRecord("x"), 422, 200, 400, 400),
        (errors.WriteFailed("x"), 503, 200, 400, 400),
        (DataRequestGone("x"), 400, 200, 410, 400),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_each_dialect_words_a_refusal_with_its_own_status(
    error: errors.DomainError, canonical: int, selzy: int, copernica: int, constantcontact: int
) -> None:
    assert status_of(error, CANONICAL_STATUS) == canonical
    assert status_of(error, SELZY_STATUS) == selzy
    assert status_of(error, COPERNICA_STATUS) == copernica
    assert status_of(error, CONSTANT_CONTACT_STATUS) == constantcontact
