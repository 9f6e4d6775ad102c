"""`mailexports load FILE --tenant TENANT`: import marketing data in the NDJSON import format.

Two passes over the file, so memory stays flat however big it is. The first
parses and checks every line and learns which campaign each `stat_id` was sent
for (from the file's send lines, else from the store): an event or message may
come before its send line. The second writes the good records, a chunk at a
time. A bad line is reported with its number and a reason naming the field;
`--strict` rejects the whole file before anything is written, otherwise bad
lines are skipped. Loading the same file again changes nothing.
"""

from __future__ import annotations

import argparse
import gzip
import io
import itertools
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from mailexports.errors import DomainError
from mailexports.marketing.records import EventRecord, ImportRecord, MessageRecord, SendRecord, parse_line
from mailexports.marketing.writer import MarketingWriter, WriteStats, record_problem
from mailexports_cli.target import add_target_arguments, apply_target

if TYPE_CHECKING:  # rich is imported only when a progress line is drawn: every command imports this module
    from rich.progress import Progress, TaskID

# Bad lines kept for the report (the lowest line numbers); the rest are only counted.
MAX_REPORTED_BAD_LINES = 1000
# Records handed to the writer at a time.
CHUNK_RECORDS = 2000
_BOM = b"\xef\xbb\xbf"
_PROGRESS_EVERY_S = 0.25


@dataclass(frozen=True, order=True)
class BadLine:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class LoadReport:
    path: str
    tenant_id: str
    strict: bool
    lines: int = 0  # non-blank lines read
    bad_count: int = 0
    bad_lines: list[BadLine] = field(default_factory=list)  # the first MAX_REPORTED_BAD_LINES, in order
    aborted: bool = False  # --strict found bad lines: nothing was written
    seconds: float = 0.0
    stats: WriteStats = field(default_factory=WriteStats)

    @property
    def written(self) -> dict[str, int]:
        """Records written, per kind."""
        return dict(self.stats.records)

    @property
    def records_written(self) -> int:
        return self.stats.total_records

    @property
    def records_per_second(self) -> float:
        return self.records_written / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        if self.aborted:
            return (
                f"nothing written: {self.bad_count:,} bad line(s) of {self.lines:,} in {self.path} "
                "(--strict rejects the whole file; fix them, or load without --strict to skip them)"
            )
        kinds = ", ".join(f"{count:,} {kind}" for kind, count in sorted(self.written.items())) or "nothing"
        skipped = f"{self.bad_count:,} bad line(s) skipped" if self.bad_count else "no bad lines"
        return (
            f"loaded {self.records_written:,} records into tenant {self.tenant_id} "
            f"in {self.seconds:.1f} s ({self.records_per_second:,.0f} records/s): {kinds}; {skipped}"
        )


def load_file(
    path: str | Path,
    tenant_id: str,
    *,
    strict: bool = False,
    progress: bool | TextIO | None = None,
    writer: MarketingWriter | None = None,
    chunk_records: int = CHUNK_RECORDS,
) -> LoadReport:
    """Import one NDJSON file (`.gz` too) into the tenant's marketing data.

    `progress`: None shows it when stderr is a terminal, True always (on stderr),
    False never, or a stream to write it to. Raises OSError if the file cannot be read.
    """
    started = time.monotonic()
    path = Path(path)
    writer = writer or MarketingWriter(tenant_id)
    check = _Check(tenant_id, writer, LoadReport(path=str(path), tenant_id=tenant_id, strict=strict))
    meter = _Progress(_progress_stream(progress), force=progress is not None and progress is not False)

    try:
        check.first_pass(path, meter)
        check.resolve_sends()
        if check.unknown_stats:
            check.find_unknown_stat_lines(path)
        report = check.report
        report.bad_lines.sort()
        del report.bad_lines[MAX_REPORTED_BAD_LINES:]

        if strict and report.bad_count:
            report.aborted = True
        else:
            writer.remember_sends(check.campaign_of_stat)
            meter.begin("writing")
            for chunk in itertools.batched(check.good_records(path), chunk_records, strict=False):
                report.stats.add(writer.write(chunk))
                meter.show(report.records_written)
            meter.show(report.records_written, final=True)
    finally:
        meter.close()  # an error message must not land on the end of the progress line
    report.seconds = time.monotonic() - started
    return report


# ---------------------------------------------------------------- checking


@dataclass
class _Send:
    campaign_id: str
    lines: list[int]  # send lines are few: one per campaign send


