"""Submitting an export: validate references, write the task, enqueue it.

With an `Idempotency-Key` the task id is derived from (tenant, key), so a retried
submit finds the task it already made instead of making a second one; the same
key with another body is refused. A retry of a task still `new` re-sends its
message, so a crash between the put and the send heals on the client's retry.

The API routes pass a `SubmitRate`: a tenant over its rate is refused (RateLimited)
once the request is known to be valid, so bad input still writes nothing at all.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime

from mailexports.errors import IdempotencyMismatch, UnknownReference
from mailexports.exports.destination import check_writable
from mailexports.exports.messages import enqueue_export
from mailexports.exports.requests import (
    CampaignActivityParams,
    CampaignDeliveryParams,
    ExportRequest,
    SegmentContactsParams,
    refuse_unsupported_format,
)
from mailexports.exports.since_task import since_watermark
from mailexports.exports.submit_rate import SubmitRate
from mailexports.exports.task import ExportTask, NotificationState, TaskStatus
from mailexports.exports.task_store import DynamoTaskStore, TaskStore, now
from mailexports.marketing.reader import MarketingReader
from mailexports.notify.targets import validate_notify_target

_IDEMPOTENCY_NAMESPACE = uuid.UUID("0b6b7a52-3c55-4a4e-9d0e-6b1f0c9e8a11")


def request_hash(request: ExportRequest) -> str:
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class ExportSubmitter:
    def __init__(self, store: TaskStore | None = None, rate: SubmitRate | None = None) -> None:
        self._store = store or DynamoTaskStore()
        self._rate = rate

    def submit(
        self,
        tenant_id: str,
        request: ExportRequest,
        *,
        idempotency_key: str | None = None,
        api_base_url: str | None = None,
        dialect: str | None = None,
        schedule_id: str | None = None,
    ) -> tuple[ExportTask, bool]:
        """Return the task and whether this call created it."""
        task_uuid = (
            str(uuid.uuid5(_IDEMPOTENCY_NAMESPACE, f"{tenant_id}\n{idempotency_key}"))
            if idempotency_key
            else str(uuid.uuid4())
        )
        since = self.check(tenant_id, request, task_uuid=task_uuid)
        if self._rate is not None:  # spent only by a request that passed validation
            self._rate.take(tenant_id)
        digest = request_hash(request)
        task = ExportTask(
            task_uuid=task_uuid,
            tenant_id=tenant_id,
            task_type=request.type,
            params=request.params.model_dump(mode="json"),
            format=request.format,
            compression=request.compression,
            notify=request.notify,
            notification=(
                NotificationState(type=request.notify.type, target=request.notify.value)
                if request.notify
                else None
            ),
            destination=request.destination,
            dialect=dialect,
            schedule_id=schedule_id,
            created_at=now(),
            api_base_url=api_base_url,
            request_hash=digest,
            since_watermark=since,
        )
        created = self._store.create(task)
        if not created:
            existing = self._store.get(task_uuid, tenant_id)
            if existing.request_hash != digest:
                raise IdempotencyMismatch("this Idempotency-Key was already used with a different request")
            task = existing
        if task.status is TaskStatus.NEW:
            enqueue_export(task.task_uuid)
        return task, created

    def check(
        self, tenant_id: str, request: ExportRequest, *, task_uuid: str | None = None
    ) -> datetime | None:
        """Everything a submit refuses before writing (schedules check their export with it
        too); returns the watermark an incremental export starts from."""
        refuse_unsupported_format(request)
        self._check_references(tenant_id, request, task_uuid=task_uuid)
        return since_watermark(self._store, tenant_id, request)

    @staticmethod
    def _check_references(tenant_id: str, request: ExportRequest, *, task_uuid: str | None = None) -> None:
        """Refuse, before anything is written, a request naming what the tenant does not have
        (or a destination the service cannot write to)."""
        if request.notify is not None:
            # A webhook host is resolved and every address checked here, and again at connect time.
            validate_notify_target(request.notify)
        reader = MarketingReader(tenant_id)
        params = request.params
        problems: list[dict[str, str]] = []
        if isinstance(params, CampaignActivityParams) and reader.send(params.stat_id) is None:
            problems.append(
                {"field": "params.stat_id", "issue": f"no campaign send with stat_id {params.stat_id}"}
            )
        elif isinstance(params, SegmentContactsParams):
            # Each distinct id probed once: a probe reads every shard, and a list may repeat ids.
            unknown = {s for s in dict.fromkeys(params.segment_ids) if not reader.segment_exists(s)}
            problems += [
                {"field": f"params.segment_ids.{i}", "issue": f"no segment {segment}"}
                for i, segment in enumerate(params.segment_ids)
                if segment in unknown
            ]
        elif isinstance(params, CampaignDeliveryParams):
            if reader.campaign(params.campaign_id) is None:
                problems.append({"field": "params.campaign_id", "issue": f"no campaign {params.campaign_id}"})
            known = reader.fields() if params.field_ids else {}
            problems += [
                {"field": f"params.field_ids.{i}", "issue": f"no custom field with id {field_id}"}
                for i, field_id in enumerate(params.field_ids)
                if field_id not in known
            ]
        if problems:
            raise UnknownReference("; ".join(p["issue"] for p in problems), problems)
        if request.destination is not None:
            # Last (an STS call and two S3 requests), still before anything is written. The role
            # session names the task; a check without one (a schedule) is named as a check.
            check_writable(request.destination, tenant_id, task_uuid or f"check-{uuid.uuid4()}")
