"""Import speed of `mailexports load` (`load_file`) on a generated dataset, into in-process moto.

The figure measures this code plus moto's emulation in one process (moto's
DynamoDB costs about a millisecond per item and holds the GIL, so the writer's
threads barely help here); against DynamoDB the same writer is latency-bound
and its parallel batches go much faster. Kept under a minute.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from moto import mock_aws

from mailexports import aws
from mailexports.config import get_settings
from mailexports.marketing.records import parse_line
from mailexports.marketing.writer import record_problem
from mailexports_cli.load import load_file
from mailexports_dev.generate import GenerateOptions, write_dataset
from mailexports_dev.local.resources import REGION, create_resources

OPTIONS = GenerateOptions(contacts=2000, sends=2, campaigns=2)
TENANT = "bench-tenant"
# Only ever emulated: no request may leave the process.
_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "1",
}


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
            _load_speed(path)
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


def _load_speed(path: Path) -> None:
    with mock_aws():
        _, environment = create_resources(prefix="bench")
        os.environ.update(environment)
        aws.reset_clients()
        get_settings.cache_clear()
        report = load_file(path, TENANT, progress=False)
    stats = report.stats
    print(
        f"load_file into in-process moto (NOT DynamoDB): {report.records_written:,} records in "
        f"{report.seconds:.1f} s = {report.records_per_second:,.0f} records/s; "
        f"{stats.items_written:,} items put, {stats.status_updates:,} recipient statuses set, "
        f"{report.bad_count} bad lines"
    )


if __name__ == "__main__":
    main()
