"""`mailexports schedules create|list|show|pause|resume|delete`: recurring exports.

`create` takes the same export arguments as `mailexports export`, plus when to run:
EventBridge's `rate(1 day)` or six-field `cron(0 2 * * ? *)`, read in --timezone.
Connection and exit codes as for `mailexports export` (2: the API refused, naming the field).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mailexports_cli.client import commands, connection
from mailexports_cli.client.errors import ExitCode
from mailexports_cli.client.schedules_api import SchedulesApi

# The same one-line errors and exit codes as `export`.
_guarded = commands._guarded


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    connect = argparse.ArgumentParser(add_help=False)
    group = connect.add_argument_group("connection")
    group.add_argument("--api", metavar="URL", help="API base URL (default: $MAILEXPORTS_API_URL, else the local stack)")  # fmt: skip
    group.add_argument("--key", metavar="KEY", help="API key (default: $MAILEXPORTS_API_KEY, else the local stack's demo key)")  # fmt: skip

    schedules = subparsers.add_parser(
        "schedules", help="create, list, show, pause, resume or delete recurring exports",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    actions = schedules.add_subparsers(dest="action", required=True, metavar="ACTION")

    create = actions.add_parser("create", parents=[connect], help="run an export on a schedule")
    create.add_argument(
        "type", choices=commands.EXPORT_TYPES, metavar="TYPE", help=", ".join(commands.EXPORT_TYPES)
    )
    create.add_argument(
        "--schedule", required=True, metavar="EXPR",
        help='when: "rate(1 day)", "rate(15 minutes)", "cron(0 2 * * ? *)" (EventBridge syntax)',
    )  # fmt: skip
    create.add_argument("--timezone", metavar="TZ", help="IANA zone the cron is read in (API default: UTC)")
    create.add_argument(
        "--incremental", action="store_true",
        help="each run exports only what arrived since the previous run (campaign_activity, campaign_delivery)",
    )  # fmt: skip
    create.add_argument("--paused", action="store_true", help="create it paused (resume it later)")
    create.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="as for `export`")
    create.add_argument("--format", choices=("json", "ndjson", "csv"), help="file format (API default: json)")
    create.add_argument("--compression", choices=("none", "gzip"), help="(API default: none)")
    notify = create.add_mutually_exclusive_group()
    notify.add_argument("--notify-email", metavar="ADDR", help="email ADDR when each run is done")
    notify.add_argument(
        "--notify-webhook", metavar="URL", help="POST a signed webhook to URL when each run is done"
    )
    create.add_argument(
        "--destination",
        metavar="S3_URL",
        help="write each run's file(s) into your own bucket, as for `export`",
    )
    create.add_argument("--role-arn", metavar="ARN", help="the role for --destination, as for `export`")
    # A schedule chains since_task itself (--incremental); the export's own option is not offered.
    create.set_defaults(handler=_guarded(run_create), since_task=None)

    listing = actions.add_parser("list", parents=[connect], help="the tenant's schedules, newest first")
    listing.add_argument("--limit", type=int, default=20, help="how many (1-100, default %(default)s)")
    listing.add_argument("--cursor", help="the next page, as printed after the previous one")
    listing.set_defaults(handler=_guarded(run_list))
    for name, helptext, handler in (
        ("show", "one schedule as JSON", run_show),
        ("pause", "stop running it (until resumed)", run_pause),
        ("resume", "run it again from its next slot (missed slots are not made up)", run_resume),
        ("delete", "delete it (its tasks stay)", run_delete),
    ):
        action = actions.add_parser(name, parents=[connect], help=helptext)
        action.add_argument("schedule_id", metavar="ID", help="the schedule's id")
        action.set_defaults(handler=_guarded(handler))


def _client(args: argparse.Namespace) -> SchedulesApi:
    return SchedulesApi(connection.resolve(args.api, args.key), commands.api_session())


def _when(schedule: dict[str, Any]) -> str:
    return f"next run {schedule['next_run_at']}" if schedule.get("next_run_at") else "paused"


def run_create(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"export": commands.submit_body(args), "schedule": args.schedule}
    if args.timezone:
        body["timezone"] = args.timezone
    if args.incremental:
        body["incremental"] = True
    if args.paused:
        body["enabled"] = False
    schedule = _client(args).create(body)
    print(schedule["id"], flush=True)  # what a script keeps: ID=$(mailexports schedules create ...)
    print(f"{schedule['schedule']} ({schedule['timezone']}): {_when(schedule)}", file=sys.stderr)
    return ExitCode.OK


def run_list(args: argparse.Namespace) -> int:
    from rich.table import Table

    page = _client(args).schedules(limit=args.limit, cursor=args.cursor)
    table = Table("id", "type", "schedule", "timezone", "next_run_at", "last_task_uuid", "runs", box=None)
    for s in page["schedules"]:
        table.add_row(
            str(s.get("id")), str((s.get("export") or {}).get("type")), str(s.get("schedule")),
            str(s.get("timezone")), str(s.get("next_run_at") or "paused"), str(s.get("last_task_uuid") or ""),
            str(s.get("runs", 0)),
        )  # fmt: skip
    commands.print_listing(table, page.get("next_cursor"), width=220)
    return ExitCode.OK


def run_show(args: argparse.Namespace) -> int:
    print(json.dumps(_client(args).schedule(args.schedule_id), indent=2))
    return ExitCode.OK


def run_pause(args: argparse.Namespace) -> int:
    schedule = _client(args).update(args.schedule_id, {"enabled": False})
    print(f"{schedule['id']} paused")
    return ExitCode.OK


def run_resume(args: argparse.Namespace) -> int:
    schedule = _client(args).update(args.schedule_id, {"enabled": True})
    print(f"{schedule['id']} resumed: {_when(schedule)}")
    return ExitCode.OK


def run_delete(args: argparse.Namespace) -> int:
    _client(args).delete(args.schedule_id)
    print(f"{args.schedule_id} deleted")
    return ExitCode.OK
