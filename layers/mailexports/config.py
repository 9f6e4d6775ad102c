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
    # Per-tenant running slots and submit-rate buckets (fairness bookkeeping).
    limits_table: str = Field(alias="LIMITS_TABLE")
    export_queue_url: str = Field(default="", alias="EXPORT_QUEUE_URL")
    # A big export's slices: the same worker, its own pool (fanout.py).
    slice_queue_url: str = Field(default="", alias="SLICE_QUEUE_URL")
    notify_queue_url: str = Field(default="", alias="NOTIFY_QUEUE_URL")
    exports_bucket: str = Field(alias="EXPORTS_BUCKET")
    data_bucket: str = Field(alias="DATA_BUCKET")
    schedules_table: str = Field(default="", alias="SCHEDULES_TABLE")
    signing_secret_arn: str = Field(default="", alias="SIGNING_SECRET_ARN")
    retention_days: int = Field(default=7, ge=1, alias="RETENTION_DAYS")
    sender_email: str = Field(default="exports@example.com", alias="SENDER_EMAIL")
    presign_ttl_seconds: int = Field(default=300, ge=1, le=3600, alias="PRESIGN_TTL_SECONDS")
    # Export worker tuning: parts end on a record boundary once this big (S3's floor is 5 MiB).
    export_part_bytes: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024, alias="EXPORT_PART_BYTES")
    # A file past this many bytes (before compression) is closed and the next one begun.
    export_max_file_bytes: int = Field(default=1024**3, ge=5 * 1024 * 1024, alias="EXPORT_MAX_FILE_BYTES")
    # Stop, checkpoint and continue in a new invocation when less time than this remains.
    export_time_reserve_ms: int = Field(default=60_000, ge=1_000, alias="EXPORT_TIME_RESERVE_MS")
    # Matches ExportQueue's maxReceiveCount: the last delivery marks the task failed.
    export_max_receives: int = Field(default=5, ge=1, alias="EXPORT_MAX_RECEIVES")
    # A processing task whose heartbeat is older than this is taken over or re-driven.
    heartbeat_stale_seconds: int = Field(default=300, ge=30, alias="HEARTBEAT_STALE_SECONDS")
    # Customer destinations: the service assumes only roles whose name begins with this
    # (template parameter DestinationRolePrefix; the IAM policy grants no other).
    destination_role_prefix: str = Field(
        default="mailexports-destination-", min_length=1, alias="DESTINATION_ROLE_PREFIX"
    )
    # Fan-out (exports/fanout.py): an export of sharded data estimated to read N items is
    # worked in N // EXPORT_FANOUT_ITEMS_PER_SLICE slices of shards by parallel invocations,
    # at most EXPORT_FANOUT_MAX_SLICES (1: never); under two slices' worth, by one worker.
    # One slice per shard (keys.SHARDS, 32) is what the scale model (bench/bench_scale.py)
    # needs for 100 GB in 15 minutes; a slice holds whole shards, so there can be no more.
    export_fanout_max_slices: int = Field(default=32, ge=1, le=32, alias="EXPORT_FANOUT_MAX_SLICES")
    export_fanout_items_per_slice: int = Field(default=500_000, ge=1, alias="EXPORT_FANOUT_ITEMS_PER_SLICE")
    watchdog_max_redrives: int = Field(default=3, ge=0, alias="WATCHDOG_MAX_REDRIVES")
    # Fair under load: at most this many exports of one tenant run at once; the rest wait in `new`.
    max_running_per_tenant: int = Field(default=5, ge=1, alias="MAX_RUNNING_PER_TENANT")
    # Submits per tenant: a token bucket refilled at this rate, holding at most `submit_burst`.
    submit_rate_per_second: float = Field(default=5.0, gt=0, alias="SUBMIT_RATE_PER_SECOND")
    submit_burst: int = Field(default=50, ge=1, alias="SUBMIT_BURST")
    # An export's watermark is its start minus this: it must exceed the longest a write can be
    # in flight after its arrival stamp, plus index (GSI) propagation, plus the clock skew
    # between writers and workers (docs/data-model.md, "Arrival and watermarks").
    watermark_lag_seconds: int = Field(default=120, ge=0, le=86_400, alias="WATERMARK_LAG_SECONDS")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        return cls.model_validate(dict(os.environ if environ is None else environ))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call `get_settings.cache_clear()` after changing the env."""
    return Settings.from_env()