class _Check:
    """What the first pass learns: bad lines, the file's sends and the stat ids it refers to."""

    def __init__(self, tenant_id: str, writer: MarketingWriter, report: LoadReport) -> None:
        self.tenant_id = tenant_id
        self.writer = writer
        self.report = report
        self.sends: dict[str, _Send] = {}
        self.referenced: set[str] = set()
        self.campaign_of_stat: dict[str, str] = {}
        self.unknown_stats: set[str] = set()
        # Line numbers to skip when writing; bad lines are the exception, so this stays small.
        self.skip: set[int] = set()

    def bad(self, line: int, reason: str) -> None:
        self.report.bad_count += 1
        self.skip.add(line)
        reported = self.report.bad_lines
        reported.append(BadLine(line, reason))
        if len(reported) >= 2 * MAX_REPORTED_BAD_LINES:  # keep the lowest line numbers, bounded
            reported.sort()
            del reported[MAX_REPORTED_BAD_LINES:]

    def first_pass(self, path: Path, meter: _Progress) -> None:
        meter.begin("checking")
        for number, parsed in _parsed_lines(path):
            self.report.lines += 1
            if self.report.lines % 1000 == 0:
                meter.show(self.report.lines)
            if isinstance(parsed, str):
                self.bad(number, parsed)
                continue
            problem = record_problem(self.tenant_id, parsed)
            if problem:
                self.bad(number, problem)
            elif isinstance(parsed, SendRecord):
                self._send(number, parsed)
            elif isinstance(parsed, EventRecord | MessageRecord):
                self.referenced.add(parsed.stat_id)
        meter.show(self.report.lines, final=True)

    def _send(self, number: int, record: SendRecord) -> None:
        seen = self.sends.get(record.stat_id)
        if seen is None:
            self.sends[record.stat_id] = _Send(record.campaign_id, [number])
        elif seen.campaign_id == record.campaign_id:
            seen.lines.append(number)
        else:
            self.bad(
                number,
                f"stat_id: {record.stat_id!r} was sent for campaign {seen.campaign_id!r} on line "
                f"{seen.lines[0]}; a send belongs to one campaign",
            )

    def resolve_sends(self) -> None:
        """Each stat id's campaign: the store's if it has the send, else the file's."""
        for stat_id, send in self.sends.items():
            stored = self.writer.campaign_of(stat_id)
            if stored is not None and stored != send.campaign_id:
                for number in send.lines:
                    self.bad(
                        number,
                        f"stat_id: {stat_id!r} is already stored as a send of campaign {stored!r}, "
                        f"not {send.campaign_id!r}",
                    )
            self.campaign_of_stat[stat_id] = stored or send.campaign_id
        for stat_id in sorted(self.referenced - self.sends.keys()):
            stored = self.writer.campaign_of(stat_id)
            if stored is None:
                self.unknown_stats.add(stat_id)
            else:
                self.campaign_of_stat[stat_id] = stored

    def find_unknown_stat_lines(self, path: Path) -> None:
        """A third read, only when some stat id has no send: finds the lines naming one."""
        for number, parsed in _parsed_lines(path):
            if (
                number not in self.skip
                and isinstance(parsed, EventRecord | MessageRecord)
                and parsed.stat_id in self.unknown_stats
            ):
                self.bad(
                    number,
                    f"stat_id: no send {parsed.stat_id!r} in this file or in the store (add its `send` line)",
                )

    def good_records(self, path: Path) -> Iterator[ImportRecord]:
        for number, parsed in _parsed_lines(path):
            if number not in self.skip and not isinstance(parsed, str):
                yield parsed


def _open(path: Path) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def _parsed_lines(path: Path) -> Iterator[tuple[int, ImportRecord | str]]:
    """(line number, record or the reason it is bad) for every non-blank line."""
    with _open(path) as lines:
        for number, raw in enumerate(lines, start=1):
            if number == 1:
                raw = raw.removeprefix(_BOM)
            raw = raw.strip()
            if not raw:
                continue
            try:
                yield number, parse_line(raw)
            except ValidationError as error:
                yield number, describe(error)


def describe(error: ValidationError) -> str:
    """One line naming the field at fault, from pydantic's first error."""
    problems = error.errors(include_url=False)
    first = problems[0]
    location = [str(part) for part in first["loc"]]
    kind_tag = location.pop(0) if location else ""  # the discriminator tag: the record's kind
    if first["type"] == "json_invalid":
        # pydantic counts lines inside the document: on one line, only the column says anything.
        reason = (
            first["msg"].replace("Invalid JSON", "invalid JSON", 1).replace(" at line 1 column", " at column")
        )
    elif first["type"] == "union_tag_not_found":
        reason = "kind: missing (each line needs a `kind`)"
    elif first["type"] == "union_tag_invalid":
        reason = f"kind: {first['input'].get('kind')!r} is not one of {first['ctx']['expected_tags']}"
    elif not location and first["type"].endswith("_type"):
        reason = "not a JSON object"
    else:
        name = ".".join(location) if location else kind_tag
        reason = f"{name}: {first['msg'].removeprefix('Value error, ')}"
        if first["type"] not in {"missing", "extra_forbidden"} and _is_scalar(first.get("input")):
            reason += f" (got {_short(first['input'])})"
        if location and kind_tag:
            reason += f" [{kind_tag}]"
    if len(problems) > 1:
        reason += f"; and {len(problems) - 1} more problem(s)"
    return reason


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------- progress


