"""`campaign_delivery`: each recipient's latest delivery status, changed since a time."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from mailexports.exports.exporters.base import Row, arrival_window, estimate_from_shard_zero
from mailexports.exports.requests import CampaignDeliveryParams
from mailexports.exports.task import ExportTask
from mailexports.marketing import keys
from mailexports.marketing.reader import MarketingReader
from mailexports.marketing.views import RecipientStatus
from mailexports.marketing.vocabulary import iso_ms


def _cursor(changed_at: datetime, contact_id: str) -> str:
    return json.dumps([iso_ms(changed_at), contact_id])


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    at, contact_id = json.loads(cursor)
    return datetime.fromisoformat(at), contact_id


class CampaignDeliveryExporter:
    def rows(self, task: ExportTask, after: str | None) -> Iterator[Row]:
        return self.slice_rows(task, after, None)

    def estimated_items(self, task: ExportTask, up_to: int) -> int:
        campaign_id = CampaignDeliveryParams.model_validate(task.params).campaign_id
        return estimate_from_shard_zero(task, [keys.recipients_pk(task.tenant_id, campaign_id, 0)], up_to)

    def slice_rows(self, task: ExportTask, after: str | None, shards: Sequence[int] | None) -> Iterator[Row]:
        params = CampaignDeliveryParams.model_validate(task.params)
        reader = MarketingReader(task.tenant_id)
        window = arrival_window(task)
        if window is not None and window.since is not None:
            # Incremental: in arrival order; the cursor is the arrival index's sort key.
            changed = reader.delivery_arrived(
                params.campaign_id,
                window,
                changed_since=params.changed_since,
                after=after,
                field_ids=params.field_ids,
                shards=shards,
            )
            for cursor, recipient in changed:
                yield Row(_record(recipient, params), cursor)
            return
        recipients = reader.campaign_delivery(
            params.campaign_id,
            changed_since=params.changed_since,
            after=_after(after),
            field_ids=params.field_ids,
            arrived=window,
            shards=shards,
        )
        for recipient in recipients:
            yield Row(_record(recipient, params), _cursor(recipient.changed_at, recipient.contact_id))


def _record(recipient: RecipientStatus, params: CampaignDeliveryParams) -> dict[str, Any]:
    record = recipient.model_dump(mode="json")
    record["fields"] = recipient.fields if params.field_ids else {}
    return record
