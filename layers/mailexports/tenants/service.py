"""Creating tenants and issuing API keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from mailexports.errors import ValidationFailed
from mailexports.tenants.credentials import hash_api_key, new_api_key, new_webhook_secret
from mailexports.tenants.models import CreatedTenant, Tenant
from mailexports.tenants.store import DynamoTenantStore, TenantStore


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
