"""A scale model: how long a 20M-record and a 100 GB `campaign_activity` export take on AWS,
and what they cost, from the hot path's CPU cost measured here and AWS's published limits.

Measured on this machine: the CPU seconds per record of the worker's whole hot path,
run by the real code: DynamoDB Query pages as HTTP JSON bodies (1 MB each, keys.SHARDS shards),
parsed by botocore's own JSON parser for Query, decoded by our codec, the shards merged,
each contact's record serialized by the real worker and, for gzip, compressed. Only S3
and the task store are stand-ins (they cost no CPU here; their limits are in the model).

Every other input is a named constant with its source, printed beside the result, so a
reader can check the arithmetic; the worker's memory and how many workers may run at
once are read from template.yaml. Python uses one core per worker, so a worker is
CPU-bound at 1 vCPU (1,769 MB of Lambda memory); more workers means fan-out: the export
worked in slices of the shards by parallel invocations (exports/fanout.py), which the
model's N-worker figures assume. Beside the model, the speedup of 2 worker processes
over 1 is measured here, on a 2-slice export (fanout_run.py).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.awsrequest import AWSResponse

from bench.bench_exports import _verdict, run_worker
from bench.fanout_run import SLICES, machine_ratio, speedup
from mailexports.marketing.keys import SHARDS

EVENTS = 120_000  # opens and clicks of one send, about 2.2 per contact
PAGE_BYTES = 1_000_000  # DynamoDB's page size for Query
TARGETS = {"minutes_20m": 5.0, "minutes_100gb": 15.0, "dollars_per_million": 0.10}

# ---- AWS inputs (us-east-1, x86; prices as AWS lists them, checked 2026-12) ----
LAMBDA_MB_PER_VCPU = 1769  # Lambda docs: at 1,769 MB a function has the equivalent of one vCPU
LAMBDA_USD_PER_GB_S = 0.0000166667  # Lambda pricing, x86 duration
LAMBDA_MAX_S = 900  # Lambda's timeout ceiling: a longer export continues in a new invocation
DDB_USD_PER_MILLION_RRU = 0.125  # DynamoDB on-demand read request units
DDB_BYTES_PER_HALF_RRU = 4096  # eventually consistent Query: 0.5 RRU per 4 KB read
DDB_PARTITION_RCU = 3000  # DynamoDB: a partition serves at most 3,000 read units/s
DDB_QUERY_LATENCY_S = 0.010  # a 1 MB Query page, typical single-digit to low double-digit ms
S3_USD_PER_1000_PUT = 0.005  # S3 Standard PUT/POST (UploadPart, CreateMultipartUpload, Complete)
S3_PART_BYTES = 8 * 1024 * 1024  # the worker's part size (EXPORT_PART_BYTES)
S3_PUT_PER_S_PER_PREFIX = 3500  # S3: PUT requests per second per prefix
LAMBDA_NETWORK_BYTES_PER_S = 75_000_000  # sustained S3 upload of one Lambda, conservative
# Items read per record's events: 1.0 for a whole-send export, because the activity partitions
# hold only opens and clicks (keys.delivery_events_pk keeps the rest apart); a narrow window
# reads more, since the window is a filter.
READ_AMPLIFICATION = 1.0


def _wire_pages(count: int) -> dict[str, list[tuple[bytes, str | None]]]:
    """Query response bodies per shard partition, in the sort order DynamoDB returns."""
    from mailexports.marketing import keys

    by_pk: dict[str, list[dict[str, Any]]] = {}
    start = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    for n in range(count):
        contact_id = str(100_000 + n * 5 // 11)  # 11 events per 5 contacts
        kind = "open" if n % 3 else "click"
        at = start + timedelta(seconds=n)
        item = {
            "sk": {"S": keys.event_sk(contact_id, at, f"e-{n:08d}")},
            "contact_id": {"S": contact_id},
            "email": {"S": f"user{contact_id}@example.com"},
            "type": {"S": kind},
            "at": {"S": at.strftime("%Y-%m-%dT%H:%M:%S.000Z")},
            "ip": {"S": f"198.51.{n % 256}.{n % 251}"},
            "user_agent": {"S": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126"},
        }
        if kind == "click":
            item["url"] = {"S": f"https://example.com/sale/item/{n % 97}?utm_source=newsletter"}
        pk = keys.activity_events_pk("bench", "981", keys.shard_of(contact_id))
        by_pk.setdefault(pk, []).append(item)
    pages: dict[str, list[tuple[bytes, str | None]]] = {}
    for pk, items in by_pk.items():
        items.sort(key=lambda item: item["sk"]["S"])
        pages[pk] = []
        chunk: list[dict[str, Any]] = []
        size = 0
        for item in items:
            chunk.append(item)
            size += len(json.dumps(item))
            if size >= PAGE_BYTES:
                pages[pk].append((_body(chunk, more=True, pk=pk), chunk[-1]["sk"]["S"]))
                chunk, size = [], 0
        pages[pk].append((_body(chunk, more=False, pk=pk), None))
    return pages


def _body(items: list[dict[str, Any]], *, more: bool, pk: str) -> bytes:
    page: dict[str, Any] = {"Count": len(items), "ScannedCount": len(items), "Items": items}
    if more:
        page["LastEvaluatedKey"] = {"pk": {"S": pk}, "sk": items[-1]["sk"]}
    return json.dumps(page).encode()


class _RawBody:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _answer_queries(pages: dict[str, list[tuple[bytes, str | None]]]) -> Any:
    """A `before-send` hook: the real client builds, signs and parses every Query; only
    the network is replaced, by the prepared page the request asks for."""
    following: dict[tuple[str, str | None], int] = {}

    def answer(request: Any, **_: Any) -> AWSResponse:
        params = json.loads(request.body)
        pk = params["ExpressionAttributeValues"][":pk"]["S"]
        start = params.get("ExclusiveStartKey")
        index = following.get((pk, start["sk"]["S"] if start else None), 0)
        body, last_sk = pages.get(pk, [(_body([], more=False, pk=pk), None)])[index]
        if last_sk is not None:
            following[(pk, last_sk)] = index + 1
        headers = {"x-amzn-RequestId": "bench", "Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, 200, headers, _RawBody(body))

    return answer


def _served_task(compression: str) -> Any:
    """A campaign_activity task whose Query pages the DynamoDB client gets from memory."""
    from mailexports import aws
    from mailexports.exports.requests import ExportType
    from mailexports.exports.task import ExportTask

    pages = _wire_pages(EVENTS)
    aws.reset_clients()
    db = aws.dynamodb()
    db.meta.events.register("before-send.dynamodb.Query", _answer_queries(pages))
    return ExportTask(
        task_uuid="bench",
        tenant_id="bench",
        task_type=ExportType.CAMPAIGN_ACTIVITY,
        params={"stat_id": "981"},
        format="json",
        compression=compression,
        created_at=datetime.now(UTC),
    )


def hot_path_seconds(compression: str) -> tuple[float, int, int]:
    """CPU seconds, records and stored bytes of one real campaign_activity export."""
    elapsed, finished, stored = run_worker(_served_task(compression))
    return elapsed, finished.progress.records, stored


def deployed_worker() -> tuple[int, int]:
    """The worker's memory (MB) and the most slices worked at once, as template.yaml deploys them."""
    from mailexports_dev.local.template import load_template, parameter_defaults

    worker = load_template()["Resources"]["WorkerFunction"]["Properties"]
    return int(worker["MemorySize"]), int(parameter_defaults()["SliceWorkerMaxConcurrency"])


