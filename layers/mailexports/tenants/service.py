"""Creating tenants and issuing API keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Protocol

from mailexports.errors import NotFound, ValidationFailed
from mailexports.tenants.credentials import hash_api_key, new_api_key, new_webhook_secret
from mailexports.tenants.models import CreatedTenant, RotatedSecret, Tenant
from mailexports.tenants.store import DynamoTenantStore, TenantStore

# How long the previous webhook secret keeps signing after a rotation.
SECRET_GRACE = timedelta(hours=24)
MAX_SECRET_GRACE = timedelta(days=30)


def create_tenant(name: str, username: str, store: TenantStore | None = None) -> CreatedTenant:
    name, username = name.strip(), username.strip()
    if not name or not username:
        raise ValidationFailed("a tenant needs a non-empty name and username")
    tenant = Tenant(
        tenant_id=str(uuid.uuid4()),
        name=name,
        username=username,
        webhook_secret=new_webhook_secret(),
        created_at=datetime.now(UTC),
    )
    api_key = new_api_key()
    (store or DynamoTenantStore()).create(tenant, hash_api_key(api_key))
    return CreatedTenant(
        tenant_id=tenant.tenant_id,
        name=tenant.name,
        username=tenant.username,
        api_key=api_key,
        webhook_secret=tenant.webhook_secret,
    )


def issue_api_key(tenant_id: str, store: TenantStore | None = None) -> str:
    api_key = new_api_key()
    (store or DynamoTenantStore()).add_api_key(tenant_id, hash_api_key(api_key))
    return api_key


class SecretRotationStore(Protocol):
    def get(self, tenant_id: str) -> Tenant | None: ...
    def rotate_webhook_secret(
        self, tenant_id: str, *, current: str, new: str, previous_retires_at: datetime
    ) -> None: ...


def rotate_webhook_secret(
    tenant_id: str,
    *,
    grace: timedelta = SECRET_GRACE,
    store: SecretRotationStore | None = None,
    at: datetime | None = None,
) -> RotatedSecret:
    """Issue a new webhook secret; the current one keeps signing for `grace` (then retires).
    A secret still in its grace period from an earlier rotation retires at once."""
    if not timedelta(0) <= grace <= MAX_SECRET_GRACE:
        raise ValidationFailed("the grace period must be between 0 and 30 days")
    store = store or DynamoTenantStore()
    tenant = store.get(tenant_id)
    if tenant is None:
        raise NotFound(f"no tenant {tenant_id}")
    secret = new_webhook_secret()
    retires = (at or datetime.now(UTC)) + grace
    store.rotate_webhook_secret(
        tenant_id, current=tenant.webhook_secret, new=secret, previous_retires_at=retires
    )
    return RotatedSecret(tenant_id=tenant_id, webhook_secret=secret, previous_secret_retires_at=retires)
