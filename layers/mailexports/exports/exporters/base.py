"""The exporter contract: rows in a stable order, each with the cursor after it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from mailexports.exports.task import ExportTask
from mailexports.marketing.arrivals import ArrivalWindow


@dataclass(frozen=True, slots=True)
class Row:
    record: dict[str, Any]  # JSON-ready
    cursor: str  # passing this back as `after` continues right after this row
    group: int = 0  # contact_data: which inner array of the document


class Exporter(Protocol):
    def rows(self, task: ExportTask, after: str | None) -> Iterator[Row]:
        """Every row of the export after `after` (None: from the start), in a stable order."""
        ...


class ShardedExporter(Exporter, Protocol):
    """An export of sharded data (keys.py), which a big task may read in slices of shards."""

    def slice_rows(self, task: ExportTask, after: str | None, shards: Sequence[int]) -> Iterator[Row]:
        """`rows` of these shards only: the same order restricted to them (a contact is in one shard)."""
        ...

    def first_shard(self, task: ExportTask) -> list[str]:
        """The partitions of shard 0 the export reads: counting them estimates its size."""
        ...


def arrival_window(task: ExportTask) -> ArrivalWindow | None:
    """What the task reads by arrival: before its watermark, after its since_task's (if any).
    None for a task claimed before watermarks existed (it reads everything, as it did)."""
    if task.watermark is None:
        return None
    return ArrivalWindow(until=task.watermark, since=task.since_watermark)
