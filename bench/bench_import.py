"""Import speed of `mailexports load` (`load_file`) against raw BatchWriteItem of the same items,
side by side in one run: against DynamoDB's latency (the target's verdict) and into moto.

The raw figure is what the issue compares with: the very items the loader ends up
writing (built by the project's own item builders, serialized before the clock starts),
sent by plain single-threaded `batch_write_item` calls of 25 into a fresh table. The
loader's figure is all of `load_file`: both passes over the file, the existence checks,
the conditional status puts, through the same clients.

The verdict is taken against DynamoDB's latency (`dynamodb_stand_in.py`: the real
botocore client, the network replaced by a sleep of DynamoDB's documented order),
in wall time, best of three interleaved rounds: "writes in parallel batches" is about
overlapping that latency, which single-threaded raw calls cannot. In-process moto
instead spends milliseconds of CPU per request under the GIL, so no thread overlaps
another there; its figure (process CPU time, one round, to keep the run under a
minute) shows the loader's extra requests in full and is printed as emulator CPU only.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from moto import mock_aws

from bench import dynamodb_stand_in
from bench.dynamodb_stand_in import LATENCY_S, LATENCY_SOURCES, StandIn, stand_in
from mailexports import aws
from mailexports.config import get_settings
from mailexports.marketing import arrivals
from mailexports.marketing.batches import BATCH_WRITE_ITEMS
from mailexports.marketing.codec import Item, serialize_item
from mailexports.marketing.items import MIME_INLINE_LIMIT, items_of, recipient_item, status_key
from mailexports.marketing.records import (
    DELIVERY_STATUS_OF,
    EventRecord,
    ImportRecord,
    MessageRecord,
    SendRecord,
    parse_line,
)
from mailexports.marketing.writer import WRITER_THREADS, MarketingWriter, record_problem
from mailexports_cli.load import LoadReport, load_file
from mailexports_dev.generate import GenerateOptions, write_dataset
from mailexports_dev.local.resources import REGION, create_resources

OPTIONS = GenerateOptions(contacts=2000, sends=2, campaigns=2)
TENANT = "bench-tenant"
ROUNDS = 3  # against DynamoDB's latency
MOTO_ROUNDS = 1
TARGETS = {"vs_raw": 0.8}  # load_file records/s / raw batch_write_item records/s, at least
# Only ever emulated: no request may leave the process.
_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "1",
}
# Names the stand-in's requests carry; nothing is created, nothing leaves the process.
_STAND_IN_ENV = {
    name: f"bench-{name.lower()}"
    for name in (
        "TASKS_TABLE",
        "TENANTS_TABLE",
        "MARKETING_TABLE",
        "LIMITS_TABLE",
        "EXPORTS_BUCKET",
        "DATA_BUCKET",
    )
}


def _verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def main() -> None:
    saved = dict(os.environ)
    os.environ.update(_ENV)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.pop("AWS_PROFILE", None)
    try:
        with tempfile.TemporaryDirectory() as folder:
            path, lines, wire = _dataset(Path(folder))
            print(f"dataset: {lines:,} lines, {path.stat().st_size / 1e6:.1f} MB ({OPTIONS})")
            _check_speed(path, lines)
            _against_dynamodb_latency(path, wire)
            _against_moto(path, wire)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        aws.reset_clients()
        get_settings.cache_clear()


def _dataset(folder: Path) -> tuple[Path, int, list[dict[str, Any]]]:
    """The generated file, its line count, and the raw baseline's items (serialized)."""
    path = folder / "dataset.ndjson"
    with path.open("w") as out:
        lines = write_dataset(OPTIONS, out)
    records = [parse_line(raw) for raw in path.read_bytes().splitlines() if raw.strip()]
    return path, lines, [serialize_item(item)[0] for item in _written_items(records)]


def _check_speed(path: Path, lines: int) -> None:
    """Pass 1's work alone (parse + storability check): no AWS involved."""
    started = time.perf_counter()
    with path.open("rb") as file:
        for raw in file:
            record_problem(TENANT, parse_line(raw))
    seconds = time.perf_counter() - started
    print(f"parse + check (pass 1 work, CPU only): {lines / seconds:,.0f} lines/s")