def _progress_stream(progress: bool | TextIO | None) -> TextIO | None:
    """Where to draw the progress line: stderr if it is a terminal, unless told otherwise."""
    if progress is None:
        return sys.stderr if sys.stderr.isatty() else None
    if progress is True:
        return sys.stderr
    if progress is False:
        return None
    return progress


class _Progress:
    """One status line (rich), redrawn in place at most four times a second.

    Redrawn only when `show` is called, so a line always tells a count the loader reached.
    A stream that was asked for explicitly (`--progress`, or a test's buffer) is drawn on
    as a terminal would be, even when it is not one.
    """

    def __init__(self, stream: TextIO | None, *, force: bool = False) -> None:
        self._progress: Progress | None = None
        if stream is not None:
            from rich.console import Console
            from rich.progress import Progress, TextColumn, TimeElapsedColumn

            console = Console(file=stream, force_terminal=True if force else None, highlight=False)
            self._progress = Progress(
                TextColumn("{task.description}: {task.completed:,} {task.fields[unit]}, "
                           "{task.fields[rate]:,.0f} {task.fields[unit]}/s"),
                TimeElapsedColumn(),
                console=console,
                auto_refresh=False,
            )  # fmt: skip
            self._progress.start()
        self._bar: TaskID | None = None
        self._phase_started = time.monotonic()
        self._phase = "loading"
        self._last = 0.0

    def begin(self, phase: str) -> None:
        self._phase, self._phase_started = phase, time.monotonic()
        if self._progress is not None and self._bar is not None:
            self._progress.reset(self._bar, description=phase, unit=self._unit, rate=0.0)

    @property
    def _unit(self) -> str:
        return "lines" if self._phase == "checking" else "records"

    def show(self, count: int, *, final: bool = False) -> None:
        if self._progress is None:
            return
        now = time.monotonic()
        if not final and now - self._last < _PROGRESS_EVERY_S:
            return
        self._last = now
        rate = count / max(now - self._phase_started, 1e-9)
        if self._bar is None:  # added on the first count, so no line ever shows a count of nothing yet
            self._bar = self._progress.add_task(
                self._phase, total=None, completed=count, unit=self._unit, rate=rate
            )
        self._progress.update(self._bar, description=self._phase, completed=count, unit=self._unit, rate=rate)
        self._progress.refresh()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()  # ends the line: an error message must not land on its end


# ---------------------------------------------------------------- command


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "load",
        help="import marketing data (the NDJSON import format) into a tenant",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", type=Path, help="NDJSON file, one record a line (.gz accepted)")
    parser.add_argument("--tenant", required=True, help="the tenant's id or name")
    parser.add_argument(
        "--strict", action="store_true", help="write nothing if any line is bad (default: skip bad lines)"
    )
    parser.add_argument(
        "--progress",
        action="store_true",
        default=None,
        help="show the progress line even when stderr is not a terminal",
    )
    add_target_arguments(parser)
    parser.set_defaults(handler=run)


def resolve_tenant_id(id_or_name: str) -> str | None:
    """The id of the tenant with this id or name, or None."""
    from mailexports.tenants.store import DynamoTenantStore

    tenant = DynamoTenantStore().find(id_or_name)
    return tenant.tenant_id if tenant else None


def run(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        print(f"error: {path}: no such file", file=sys.stderr)
        return 2
    apply_target(args)
    try:
        tenant_id = resolve_tenant_id(args.tenant)
        if tenant_id is None:
            print(
                f"error: no tenant {args.tenant!r} "
                "(give its id or name; `mailexports tenant create` makes one)",
                file=sys.stderr,
            )
            return 2
        report = load_file(path, tenant_id, strict=args.strict, progress=args.progress)
    except (OSError, EOFError) as error:  # EOFError: a truncated .gz
        print(f"error: cannot read {path}: {error}", file=sys.stderr)
        return 2
    except DomainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as error:
        print(f"error: the store refused the import: {error}", file=sys.stderr)
        return 1
    for bad in report.bad_lines:
        print(f"{path}: {bad}", file=sys.stderr)
    if report.bad_count > len(report.bad_lines):
        print(f"{path}: ... and {report.bad_count - len(report.bad_lines):,} more bad lines", file=sys.stderr)
    print(report.summary())
    return 2 if report.aborted else 0