def _model(
    name: str, records: float, stored_bytes: float, cpu_per_record: float, raw_per_record: float
) -> None:
    memory_mb, most_at_once = deployed_worker()
    read_bytes = records * raw_per_record * READ_AMPLIFICATION
    # One Python thread uses at most one vCPU; below 1,769 MB Lambda gives a share of one.
    cpu_s = records * cpu_per_record / min(1.0, memory_mb / LAMBDA_MB_PER_VCPU)
    # Throughput ceilings of one worker, and of the table (SHARDS partitions read in parallel).
    read_s_one = read_bytes / PAGE_BYTES * DDB_QUERY_LATENCY_S / SHARDS  # the shard readers overlap
    partition_bytes_per_s = DDB_PARTITION_RCU * 2 * DDB_BYTES_PER_HALF_RRU
    read_s_table = read_bytes / (partition_bytes_per_s * SHARDS)
    upload_s_one = stored_bytes / LAMBDA_NETWORK_BYTES_PER_S
    parts = math.ceil(stored_bytes / S3_PART_BYTES)
    print(
        f"  {name}: {records:,.0f} records, {stored_bytes / 1e9:,.1f} GB written, {read_bytes / 1e9:,.1f} GB read"
    )
    rows = {}
    for slices in (1, 4, 16, SHARDS):  # slices of the shards (at most EXPORT_FANOUT_MAX_SLICES)
        # Slices beyond SliceWorkerMaxConcurrency wait for a free worker: they run in waves.
        waves = math.ceil(slices / most_at_once)
        per_slice = max(cpu_s / slices, read_s_one / slices, upload_s_one / slices)
        seconds = max(per_slice * waves, read_s_table)
        invocations = math.ceil(per_slice / (LAMBDA_MAX_S - 60))  # continuations keep a minute in reserve
        lambda_usd = slices * (seconds / waves) * memory_mb / 1024 * LAMBDA_USD_PER_GB_S
        ddb_usd = read_bytes / DDB_BYTES_PER_HALF_RRU * 0.5 / 1e6 * DDB_USD_PER_MILLION_RRU
        s3_usd = (parts + 2 * slices) / 1000 * S3_USD_PER_1000_PUT
        per_million = (lambda_usd + ddb_usd + s3_usd) / (records / 1e6)
        rows[slices] = seconds
        print(
            f"    {slices:>2} slice{'s' if slices > 1 else ' '}: {seconds / 60:6.1f} min "
            f"({invocations} invocation{'s' if invocations > 1 else ''} each), "
            f"${lambda_usd + ddb_usd + s3_usd:,.2f} = ${per_million:.4f} per million records "
            f"(Lambda ${lambda_usd:,.2f}, DynamoDB ${ddb_usd:,.2f}, S3 ${s3_usd:,.2f})"
        )
    best = rows[SHARDS] / 60
    target = TARGETS["minutes_20m"] if name.startswith("20M") else TARGETS["minutes_100gb"]
    print(f"    fastest ({SHARDS} slices): {best:.1f} min, target <= {target}: {_verdict(best <= target)}")


