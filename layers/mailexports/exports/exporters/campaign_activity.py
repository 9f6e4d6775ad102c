"""`campaign_activity`: one record per contact with opens or clicks of a send in the window."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from mailexports.exports.exporters.base import Row, arrival_window, estimate_from_shard_zero
from mailexports.exports.requests import CampaignActivityParams
from mailexports.exports.task import ExportTask
from mailexports.marketing import keys
from mailexports.marketing.reader import MarketingReader


class CampaignActivityExporter:
    def rows(self, task: ExportTask, after: str | None) -> Iterator[Row]:
        return self.slice_rows(task, after, None)

    def slice_rows(self, task: ExportTask, after: str | None, shards: Sequence[int] | None) -> Iterator[Row]:
        params = CampaignActivityParams.model_validate(task.params)
        activity = MarketingReader(task.tenant_id).campaign_activity(
            params.stat_id,
            start=params.start,
            end=params.end,
            events=frozenset(params.events),
            after_contact=after,
            arrived=arrival_window(task),
            shards=shards,
        )
        for contact in activity:
            yield Row(contact.model_dump(mode="json"), contact.contact_id)

    def estimated_items(self, task: ExportTask, up_to: int) -> int:
        stat_id = CampaignActivityParams.model_validate(task.params).stat_id
        return estimate_from_shard_zero(task, [keys.activity_events_pk(task.tenant_id, stat_id, 0)], up_to)
