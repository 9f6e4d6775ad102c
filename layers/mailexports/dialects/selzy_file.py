"""Selzy's delivery report: the shape its clients read getCampaignDeliveryStats in (a
layout, exports/layouts.py, that Selzy's FILES give the worker)."""

from __future__ import annotations

from mailexports.dialects.dialect import DialectFiles
from mailexports.dialects.names import SELZY
from mailexports.exports.exporters.base import Row
from mailexports.exports.layouts import dumps
from mailexports.exports.requests import ExportType
from mailexports.exports.task import ExportTask

# Selzy's `send_result` for each of our delivery statuses (the vendor's checkEmail status
# list; README "Selzy" has the same table). A recipient's status is the latest
# delivery-kind event, never an open or a click, so ok_read and ok_link_visited do not occur.
SELZY_SEND_RESULTS: dict[str, str] = {
    "sent": "ok_sent",  # sent, no delivery answer yet
    "delivered": "ok_delivered",
    "soft_bounce": "err_will_retry",  # a delivery attempt failed, attempts continue
    "hard_bounce": "err_user_unknown",  # the address does not exist
    "complaint": "ok_fbl",  # delivered, then marked as spam by the recipient
    "unsubscribe": "ok_unsubscribed",
    "reject": "err_not_allowed",  # the sending service refused to send it
}
SELZY_UNKNOWN_STATUS = "not_sent"


class SelzyDeliveryReport:
    """Selzy's getCampaignDeliveryStats report (seed 002 and the vendor's synchronous method):
    `{"result": {"fields": ["email", "send_result", "last_update", <field ids>], "data": [[...]]}}`,
    one array per recipient, `last_update` as `YYYY-MM-DD hh:mm:ss` UTC.

    The field ids are the task's, in its order; each record's `fields` holds exactly
    those ids in that order (the reader builds it from the same list)."""

    splittable = True
    extension = "json"

    def head(self, task: ExportTask) -> bytes:
        field_ids = [str(field_id) for field_id in task.params.get("field_ids") or []]
        fields = dumps(["email", "send_result", "last_update", *field_ids])
        return b'{"result":{"fields":' + fields + b',"data":['

    def item(self, row: Row, index: int, last_group: int | None) -> bytes:
        record = row.record
        changed_at = record["changed_at"]  # always `2025-03-01T10:11:12.345Z`, UTC
        values = [
            record["email"],
            SELZY_SEND_RESULTS.get(record["status"], SELZY_UNKNOWN_STATUS),
            f"{changed_at[:10]} {changed_at[11:19]}",
            *record.get("fields", {}).values(),
        ]
        return (b"," if index else b"") + dumps(values)

    def tail(self, count: int, last_group: int | None) -> bytes:
        return b"]}}"


FILES = DialectFiles(name=SELZY, layouts={ExportType.CAMPAIGN_DELIVERY: SelzyDeliveryReport})
