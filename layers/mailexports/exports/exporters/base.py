"""The exporter contract: rows in a stable order, each with the cursor after it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from mailexports.exports.task import ExportTask
from mailexports.marketing.arrivals import ArrivalWindow
from mailexports.marketing.keys import SHARDS
from mailexports.marketing.reader import MarketingReader


@dataclass(frozen=True, slots=True)
class Row:
    record: dict[str, Any]  # JSON-ready
    cursor: str  # passing this back as `after` continues right after this row
    group: int = 0  # contact_data: which inner array of the document


class Exporter(Protocol):
    def rows(self, task: ExportTask, after: str | None) -> Iterator[Row]:
        """Every row of the export after `after` (None: from the start), in a stable order."""
        ...


@runtime_checkable
class ShardedExporter(Exporter, Protocol):
    """An export of sharded data (keys.py), which a big task may read in slices of shards."""

    def slice_rows(self, task: ExportTask, after: str | None, shards: Sequence[int]) -> Iterator[Row]:
        """`rows` of these shards only: the same order restricted to them (a contact is in one shard)."""
        ...

    def estimated_items(self, task: ExportTask, up_to: int) -> int:
        """How many items the export reads, estimated from shard 0 and counted no further
        than `up_to` (a probe costs at most a SHARDS-th of that in reads)."""
        ...


def estimate_from_shard_zero(task: ExportTask, partitions: list[str], up_to: int) -> int:
    """SHARDS times what these shard-0 partitions hold: contacts spread evenly over the
    shards (crc32), so one shard estimates the whole at a SHARDS-th of the reads."""
    return SHARDS * MarketingReader(task.tenant_id).count_up_to(partitions, -(-up_to // SHARDS))


def arrival_window(task: ExportTask) -> ArrivalWindow | None:
    """What the task reads by arrival: before its watermark, after its since_task's (if any).
    None for a task claimed before watermarks existed (it reads everything, as it did)."""
    if task.watermark is None:
        return None
    return ArrivalWindow(until=task.watermark, since=task.since_watermark)
