"""`campaign_delivery`: each recipient's latest delivery status, changed since a time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

from mailexports.exports.exporters.base import Row
from mailexports.exports.requests import CampaignDeliveryParams
from mailexports.exports.task import ExportTask
from mailexports.marketing.reader import MarketingReader
from mailexports.marketing.records import iso_ms


def _cursor(changed_at: datetime, contact_id: str) -> str:
    return json.dumps([iso_ms(changed_at), contact_id])


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    at, contact_id = json.loads(cursor)
    return datetime.fromisoformat(at), contact_id


class CampaignDeliveryExporter:
    def rows(self, task: ExportTask, after: str | None) -> Iterator[Row]:
        params = CampaignDeliveryParams.model_validate(task.params)
        recipients = MarketingReader(task.tenant_id).campaign_delivery(
            params.campaign_id,
            changed_since=params.changed_since,
            after=_after(after),
            field_ids=params.field_ids,
        )
        for recipient in recipients:
            record = recipient.model_dump(mode="json")
            record["fields"] = recipient.fields if params.field_ids else {}
            yield Row(record, _cursor(recipient.changed_at, recipient.contact_id))
