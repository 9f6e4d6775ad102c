"""`segment_contacts`: the contacts of any of the segments, each once."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from mailexports.exports.exporters.base import Row, estimate_from_shard_zero
from mailexports.exports.requests import SegmentContactsParams
from mailexports.exports.task import ExportTask
from mailexports.marketing import keys
from mailexports.marketing.reader import MarketingReader
from mailexports.marketing.views import ContactView


def contact_record(contact: ContactView, params: SegmentContactsParams) -> dict[str, Any]:
    if params.custom_fields == "all":
        fields = dict(contact.custom_fields)
    else:
        # Every asked-for field appears, null where the contact has no value.
        fields = {name: contact.custom_fields.get(name) for name in params.custom_fields}
    record: dict[str, Any] = {
        "contact_id": contact.contact_id,
        "email": contact.email,
        "status": contact.status,
        "custom_fields": fields,
    }
    if params.include_membership:
        record["membership"] = list(contact.tags)
    return record


class SegmentContactsExporter:
    def rows(self, task: ExportTask, after: str | None) -> Iterator[Row]:
        return self.slice_rows(task, after, None)

    def slice_rows(self, task: ExportTask, after: str | None, shards: Sequence[int] | None) -> Iterator[Row]:
        params = SegmentContactsParams.model_validate(task.params)
        contacts = MarketingReader(task.tenant_id).segment_contacts(
            params.segment_ids, status=params.status, after_contact=after, shards=shards
        )
        for contact in contacts:
            yield Row(contact_record(contact, params), contact.contact_id)

    def estimated_items(self, task: ExportTask, up_to: int) -> int:
        segment_ids = SegmentContactsParams.model_validate(task.params).segment_ids
        partitions = [keys.segment_pk(task.tenant_id, segment, 0) for segment in dict.fromkeys(segment_ids)]
        return estimate_from_shard_zero(task, partitions, up_to)
