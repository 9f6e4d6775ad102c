"""Fixtures every dialect test module shares."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.unit.dialects.support import PUBLIC_ADDRESS, Dataset, load_dataset, load_minimal

from mailexports.notify import ssrf
from mailexports.tenants.models import CreatedTenant


@pytest.fixture
def data(tenant: CreatedTenant, tmp_path: Path) -> Dataset:
    """The tenant loaded with a generated dataset (its lines kept for expectations)."""
    return load_dataset(tenant, tmp_path)


@pytest.fixture
def minimal(tenant: CreatedTenant) -> CreatedTenant:
    """The tenant loaded with a few hand-written records."""
    return load_minimal(tenant)


@pytest.fixture
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Webhook hosts resolve to a public address (this sandbox has no DNS)."""
    monkeypatch.setattr(ssrf, "resolve_host", lambda host, port: [PUBLIC_ADDRESS])
