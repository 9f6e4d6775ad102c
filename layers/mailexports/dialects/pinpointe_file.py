"""Pinpointe's segment file: the shape its clients read the GetSegmentSubscribersAsync
result in (a layout, exports/layouts.py, that Pinpointe's FILES give the worker)."""

from __future__ import annotations

from mailexports.dialects.dialect import DialectFiles
from mailexports.dialects.names import PINPOINTE
from mailexports.exports.exporters.base import Row
from mailexports.exports.layouts import dumps
from mailexports.exports.requests import ExportType
from mailexports.exports.task import ExportTask


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


FILES = DialectFiles(name=PINPOINTE, layouts={ExportType.SEGMENT_CONTACTS: PinpointeSubscribersDocument})
