"""Rotating a tenant's webhook secret: the old one keeps signing through a grace period."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailexports.config import Settings
from mailexports.errors import NotFound, ValidationFailed
from mailexports.tenants.models import CreatedTenant
from mailexports.tenants.service import rotate_webhook_secret
from mailexports.tenants.store import DynamoTenantStore
from mailexports_cli.main import main


def test_rotation_keeps_the_old_secret_until_it_retires(tenant: CreatedTenant) -> None:
    at = datetime(2025, 6, 1, tzinfo=UTC)
    rotated = rotate_webhook_secret(tenant.tenant_id, grace=timedelta(hours=24), at=at)
    assert rotated.webhook_secret.startswith("whsec_")
    assert rotated.webhook_secret != tenant.webhook_secret
    assert rotated.previous_secret_retires_at == at + timedelta(hours=24)

    stored = DynamoTenantStore().get(tenant.tenant_id)
    assert stored is not None
    assert stored.webhook_secret == rotated.webhook_secret
    assert stored.signing_secrets(at + timedelta(hours=23)) == [rotated.webhook_secret, tenant.webhook_secret]
    assert stored.signing_secrets(at + timedelta(hours=24)) == [rotated.webhook_secret]
    assert tenant.webhook_secret not in repr(stored)


def test_a_second_rotation_retires_the_first_old_secret(tenant: CreatedTenant) -> None:
    first = rotate_webhook_secret(tenant.tenant_id)
    second = rotate_webhook_secret(tenant.tenant_id)
    stored = DynamoTenantStore().get(tenant.tenant_id)
    assert stored is not None
    assert stored.signing_secrets(datetime.now(UTC)) == [second.webhook_secret, first.webhook_secret]


def test_rotation_refuses_unknown_tenants_and_bad_grace(tenant: CreatedTenant) -> None:
    with pytest.raises(NotFound):
        rotate_webhook_secret("no-such-tenant")
    with pytest.raises(ValidationFailed):
        rotate_webhook_secret(tenant.tenant_id, grace=timedelta(hours=-1))


def test_a_tenant_never_rotated_signs_with_its_one_secret(tenant: CreatedTenant) -> None:
    stored = DynamoTenantStore().get(tenant.tenant_id)
    assert stored is not None
    assert stored.signing_secrets(datetime.now(UTC)) == [tenant.webhook_secret]


def test_the_cli_prints_the_new_secret_once(
    aws_stack: Settings,
    tenant: CreatedTenant,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = tmp_path / "local-stack.json"
    env = {
        "TASKS_TABLE": aws_stack.tasks_table,
        "TENANTS_TABLE": aws_stack.tenants_table,
        "MARKETING_TABLE": aws_stack.marketing_table,
        "EXPORTS_BUCKET": aws_stack.exports_bucket,
        "DATA_BUCKET": aws_stack.data_bucket,
    }
    state.write_text(json.dumps({"env": env}))
    monkeypatch.setenv("MAILEXPORTS_STATE_FILE", str(state))

    assert main(["tenant", "rotate-secret", "acme", "--grace-hours", "2"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["tenant_id"] == tenant.tenant_id
    stored = DynamoTenantStore().get(tenant.tenant_id)
    assert stored is not None
    assert printed["webhook_secret"] == stored.webhook_secret
    assert stored.previous_webhook_secret == tenant.webhook_secret

    assert main(["tenant", "rotate-secret", "nobody"]) == 2
    assert main(["tenant", "rotate-secret", "acme", "--grace-hours", "-1"]) == 2
    assert "error:" in capsys.readouterr().err
