"""Notifier tuning, read from the environment like `Settings` (defaults suit production)."""

from __future__ import annotations

import os
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field


class NotifyOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    # Standard Webhooks: a receiver that has not answered in 10 s has failed this attempt.
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=30, alias="NOTIFY_WEBHOOK_TIMEOUT_SECONDS")
    # A contact_data file up to this size is attached to the email. SES v2 takes 40 MB per
    # message after base64 (x4/3), so 5 MiB stays far inside it; anything larger is linked.
    attachment_max_bytes: int = Field(
        default=5 * 1024 * 1024, ge=0, le=25 * 1024 * 1024, alias="NOTIFY_ATTACHMENT_MAX_BYTES"
    )
    # Failed deliveries are retried for at least this long after the first attempt.
    retry_horizon_hours: float = Field(default=24, ge=24, le=72, alias="NOTIFY_RETRY_HORIZON_HOURS")
    retry_base_seconds: float = Field(default=30, ge=1, le=3600, alias="NOTIFY_RETRY_BASE_SECONDS")
    retry_max_delay_seconds: float = Field(
        default=4 * 3600, ge=60, le=12 * 3600, alias="NOTIFY_RETRY_MAX_DELAY_SECONDS"
    )
    # A hard stop whatever happens (throttling is otherwise retried past the horizon).
    max_attempts: int = Field(default=100, ge=1, le=500, alias="NOTIFY_MAX_ATTEMPTS")

    @property
    def retry_horizon(self) -> timedelta:
        return timedelta(hours=self.retry_horizon_hours)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> NotifyOptions:
        return cls.model_validate(dict(os.environ if environ is None else environ))