def main() -> None:
    for name, value in {
        "TASKS_TABLE": "bench",
        "LIMITS_TABLE": "bench",
        "TENANTS_TABLE": "bench",
        "MARKETING_TABLE": "bench",
        "EXPORTS_BUCKET": "bench",
        "DATA_BUCKET": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",  # requests are signed, never sent
        "AWS_SECRET_ACCESS_KEY": "bench",
    }.items():
        os.environ.setdefault(name, value)
    plain_s, records, plain_bytes = hot_path_seconds("none")
    gzip_s, _, gzip_bytes = hot_path_seconds("gzip")
    raw_per_record = sum(len(body) for ps in _wire_pages(EVENTS).values() for body, _ in ps) / records
    print(
        f"hot path on this machine ({EVENTS:,} events -> {records:,} contact records, {SHARDS} shards, "
        f"1 MB pages through the real DynamoDB client, merged, serialized by the real worker):"
    )
    for label, seconds, stored in (("json", plain_s, plain_bytes), ("json+gzip", gzip_s, gzip_bytes)):
        print(
            f"  {label:<9} {seconds / records * 1e6:6.1f} us CPU per record, {records / seconds:,.0f} records/s, "
            f"{stored / records:,.0f} bytes per record written"
        )
    print("model inputs (each a named constant in bench/bench_scale.py with its source):")
    memory_mb, most_at_once = deployed_worker()
    print(f"  WorkerFunction MemorySize = {memory_mb:,} MB (template.yaml)")
    print(f"  SliceWorkerMaxConcurrency = {most_at_once:,} slices at once (template.yaml's default)")
    for constant in (
        "LAMBDA_MB_PER_VCPU", "LAMBDA_USD_PER_GB_S", "LAMBDA_MAX_S",
        "DDB_USD_PER_MILLION_RRU", "DDB_BYTES_PER_HALF_RRU", "DDB_PARTITION_RCU", "DDB_QUERY_LATENCY_S",
        "S3_USD_PER_1000_PUT", "S3_PART_BYTES", "S3_PUT_PER_S_PER_PREFIX", "LAMBDA_NETWORK_BYTES_PER_S",
        "READ_AMPLIFICATION",
    ):  # fmt: skip
        print(f"  {constant} = {globals()[constant]:,}")
    print(f"  wire bytes per record read = {raw_per_record:,.0f} (measured above)")
    cpu = gzip_s / records  # the slower of the two: compression on
    per_record = gzip_bytes / records
    _model("20M-record export (json+gzip)", 20e6, 20e6 * per_record, cpu, raw_per_record)
    # 100 GB of uncompressed JSON file: the record count follows from the measured record size.
    records_100gb = 100e9 / (plain_bytes / records)
    _model("100 GB export (json)", records_100gb, 100e9, plain_s / records, raw_per_record)
    _fan_out_note(records, plain_s)


def _fan_out_note(records: int, seconds: float) -> None:
    print(
        f"  fan-out: the N-worker figures are N slices of the {SHARDS} shards worked by N invocations at once "
        f"(one per EXPORT_FANOUT_ITEMS_PER_SLICE items, at most EXPORT_FANOUT_MAX_SLICES, default {SHARDS}); one worker's rate here: {records / seconds:,.0f} records/s"
    )
    one, two, one_cores, two_cores, sliced = speedup(_served_task("none"))
    print(
        f"  measured: one json export in {SLICES} slices ({sliced:,} records, wall time, median of 3 rounds): "
        f"1 process {one:,.0f} records/s, {SLICES} processes {two:,.0f} records/s: {two / one:.2f}x"
    )
    ceiling = machine_ratio()
    print(
        f"    expected: up to {SLICES:.1f}x (CPU-bound) on {SLICES} free cores; this machine has "
        f"{os.cpu_count()} cores shared with neighbours (load average {os.getloadavg()[0]:.1f}): it gave the "
        f"1 process {one_cores:.2f} cores, the {SLICES} processes {two_cores:.2f}, and a pure CPU loop "
        f"{ceiling:.2f}x from 2 processes just now, the ceiling here: "
        f"{_verdict(two / one >= 0.8 * min(ceiling, SLICES))} (>= 80% of it)"
    )


if __name__ == "__main__":
    main()
