"""`mailexports export TYPE ...` and `mailexports exports list|show|cancel|download`.

Connection: --api URL --key KEY, else MAILEXPORTS_API_URL / MAILEXPORTS_API_KEY, else
the running local stack's demo tenant (from its state file).

Exit codes: 0 done; 1 the export failed, was cancelled or expired (or a downloaded
file's sha256 did not match); 2 bad usage or the API refused the request (4xx: the
message names the field); 3 the API could not be reached or failed (5xx, timeout).
Errors are one line on stderr; stdout carries only what a script reads.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from mailexports_cli.client import connection
from mailexports_cli.client.api import ApiClient
from mailexports_cli.client.destination import in_customer_bucket, parse_destination
from mailexports_cli.client.download import Downloaded, check_writable, download_task
from mailexports_cli.client.errors import ClientError, ExitCode, TaskUnsuccessful, UsageError
from mailexports_cli.client.params import parse_params
from mailexports_cli.client.states import FINISHED

if TYPE_CHECKING:
    from rich.table import Table

EXPORT_TYPES = ("campaign_activity", "segment_contacts", "campaign_delivery", "contact_data")
STATUSES = ("new", "processing", "completed", "failed", "cancelled", "expired")
# Before the first poll (a fresh task carries no Retry-After), and bounds on what the server asks.
FIRST_POLL_S = 1.0
MIN_POLL_S, MAX_POLL_S = 0.2, 60.0

Sleep = Callable[[float], None]
# How `--wait` sleeps between polls, and where API requests go through: the seams tests use
# to run the worker between polls and to serve the API from the handlers in-process.
poll_sleep: Sleep = time.sleep
api_session: Callable[[], requests.Session] = requests.Session


# ---------------------------------------------------------------- arguments


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    connect = argparse.ArgumentParser(add_help=False)
    group = connect.add_argument_group("connection")
    group.add_argument(
        "--api", metavar="URL", help="API base URL (default: $MAILEXPORTS_API_URL, else the local stack)"
    )
    group.add_argument("--key", metavar="KEY", help="API key (default: $MAILEXPORTS_API_KEY, else the local stack's demo key)")  # fmt: skip

    export = subparsers.add_parser(
        "export",
        parents=[connect],
        help="submit an export to the API (optionally wait for it and download its file)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    export.add_argument("type", choices=EXPORT_TYPES, metavar="TYPE", help=", ".join(EXPORT_TYPES))
    export.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE",
        help="an export parameter, repeatable; commas make a list: segment_ids=a,b",
    )  # fmt: skip
    export.add_argument(
        "--since-task", metavar="ID",
        help="only what reached the service after export ID's watermark (params.since_task)",
    )  # fmt: skip
    export.add_argument("--format", choices=("json", "ndjson", "csv"), help="file format (API default: json)")
    export.add_argument("--compression", choices=("none", "gzip"), help="(API default: none)")
    notify = export.add_mutually_exclusive_group()
    notify.add_argument("--notify-email", metavar="ADDR", help="email ADDR when the export is done")
    notify.add_argument("--notify-webhook", metavar="URL", help="POST a signed webhook to URL when done")
    export.add_argument(
        "--idempotency-key", metavar="K", help="submitting again with K returns the same task"
    )
    export.add_argument(
        "--destination", metavar="S3_URL",
        help="write the file(s) into your own bucket, s3://bucket/prefix (needs --role-arn)",
    )  # fmt: skip
    export.add_argument(
        "--role-arn", metavar="ARN",
        help="the role the service assumes to write there (its trust requires ExternalId = your tenant id)",
    )  # fmt: skip
    export.add_argument("--wait", action="store_true", help="show progress until the export finishes")
    export.add_argument(
        "--output", type=Path, metavar="FILE",
        help="download the file(s) to FILE once done (implies --wait); several files: FILE-0001.ext, ...",
    )  # fmt: skip
    export.set_defaults(handler=_guarded(run_export))

    exports = subparsers.add_parser(
        "exports", help="list, show, cancel or download the tenant's exports", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    actions = exports.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", parents=[connect], help="the tenant's exports, newest first")
    listing.add_argument("--status", choices=STATUSES, help="only exports in this status")
    listing.add_argument("--limit", type=int, default=20, help="how many (1-100, default %(default)s)")
    listing.add_argument("--cursor", help="the next page, as printed after the previous one")
    listing.set_defaults(handler=_guarded(run_list))
    for name, helptext, handler in (
        ("show", "one export as JSON", run_show),
        ("cancel", "cancel an export that has not finished", run_cancel),
        ("download", "download a completed export's file(s), checking their sha256", run_download),
    ):
        action = actions.add_parser(name, parents=[connect], help=helptext)
        action.add_argument("task_uuid", metavar="ID", help="the export's task_uuid")
        if name == "download":
            action.add_argument(
                "--output", type=Path, metavar="FILE", help="where to write (default: ID.ext here)"
            )
        action.set_defaults(handler=_guarded(handler))


def _guarded(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Every failure the client expects is one line on stderr and an exit code, never a traceback."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except ClientError as error:
            print(f"error: {error.message}", file=sys.stderr)
            return int(error.exit_code)

    return run


def _client(args: argparse.Namespace) -> ApiClient:
    return ApiClient(connection.resolve(args.api, args.key), api_session())


# ---------------------------------------------------------------- export


def submit_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"type": args.type, "params": parse_params(args.type, args.param)}
    if args.since_task:
        if "since_task" in body["params"]:
            raise UsageError("--since-task and --param since_task=...: give the task once")
        body["params"]["since_task"] = args.since_task
    if args.format:
        body["format"] = args.format
    if args.compression:
        body["compression"] = args.compression
    if args.notify_email:
        body["notify"] = {"type": "email", "value": args.notify_email}
    elif args.notify_webhook:
        body["notify"] = {"type": "webhook", "value": args.notify_webhook}
    destination = parse_destination(args.destination, args.role_arn)
    if destination is not None:
        if args.output is not None:
            raise UsageError("--output cannot be used with --destination: the file goes to your bucket")
        body["destination"] = destination
    return body


def run_export(args: argparse.Namespace) -> int:
    body = submit_body(args)
    check_writable(args.output)  # before submitting: a bad path must not cost an export
    client = _client(args)
    task = client.submit(body, args.idempotency_key)
    print(task["task_uuid"], flush=True)  # what a script keeps: TASK=$(mailexports export ...)
    if not (args.wait or args.output):
        return ExitCode.OK
    try:
        task = wait(client, task, sleep=poll_sleep)
    except KeyboardInterrupt:
        print(f"interrupted: the export keeps running (mailexports exports show {task['task_uuid']})",
              file=sys.stderr)  # fmt: skip
        return 130
    ensure_completed(task)
    for location in in_customer_bucket(task):
        print(location, file=sys.stderr)
    if args.output is not None:
        _download(client.task(task["task_uuid"]).body, args.output)  # a fresh read signs fresh URLs
    return ExitCode.OK


def wait(client: ApiClient, task: dict[str, Any], *, sleep: Sleep) -> dict[str, Any]:
    """Poll until the task finishes, as often as its Retry-After asks, with a live progress bar."""
    from mailexports_cli.client.progress import ExportProgress

    delay: float | None = FIRST_POLL_S
    with ExportProgress() as bar:
        bar.show(task)
        while task["status"] not in FINISHED:
            sleep(min(max(delay or FIRST_POLL_S, MIN_POLL_S), MAX_POLL_S))
            answer = client.task(task["task_uuid"])
            task, delay = answer.body, answer.retry_after
            bar.show(task)
    return task


def ensure_completed(task: dict[str, Any]) -> None:
    status = task["status"]
    if status == "completed":
        return
    if status not in FINISHED:
        raise TaskUnsuccessful(f"task {task['task_uuid']} has not finished yet (status {status})")
    error = task.get("error") or {}
    why = f": {error.get('code')}: {error.get('message')}" if error else ""
    raise TaskUnsuccessful(f"task {task['task_uuid']} {status}{why}")


def _download(task: dict[str, Any], output: Path | None) -> list[Downloaded]:
    from mailexports_cli.client.progress import DownloadProgress

    with DownloadProgress() as progress:
        written = download_task(task, output, progress)
    for file in written:
        check = "verified" if file.verified else "NOT verified: the task gives no sha256"
        print(f"{file.path}: {file.records:,} records, {file.bytes:,} bytes, sha256 {file.sha256} ({check})",
              file=sys.stderr)  # fmt: skip
    return written


# ---------------------------------------------------------------- exports ...


def run_list(args: argparse.Namespace) -> int:
    from rich.table import Table

    page = _client(args).list(status=args.status, limit=args.limit, cursor=args.cursor)
    table = Table("task_uuid", "type", "status", "created_at", "records", "bytes", box=None)
    for task in page["exports"]:
        progress = task.get("progress") or {}
        table.add_row(
            str(task.get("task_uuid")), str(task.get("task_type")), str(task.get("status")),
            str(task.get("created_at") or ""), f"{progress.get('records', 0):,}", f"{progress.get('bytes', 0):,}",
        )  # fmt: skip
    print_listing(table, page.get("next_cursor"))
    return ExitCode.OK


def print_listing(table: Table, next_cursor: str | None, *, width: int = 200) -> None:
    """A page of a listing, then (on stderr) how to ask for the next one."""
    from rich.console import Console

    out = Console()
    # Not a terminal (a pipe, a file): wide enough that no id is wrapped or cut.
    (out if out.is_terminal else Console(width=width)).print(table)
    if next_cursor:
        print(f"more: --cursor {next_cursor}", file=sys.stderr)


def run_show(args: argparse.Namespace) -> int:
    print(json.dumps(_client(args).task(args.task_uuid).body, indent=2))
    return ExitCode.OK


def run_cancel(args: argparse.Namespace) -> int:
    task = _client(args).cancel(args.task_uuid)
    print(f"{task['task_uuid']} {task['status']}")
    return ExitCode.OK


def run_download(args: argparse.Namespace) -> int:
    check_writable(args.output)
    task = _client(args).task(args.task_uuid).body
    ensure_completed(task)
    if locations := in_customer_bucket(task):
        raise UsageError(f"the export wrote its files to your bucket: {' '.join(locations)}")
    _download(task, args.output)
    return ExitCode.OK