@contextmanager
def _fresh_store() -> Iterator[str]:
    """A fresh in-process moto with every resource created; yields the marketing table's name."""
    with mock_aws():
        _, environment = create_resources(prefix="bench")
        os.environ.update(environment)
        aws.reset_clients()
        get_settings.cache_clear()
        yield get_settings().marketing_table


def _against_dynamodb_latency(
    path: Path, wire: list[dict[str, Any]], *, threads: int | None = None, latency_scale: float = 1.0
) -> None:
    """The target's verdict: both sides against DynamoDB's latency (bench/dynamodb_stand_in.py),
    in wall time, since waiting on the network is what the loader's parallel batches overlap."""
    latency_s = {operation: seconds * latency_scale for operation, seconds in LATENCY_S.items()}
    os.environ.update(_STAND_IN_ENV)
    get_settings.cache_clear()
    table = get_settings().marketing_table
    loads: list[float] = []
    raws: list[float] = []
    for _ in range(ROUNDS):  # interleaved, so a busy machine slows both alike
        with stand_in(latency_s) as loader_side:
            writer = MarketingWriter(TENANT, max_workers=threads) if threads else None
            started = time.perf_counter()
            report = load_file(path, TENANT, progress=False, writer=writer)
            loads.append(time.perf_counter() - started)
        with stand_in(latency_s) as raw_side:
            started = time.perf_counter()
            _raw_write(table, wire)
            raws.append(time.perf_counter() - started)
    _check_all_sent(report, loader_side, raw_side)
    count = report.records_written
    load_rate, raw_rate = count / min(loads), count / min(raws)
    ratio = load_rate / raw_rate
    workers = threads or WRITER_THREADS
    scaled = f" x {latency_scale:g}" if latency_scale != 1 else ""
    print(
        "against DynamoDB's latency (the real botocore client; the network replaced by a sleep of "
        + ", ".join(f"{name} = {getattr(dynamodb_stand_in, name) * 1000:g} ms" for name in LATENCY_SOURCES)
        + f"{scaled}, sources in bench/dynamodb_stand_in.py):"
    )
    print(
        f"  load_file ({workers} writer threads): {count:,} records in {min(loads):.2f} s = {load_rate:,.0f} "
        f"records/s; {sum(loader_side.requests.values()):,} requests: {_requests(loader_side)}"
    )
    print(
        f"  raw batch_write_item of the same {len(wire):,} items (1 thread, 25 a call): {min(raws):.2f} s = "
        f"{raw_rate:,.0f} records/s; {sum(raw_side.requests.values()):,} requests: {_requests(raw_side)}"
    )
    print(
        f"  every item sent: the loader's {loader_side.items.total():,} writes cover the raw's "
        f"{len(raw_side.written):,} keys, no other"
    )
    print(
        f"  VERDICT: load / raw {ratio:.2f} (target >= {TARGETS['vs_raw']}: "
        f"{_verdict(ratio >= TARGETS['vs_raw'])}), best of {ROUNDS} interleaved wall times; the target's "
        "figure, as writing in parallel batches is overlapping DynamoDB's latency"
    )


def _check_all_sent(report: LoadReport, loader_side: StandIn, raw_side: StandIn) -> None:
    """The stand-in hides no loader work: every item the loader reports went out in a request,
    and its writes cover the very keys the raw baseline writes."""
    stats = report.stats
    assert loader_side.items["BatchWriteItem"] == stats.items_written + stats.items_deleted
    assert loader_side.items["PutItem"] == stats.status_updates + stats.status_unchanged
    assert set(loader_side.written) == set(raw_side.written), (
        "the loader and the raw baseline wrote other items"
    )


def _requests(side: StandIn) -> str:
    return ", ".join(f"{count:,} {operation}" for operation, count in side.requests.most_common())


