"""The local stack relaxes the webhook guard by injecting a policy into the functions' processes,
never through the service's settings or environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailexports.notify import ssrf
from mailexports_dev.local.function_pool import FunctionPool
from mailexports_dev.local.runner import LocalStack, StackOptions
from mailexports_dev.local.template import FunctionSpec

# Reports what the guard of a function process allows, as the notifier and submit build it.
HANDLER = """
from mailexports.notify.ssrf import WebhookGuard, installed_policy

def lambda_handler(event, context):
    guard = WebhookGuard(resolver=lambda host, port: ["127.0.0.1"])
    try:
        guard.check_url("http://localhost:8000/hook")
        verdict = "allowed"
    except Exception as error:
        verdict = getattr(error, "reason", repr(error))
    return {"allow_insecure": installed_policy().allow_insecure, "localhost": verdict}
"""


@pytest.fixture
def spec(tmp_path: Path) -> FunctionSpec:
    (tmp_path / "app.py").write_text(HANDLER)
    return FunctionSpec("PolicyProbe", tmp_path, "app.lambda_handler", timeout=10)


def probe(pool: FunctionPool) -> dict[str, object]:
    try:
        result: dict[str, object] = pool.invoke({})
        return result
    finally:
        pool.stop()


def test_the_relaxed_policy_reaches_the_function_process(spec: FunctionSpec) -> None:
    pool = FunctionPool(spec, limit=1, environment=dict(os.environ), webhook_policy=ssrf.LOCAL_DEVELOPMENT)
    assert probe(pool) == {"allow_insecure": True, "localhost": "allowed"}
    assert ssrf.installed_policy() is ssrf.STRICT  # the stack's own process is left strict


def test_a_function_process_is_strict_unless_told(spec: FunctionSpec) -> None:
    result = probe(FunctionPool(spec, limit=1, environment=dict(os.environ)))
    assert result["allow_insecure"] is False
    assert result["localhost"] == "the URL must use https"


def test_the_runner_picks_the_policy_from_strict_webhooks() -> None:
    relaxed = LocalStack(StackOptions())
    strict = LocalStack(StackOptions(strict_webhooks=True))
    assert {pool.webhook_policy for pool in relaxed.functions} == {ssrf.LOCAL_DEVELOPMENT}
    assert {pool.webhook_policy for pool in strict.functions} == {ssrf.STRICT}


def test_no_environment_variable_relaxes_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOW_INSECURE_WEBHOOKS", "true")  # the variable the service used to read
    guard = ssrf.WebhookGuard(resolver=lambda host, port: ["127.0.0.1"])
    with pytest.raises(ssrf.RefusedTarget, match="https"):
        guard.check_url("http://localhost:8000/hook")


@pytest.fixture(autouse=True)
def _strict_after() -> Iterator[None]:
    yield
    assert ssrf.installed_policy() is ssrf.STRICT
