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


class CreatedTenant(BaseModel):
    """What `tenant create` prints once: the only time the API key is ever shown."""

    tenant_id: str
    name: str
    username: str
    api_key: str
    webhook_secret: str
