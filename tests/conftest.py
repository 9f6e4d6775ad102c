"""Fixtures shared by every test: fake credentials, and AWS emulated from template.yaml."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from moto import mock_aws

from mailexports import aws
from mailexports.config import Settings, get_settings
from mailexports_cli.local.resources import REGION, create_resources

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "MailExports",
}


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test may reach real AWS: fake credentials, no endpoint override, fresh clients."""
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    aws.reset_clients()
    get_settings.cache_clear()
    yield
    aws.reset_clients()
    get_settings.cache_clear()


@pytest.fixture
def aws_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """In-process moto with every resource template.yaml declares; yields the parsed settings."""
    with mock_aws():
        _, environment = create_resources(prefix="test")
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        aws.reset_clients()
        get_settings.cache_clear()
        yield get_settings()
