"""The exporter contract: rows in a stable order, each with the cursor after it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from mailexports.exports.task import ExportTask


@dataclass(frozen=True, slots=True)
class Row:
    record: dict[str, Any]  # JSON-ready
    cursor: str  # passing this back as `after` continues right after this row
    group: int = 0  # contact_data: which inner array of the document


class Exporter(Protocol):
    def rows(self, task: ExportTask, after: str | None) -> Iterator[Row]:
        """Every row of the export after `after` (None: from the start), in a stable order."""
        ...
