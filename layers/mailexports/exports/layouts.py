"""How records are framed into file bytes: a JSON document, NDJSON, or the
`contact_data` document. A layout is stateless: what it needs to know about the
file so far (records written, the last record's group) lives in the checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from mailexports.exports.checkpoint import Checkpoint
from mailexports.exports.csv_layout import csv_layout
from mailexports.exports.exporters.base import Row
from mailexports.exports.task import ExportTask
from mailexports.marketing.records import iso_ms


def _compact_encoder() -> Callable[[Any], str]:
    """A compact, non-ASCII-escaping JSON encoder built once.

    `json.dumps` builds its C encoder afresh on every call; for millions of small
    records that set-up costs as much as the encoding. Records are plain trees of
    dicts, lists and scalars (no cycles), so the circular-reference check is off.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # a Python without the C accelerator
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    fallback = json.JSONEncoder().default
    encode = make(None, fallback, json.encoder.encode_basestring, None, ":", ",", False, False, True)
    return lambda value: "".join(encode(value, 0))


_encode = _compact_encoder()


def dumps(value: Any) -> bytes:
    return _encode(value).encode()


class Layout(Protocol):
    # Whether a long export may be split over several files (each a whole document).
    splittable: bool
    extension: str

    def head(self, task: ExportTask) -> bytes: ...
    def item(self, row: Row, index: int, last_group: int | None) -> bytes: ...
    def tail(self, count: int, last_group: int | None) -> bytes: ...


class JsonDocument:
    """`{"task_uuid", "task_type", "generated_at", "records": [...], "count"}`.

    `count` comes last: the file is written while the records stream by."""

    splittable = True
    extension = "json"

    def head(self, task: ExportTask) -> bytes:
        generated_at = iso_ms(task.started_at or task.created_at)
        fields = dumps(
            {"task_uuid": task.task_uuid, "task_type": task.task_type.value, "generated_at": generated_at}
        )
        return fields[:-1] + b',"records":['

    def item(self, row: Row, index: int, last_group: int | None) -> bytes:
        return (b"," if index else b"") + dumps(row.record)

    def tail(self, count: int, last_group: int | None) -> bytes:
        return b'],"count":' + str(count).encode() + b"}"


class Ndjson:
    splittable = True
    extension = "ndjson"

    def head(self, task: ExportTask) -> bytes:
        return b""

    def item(self, row: Row, index: int, last_group: int | None) -> bytes:
        return dumps(row.record) + b"\n"

    def tail(self, count: int, last_group: int | None) -> bytes:
        return b""


class ContactDataDocument:
    """`{"info": {"type": "email", "id": ...}, "data": [[messages], [opens], [clicks], [surveys]]}`:
    one inner array per kind, in that order; `Row.group` says which array a record joins."""

    splittable = False
    extension = "json"
    groups = 4

    def head(self, task: ExportTask) -> bytes:
        return dumps({"info": {"type": "email", "id": task.params["email"]}})[:-1] + b',"data":[['

    def item(self, row: Row, index: int, last_group: int | None) -> bytes:
        current = 0 if last_group is None else last_group
        if row.group > current:
            return b"],[" * (row.group - current) + dumps(row.record)
        return (b"," if last_group is not None else b"") + dumps(row.record)

    def tail(self, count: int, last_group: int | None) -> bytes:
        current = 0 if last_group is None else last_group
        return b"],[" * (self.groups - 1 - current) + b"]]}"


class PinpointeSubscribersDocument:
    """Pinpointe's GetSegmentSubscribersAsync file (seed 001): the records as `subscribers`
    beside their `count`, in the top-level shape of Pinpointe's JSON answers:
    `{"status": "SUCCESS", "data": {"subscribers": [...], "count": N}}`."""

    splittable = True
    extension = "json"

    def head(self, task: ExportTask) -> bytes:
        return b'{"status":"SUCCESS","data":{"subscribers":['

    def item(self, row: Row, index: int, last_group: int | None) -> bytes:
        return (b"," if index else b"") + dumps(row.record)

    def tail(self, count: int, last_group: int | None) -> bytes:
        return b'],"count":' + str(count).encode() + b"}}"


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


# JSON files shaped the way a compatibility dialect's clients read them, by
# (task.dialect, task_type); every other task gets the canonical layouts.
DIALECT_LAYOUTS: dict[tuple[str, str], Callable[[], Layout]] = {
    ("pinpointe", "segment_contacts"): PinpointeSubscribersDocument,
    ("selzy", "campaign_delivery"): SelzyDeliveryReport,
}


def layout_for(task: ExportTask, checkpoint: Checkpoint | None = None) -> Layout:
    """`checkpoint`: where a CSV layout keeps what it read from the store (see csv_layout)."""
    if task.task_type == "contact_data":
        return ContactDataDocument()
    if task.format == "csv":
        return csv_layout(task, checkpoint if checkpoint is not None else Checkpoint())
    if task.format == "json" and task.dialect is not None:
        dialect_layout = DIALECT_LAYOUTS.get((task.dialect, task.task_type.value))
        if dialect_layout is not None:
            return dialect_layout()
    return Ndjson() if task.format == "ndjson" else JsonDocument()
