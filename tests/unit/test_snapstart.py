"""SnapStart: the API handlers register hooks that prime a snapshot and keep nothing unique in it.

The hooks run here the way Lambda's runtime runs them (snapshot_restore_py's registries:
before-snapshot in reverse order of registration, after-restore in order).
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import snapshot_restore_py
from tests.builders import FakeLambdaContext, api_event
from tests.conftest import load_handler

from mailexports import aws
from mailexports.config import Settings
from mailexports.tenants.models import CreatedTenant


def _run(registry: list[tuple[Any, tuple[Any, ...], dict[str, Any]]]) -> None:
    for func, args, kwargs in registry:
        func(*args, **kwargs)


@pytest.fixture
def fresh_registries(monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], list[Any]]:
    before: list[Any] = []
    after: list[Any] = []
    monkeypatch.setattr(snapshot_restore_py, "_before_snapshot_registry", before)
    monkeypatch.setattr(snapshot_restore_py, "_after_restore_registry", after)
    return before, after


@pytest.mark.parametrize("function", ["submit", "status"])
def test_the_api_handlers_prime_their_clients_and_keep_none_in_the_snapshot(
    function: str, aws_stack: Settings, fresh_registries: tuple[list[Any], list[Any]]
) -> None:
    before, after = fresh_registries
    load_handler(function)
    assert before
    assert after

    _run(list(reversed(before)))
    # The service models are parsed into the shared loader; no client (credentials,
    # pooled connections) survives into the snapshot.
    assert aws._client.cache_info().currsize == 0
    assert any("service-2" in str(key) for key in aws._LOADER._cache)


def test_a_restore_renews_random_and_clients_and_the_handler_still_answers(
    tenant: CreatedTenant, fresh_registries: tuple[list[Any], list[Any]]
) -> None:
    before, after = fresh_registries
    handler = load_handler("status")
    _run(list(reversed(before)))
    random.seed(42)  # what every restored copy of one snapshot would share
    snapshot_state = random.getstate()
    aws.client("dynamodb")

    _run(after)

    assert random.getstate() != snapshot_state
    assert aws._client.cache_info().currsize == 0
    event = api_event("GET", "/v1/exports", headers={"Authorization": f"Bearer {tenant.api_key}"})
    answer = handler.lambda_handler(event, FakeLambdaContext())
    assert answer["statusCode"] == 200, answer["body"]
