"""Live progress bars (rich) on stderr: while an export runs, and while its files download.

stdout stays for what scripts read (task ids, JSON, tables). When stderr is not a
terminal rich draws nothing live and prints each bar's final state once.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    FileSizeColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from mailexports_cli.client.states import FINISHED


def stderr_console() -> Console:
    return Console(stderr=True)


class ExportProgress:
    """One line: status, a bar (pulsing: the record count is not known up front), records, bytes, elapsed."""

    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            SpinnerColumn(finished_text="•"),
            TextColumn("export [bold]{task.description}[/]"),
            BarColumn(),
            TextColumn("{task.fields[records]:,} records"),
            FileSizeColumn(),
            TimeElapsedColumn(),
            console=console or stderr_console(),
            refresh_per_second=4,
        )
        self._bar: TaskID = self._progress.add_task("new", total=None, records=0)  # elapsed: since submit

    def __enter__(self) -> ExportProgress:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._progress.stop()

    def show(self, task: dict[str, Any]) -> None:
        status = str(task.get("status", "?"))
        progress = task.get("progress") or {}
        records, size = int(progress.get("records") or 0), int(progress.get("bytes") or 0)
        finished = status in FINISHED
        self._progress.update(
            self._bar,
            description=status,
            completed=size,
            total=size if finished else None,  # a full bar (and no spinner) once done
            records=records,
        )
        if finished:
            self._progress.stop_task(self._bar)


class DownloadProgress:
    """One bar per file: bytes of the known total, speed, time left."""

    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console or stderr_console(),
            refresh_per_second=4,
        )

    def __enter__(self) -> DownloadProgress:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._progress.stop()

    def add(self, name: str, total: int | None) -> TaskID:
        return self._progress.add_task(name, total=total)

    def advance(self, bar: TaskID, size: int) -> None:
        self._progress.advance(bar, size)