def _against_moto(path: Path, wire: list[dict[str, Any]]) -> None:
    """Emulator CPU, not the target: moto spends milliseconds of CPU per request under the
    GIL, so the loader's threads overlap nothing and its extra requests show in full."""
    loads: list[float] = []
    raws: list[float] = []
    for _ in range(MOTO_ROUNDS):  # interleaved, so a busy machine slows both alike
        with _fresh_store():
            started = time.process_time()
            report = load_file(path, TENANT, progress=False)
            loads.append(time.process_time() - started)
        with _fresh_store() as table:
            started = time.process_time()
            _raw_write(table, wire)
            raws.append(time.process_time() - started)
    stats = report.stats
    count = report.records_written
    load_rate, raw_rate = count / min(loads), count / min(raws)
    ratio = load_rate / raw_rate
    print(
        "into in-process moto (emulator CPU, not the target's verdict: moto spends milliseconds of CPU "
        "per request under the GIL, so no thread overlaps another):"
    )
    print(
        f"  load_file: {count:,} records in {min(loads):.1f} CPU s = "
        f"{load_rate:,.0f} records/s; {stats.items_written:,} items put, "
        f"{stats.status_updates:,} recipient statuses set, {report.bad_count} bad lines"
    )
    print(
        f"  raw batch_write_item of the same {len(wire):,} items (1 thread, 25 a call): {min(raws):.1f} CPU s = "
        f"{raw_rate:,.0f} records/s"
    )
    print(f"  load / raw {ratio:.2f} in CPU time ({MOTO_ROUNDS} round)")


def _raw_write(table: str, wire: list[dict[str, Any]]) -> None:
    db = aws.dynamodb()
    for start in range(0, len(wire), BATCH_WRITE_ITEMS):
        batch = [{"PutRequest": {"Item": item}} for item in wire[start : start + BATCH_WRITE_ITEMS]]
        pending: Any = {table: batch}
        while pending:
            pending = db.batch_write_item(RequestItems=pending).get("UnprocessedItems") or None


def _written_items(records: list[ImportRecord]) -> list[Item]:
    """What `MarketingWriter` ends up storing for these records in an empty table: every item
    by its key (the last record wins), opens and clicks stamped, each recipient's latest status."""
    campaign_of = {r.stat_id: r.campaign_id for r in records if isinstance(r, SendRecord)}
    arrived = arrivals.utc_now()
    items: dict[tuple[str, str], Item] = {}
    latest: dict[tuple[str, str], EventRecord] = {}
    for record in records:
        campaign_id = campaign_of[record.stat_id] if isinstance(record, EventRecord | MessageRecord) else ""
        for item in items_of(TENANT, record, campaign_id):
            if isinstance(record, EventRecord) and record.type in arrivals.STAMPED_EVENTS:
                item = arrivals.stamp_event(item, arrived)
            if isinstance(record, MessageRecord):
                assert serialize_item(item)[1] <= MIME_INLINE_LIMIT, "the raw baseline writes no S3 objects"
            items[(item["pk"], item["sk"])] = item
        if isinstance(record, EventRecord) and record.type in DELIVERY_STATUS_OF:
            slot = (campaign_id, record.contact_id)
            if slot not in latest or status_key(record) > status_key(latest[slot]):
                latest[slot] = record
    for (campaign_id, _), event in latest.items():
        item = arrivals.stamp_recipient(recipient_item(TENANT, campaign_id, event), arrived)
        items[(item["pk"], item["sk"])] = item
    return list(items.values())


def thread_sweep(threads: list[int], latency_scale: float) -> None:
    """The writer's thread count against DynamoDB's latency, for choosing `WRITER_THREADS`."""
    os.environ.update(_ENV)
    with tempfile.TemporaryDirectory() as folder:
        path, _, wire = _dataset(Path(folder))
        for count in threads:
            _against_dynamodb_latency(path, wire, threads=count, latency_scale=latency_scale)


if __name__ == "__main__":  # python -m bench.bench_import 4 8 16 32 [--latency-scale 5]
    arguments = argparse.ArgumentParser(description=thread_sweep.__doc__)
    arguments.add_argument("threads", type=int, nargs="+")
    arguments.add_argument("--latency-scale", type=float, default=1.0)
    parsed = arguments.parse_args()
    thread_sweep(parsed.threads, parsed.latency_scale)
