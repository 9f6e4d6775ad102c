"""Import speed of `mailexports load` (`load_file`) against raw BatchWriteItem of the same items,
side by side in one run, into in-process moto.

The raw figure is the floor of what any loader pays here: the very items the loader
ends up writing (built by the project's own item builders, serialized before the
clock starts), sent by plain single-threaded `batch_write_item` calls of 25 into a
fresh table. The loader's figure is all of `load_file`: both passes over the file,
the existence checks, the conditional status puts. Both get fresh tables and the same
records, interleaved over three rounds; each figure is the best round's process CPU
time (everything runs in this process, so that is its work; wall time on this shared
machine mostly measures the neighbours). moto's DynamoDB costs about a
millisecond per item and holds the GIL, so the ratio measures the loader's overheads
in requests and CPU; against DynamoDB the loader's parallel batches hide latency the
single-threaded raw calls cannot. Kept under a minute.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from moto import mock_aws

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
from mailexports.marketing.writer import record_problem
from mailexports_cli.load import load_file
from mailexports_dev.generate import GenerateOptions, write_dataset
from mailexports_dev.local.resources import REGION, create_resources

OPTIONS = GenerateOptions(contacts=2000, sends=2, campaigns=2)
TENANT = "bench-tenant"
ROUNDS = 3
TARGETS = {"vs_raw": 0.8}  # load_file records/s / raw batch_write_item records/s, at least
# Only ever emulated: no request may leave the process.
_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "1",
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
            path = Path(folder) / "dataset.ndjson"
            with path.open("w") as out:
                lines = write_dataset(OPTIONS, out)
            print(f"dataset: {lines:,} lines, {path.stat().st_size / 1e6:.1f} MB ({OPTIONS})")
            _check_speed(path, lines)
            _load_vs_raw(path)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        aws.reset_clients()
        get_settings.cache_clear()


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


def _load_vs_raw(path: Path) -> None:
    records = [parse_line(raw) for raw in path.read_bytes().splitlines() if raw.strip()]
    wire = [serialize_item(item)[0] for item in _written_items(records)]
    loads: list[float] = []
    raws: list[float] = []
    for _ in range(ROUNDS):  # interleaved, so a busy machine slows both alike
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
        f"load_file into in-process moto (NOT DynamoDB): {count:,} records in {min(loads):.1f} CPU s = "
        f"{load_rate:,.0f} records/s; {stats.items_written:,} items put, "
        f"{stats.status_updates:,} recipient statuses set, {report.bad_count} bad lines"
    )
    print(
        f"raw batch_write_item of the same {len(wire):,} items (1 thread, 25 a call): {min(raws):.1f} CPU s = "
        f"{raw_rate:,.0f} records/s"
    )
    print(
        f"  load / raw {ratio:.2f} (target >= {TARGETS['vs_raw']}: {_verdict(ratio >= TARGETS['vs_raw'])}); "
        f"best of {ROUNDS} each"
    )


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


if __name__ == "__main__":
    main()
