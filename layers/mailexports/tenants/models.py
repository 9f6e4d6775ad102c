"""A tenant: one username, any number of API keys (stored hashed), one webhook signing secret."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Tenant(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str
    name: str
    username: str
    # Needed in clear to sign webhooks; lives only in the Tenants table (encrypted at rest).
    webhook_secret: str = Field(repr=False)
    created_at: datetime
    # After a rotation the old secret still signs webhooks until it retires, so receivers
    # can switch over without missing one (Standard Webhooks: several signatures).
    previous_webhook_secret: str | None = Field(default=None, repr=False)
    previous_secret_retires_at: datetime | None = None

    def signing_secrets(self, at: datetime) -> list[str]:
        """The secrets webhooks sent at `at` are signed with: current first."""
        secrets = [self.webhook_secret]
        if (
            self.previous_webhook_secret
            and self.previous_secret_retires_at is not None
            and at < self.previous_secret_retires_at
        ):
            secrets.append(self.previous_webhook_secret)
        return secrets


class CreatedTenant(BaseModel):
    """What `tenant create` prints once: the only time the API key is ever shown."""

    tenant_id: str
    name: str
    username: str
    api_key: str
    webhook_secret: str


class RotatedSecret(BaseModel):
    """What `tenant rotate-secret` prints once: the new secret and when the old one retires."""

    tenant_id: str
    webhook_secret: str
    previous_secret_retires_at: datetime
