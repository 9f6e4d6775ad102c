"""Service settings, parsed once from the environment into a model.

Every function reads the same variables (template.yaml `Globals`), so one model
serves them all; a missing required variable fails at start, not mid-request.
"""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    stage: str = Field(default="dev", alias="STAGE")
    tasks_table: str = Field(alias="TASKS_TABLE")
    tenants_table: str = Field(alias="TENANTS_TABLE")
    marketing_table: str = Field(alias="MARKETING_TABLE")
    export_queue_url: str = Field(default="", alias="EXPORT_QUEUE_URL")
    notify_queue_url: str = Field(default="", alias="NOTIFY_QUEUE_URL")
    exports_bucket: str = Field(alias="EXPORTS_BUCKET")
    data_bucket: str = Field(alias="DATA_BUCKET")
    retention_days: int = Field(default=7, ge=1, alias="RETENTION_DAYS")
    sender_email: str = Field(default="exports@example.com", alias="SENDER_EMAIL")
    presign_ttl_seconds: int = Field(default=300, ge=1, le=3600, alias="PRESIGN_TTL_SECONDS")
    # The local stack sets this so a developer can receive webhooks on http://localhost.
    allow_insecure_webhooks: bool = Field(default=False, alias="ALLOW_INSECURE_WEBHOOKS")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        return cls.model_validate(dict(os.environ if environ is None else environ))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call `get_settings.cache_clear()` after changing the env."""
    return Settings.from_env()
