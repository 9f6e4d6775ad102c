"""Fixtures shared by every test: fake credentials, and AWS emulated from template.yaml."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from types import ModuleType

import pytest
from moto import mock_aws

# Before any handler module is imported: observability.py reads these at import, as
# Lambda gives them to every function (template.yaml Globals).
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "mailexports")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "MailExports")


from mailexports import aws
from mailexports.config import Settings, get_settings
from mailexports.exports import download_tokens
from mailexports.tenants.models import CreatedTenant
from mailexports.tenants.service import create_tenant
from mailexports_dev.local.atomic_requests import make_dynamodb_requests_atomic
from mailexports_dev.local.resources import REGION, create_resources
from mailexports_dev.local.template import PROJECT_ROOT

# Tests run threads against in-process moto (concurrent sweeps, the writer's batches).
make_dynamodb_requests_atomic()

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "MailExports",
}


def _forget_cached_state() -> None:
    aws.reset_clients()
    get_settings.cache_clear()
    download_tokens.reset_key_cache()


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test may reach real AWS: fake credentials, no endpoint override, fresh clients."""
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    _forget_cached_state()
    yield
    _forget_cached_state()


@pytest.fixture
def aws_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """In-process moto with every resource template.yaml declares; yields the parsed settings."""
    with mock_aws():
        _, environment = create_resources(prefix="test")
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        _forget_cached_state()
        yield get_settings()


@pytest.fixture
def tenant(aws_stack: Settings) -> CreatedTenant:
    """A tenant in the emulated Tenants table, with its one-time API key."""
    return create_tenant("acme", "ops@acme.example")


def load_handler(function: str) -> ModuleType:
    """functions/<function>/app.py as a module (every handler file is called app.py)."""
    path = PROJECT_ROOT / "functions" / function / "app.py"
    spec = importlib.util.spec_from_file_location(f"handler_{function}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def handlers() -> dict[str, ModuleType]:
    return {
        name: load_handler(name) for name in ("submit", "status", "worker", "ingest", "notify", "watchdog")
    }
