"""The one place a credential becomes a tenant, for every route and dialect."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from mailexports.errors import Unauthorized
from mailexports.tenants.credentials import hash_api_key
from mailexports.tenants.models import Tenant
from mailexports.tenants.store import DynamoTenantStore, TenantStore


class Authenticator:
    def __init__(self, store: TenantStore | None = None) -> None:
        self._store = store or DynamoTenantStore()

    def tenant_for_key(self, api_key: str | None) -> Tenant:
        if not api_key:
            raise Unauthorized("missing API key: send `Authorization: Bearer <key>` or `x-api-key`")
        tenant = self._store.by_api_key_hash(hash_api_key(api_key.strip()))
        if tenant is None:
            raise Unauthorized("invalid API key")
        return tenant

    def tenant_for_user(self, username: str | None, api_key: str | None) -> Tenant:
        """Dialects that send a username beside the key (Pinpointe): both must match."""
        tenant = self.tenant_for_key(api_key)
        if not username or not hmac.compare_digest(tenant.username.lower(), username.strip().lower()):
            raise Unauthorized("invalid username or token")
        return tenant


def bearer_or_api_key(headers: Mapping[str, str]) -> str | None:
    """The canonical API's credential: `Authorization: Bearer <key>` or `x-api-key: <key>`."""
    lowered = {k.lower(): v for k, v in headers.items()}
    authorization = lowered.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return lowered.get("x-api-key") or None
