"""How records are framed into file bytes: a JSON document, NDJSON, or the
`contact_data` document. A layout is stateless: what it needs to know about the
file so far (records written, the last record's group) lives in the checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from mailexports.exports.checkpoint import Checkpoint
from mailexports.exports.csv_layout import csv_layout
from mailexports.exports.exporters.base import Row
from mailexports.exports.requests import ExportType
from mailexports.exports.task import ExportTask
from mailexports.marketing.vocabulary import iso_ms


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


LayoutFactory = Callable[[], Layout]
# A dialect's own file shapes: {dialect name: {export type: layout}} (dialects/dialect.py).
DialectLayouts = Mapping[str, Mapping[ExportType, LayoutFactory]]


def layout_for(
    task: ExportTask, checkpoint: Checkpoint | None = None, dialect_layouts: DialectLayouts | None = None
) -> Layout:
    """`checkpoint`: where a CSV layout keeps what it read from the store (see csv_layout).
    `dialect_layouts`: JSON files shaped the way a compatibility dialect's clients read
    them, for its tasks; every other task gets the canonical layouts."""
    if task.task_type == "contact_data":
        return ContactDataDocument()
    if task.format == "csv":
        return csv_layout(task, checkpoint if checkpoint is not None else Checkpoint())
    if task.format == "json" and task.dialect is not None:
        dialect_layout = (dialect_layouts or {}).get(task.dialect, {}).get(task.task_type)
        if dialect_layout is not None:
            return dialect_layout()
    return Ndjson() if task.format == "ndjson" else JsonDocument()
