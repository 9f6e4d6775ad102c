"""`mailexports run`: the whole service on this machine, without Docker.

An embedded moto server holds every table, queue, bucket and secret template.yaml
declares; the template's API routes are served over HTTP by turning each request into
the API Gateway proxy event the same handlers get in AWS; the SQS-triggered functions
are fed from their queues as Lambda's event source would; emails sent through SES land
in a local outbox. A demo tenant with demo data is created unless --no-demo.

Other terminals find the running stack through its state file (`mailexports tenant
create ...`, `mailexports load ...` use it). Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from mailexports_dev.local.outbox import DEFAULT_OUTBOX

if TYPE_CHECKING:  # the runner imports moto: only `run` pays for that, not every other command
    from mailexports_dev.local.demo import DemoTenant
    from mailexports_dev.local.runner import LocalStack

# ---------------------------------------------------------------- console


def banner(stack: LocalStack) -> str:
    from mailexports_cli.target import state_file
    from mailexports_dev.local.resources import REGION

    assert stack.api is not None
    assert stack.https_api is not None
    assert stack.tls is not None
    assert stack.moto is not None
    assert stack.outbox is not None
    pumps = ", ".join(pump.describe() for pump in stack.pumps) or "none"
    retry = (
        f"failed messages retried after {stack.options.visibility_override}s (--visibility-timeout-override)"
        if stack.options.visibility_override is not None
        else "failed messages retried after the queue's visibility timeout, as in AWS"
    )
    lines = [
        f"mailexports local stack is up (started in {stack.startup_seconds:.1f} s)",
        f"  API           {stack.api.url}   (stage {stack.stage!r}: /{stack.stage}/... paths work too)",
        f"  HTTPS API     {stack.https_api.url}   (same API over TLS; trust the local CA "
        f"{stack.tls.ca_file}, e.g. curl --cacert, requests verify=)",
        f"  functions     each in worker processes of its own, one event at a time, "
        f"up to {stack.options.function_concurrency} per function (--function-concurrency)",
        f"  AWS (moto)    {stack.moto.endpoint}   keys local/local, region {REGION}",
        f"  queue pumps   {pumps}; {retry}",
        f"  schedules     {', '.join(t.describe() for t in stack.triggers) or 'none'}",
        f"  outbox        {stack.outbox.directory}   (emails sent through SES)",
        f"  state file    {state_file()}   (other terminals' `mailexports` commands use it)",
    ]
    demo = stack.demo
    if demo is None:
        lines += ["", "No demo tenant (create one: mailexports tenant create NAME --username USER)."]
    else:
        lines += [
            "",
            f"Demo tenant {demo.name!r} (local only):",
            f"  tenant id       {demo.tenant_id}",
            f"  username        {demo.username}",
            f"  API key         {demo.api_key}",
            f"  webhook secret  {demo.webhook_secret}",
            f"  demo data       {demo.contacts} contacts; stat_id {demo.stat_id}, "
            f"campaign_id {demo.campaign_id}, segment {demo.segment_id}",
            f"                  {demo.load_summary}",
            "",
            "Try it:",
            *curl_example(stack.api.url, demo),
        ]
    lines += ["", "Ctrl-C stops the stack."]
    return "\n".join(lines)


def curl_example(api_url: str, demo: DemoTenant) -> list[str]:
    body = json.dumps(
        {"type": "campaign_activity", "params": {"stat_id": demo.stat_id}}, separators=(",", ":")
    )
    auth = '-H "Authorization: Bearer $KEY"'
    task_uuid = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"task_uuid\"])'"
    return [
        f"  API={api_url} KEY={demo.api_key}",
        f'  TASK=$(curl -s -X POST "$API/v1/exports" {auth} -H "Content-Type: application/json" \\',
        f"      -d {shlex.quote(body)} | {task_uuid})",
        f'  curl -s "$API/v1/exports/$TASK" {auth}    # repeat until "status": "completed"',
        f"  URL=$(curl -s -o /dev/null -w '%{{redirect_url}}' \"$API/v1/exports/$TASK/download\" {auth})",
        '  curl -s "$URL" -o export.json',
    ]


# ---------------------------------------------------------------- command


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the whole service locally (embedded moto, API, queue pumps, outbox)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument(
        "--api-port", type=_port, default=3000, metavar="PORT", help="API port (default: %(default)s)"
    )
    parser.add_argument(
        "--https-port",
        type=_port,
        default=3443,
        metavar="PORT",
        help="the same API over HTTPS, with a certificate from a local CA (default: %(default)s)",
    )
    parser.add_argument(
        "--moto-port", type=_port, default=5000, metavar="PORT", help="AWS (moto) port (default: %(default)s)"
    )
    parser.add_argument("--no-demo", dest="demo", action="store_false", help="no demo tenant or demo data")
    parser.add_argument(
        "--demo-contacts",
        type=_positive,
        default=200,
        metavar="N",
        help="contacts in the demo data (default: %(default)s)",
    )
    parser.add_argument(
        "--state-file",
        type=Path,
        metavar="PATH",
        help="where to record the running stack for other commands "
        "(default: $MAILEXPORTS_STATE_FILE or ~/.mailexports/local-stack.json)",
    )
    parser.add_argument(
        "--outbox",
        type=Path,
        default=DEFAULT_OUTBOX,
        metavar="DIR",
        help="folder for emails sent through SES (default: ~/.mailexports/outbox)",
    )
    parser.add_argument(
        "--visibility-timeout-override",
        dest="visibility_override",
        type=_non_negative,
        metavar="SECONDS",
        help="retry a failed SQS message after SECONDS instead of the queue's visibility timeout "
        "(ExportQueue's is 5400 s); the pump applies it with ChangeMessageVisibility to failed messages. "
        "Default: none, i.e. as in AWS. E.g. 5 shows retries and the redrive to the DLQ within a minute",
    )
    parser.add_argument(
        "--function-concurrency",
        type=_positive,
        default=4,
        metavar="N",
        help="execution environments (worker processes) each function may run at once, as Lambda scales "
        "under concurrent requests; started on demand and reused warm (default: %(default)s)",
    )
    parser.add_argument(
        "--strict-webhooks",
        action="store_true",
        help="apply the full SSRF guard locally too: https only, no loopback targets "
        "(by default the local stack lets webhooks reach http://localhost)",
    )
    parser.add_argument(
        "--schedule-interval-override",
        dest="schedule_interval",
        type=_interval,
        metavar="SECONDS",
        help="invoke the template's scheduled functions (ScheduleV2: the scheduler's sweep, the watchdog) "
        "every SECONDS instead of at their expression's slots; e.g. 2 makes a due export schedule run "
        "within seconds. Default: none, i.e. as in AWS",
    )
    parser.set_defaults(handler=run)


def _port(text: str) -> int:
    value = int(text) if text.isdigit() else -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return value


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not 0.1 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds between 0.1 and 3600")
    return value


def _non_negative(text: str) -> int:
    if not text.isdigit() or int(text) > 43200:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds between 0 and 43200")
    return int(text)


def _cannot_listen(host: str, ports: list[tuple[str, int]]) -> str | None:
    """Why one of the ports cannot be listened on (all are held at once), or None."""
    from mailexports_dev.local.moto_server import CannotListen, bind_listener

    held = []
    try:
        for what, port in ports:
            held.append(bind_listener(what, host, port))
    except CannotListen as error:
        return str(error)
    finally:
        for sock in held:
            sock.close()
    return None


def run(args: argparse.Namespace) -> int:
    from mailexports_dev.local.moto_server import CannotListen

    # Fail fast on a busy port, before the seconds it takes to import moto and the handlers.
    ports = [("API", args.api_port), ("HTTPS API", args.https_port), ("moto server", args.moto_port)]
    problem = _cannot_listen(args.host, ports)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2

    from mailexports_dev.local.runner import LocalStack, StackAlreadyRunning, StackOptions

    if args.state_file is not None:
        os.environ["MAILEXPORTS_STATE_FILE"] = str(args.state_file.expanduser().resolve())
    stack = LocalStack(
        StackOptions(
            host=args.host,
            api_port=args.api_port,
            https_port=args.https_port,
            moto_port=args.moto_port,
            demo=args.demo,
            demo_contacts=args.demo_contacts,
            outbox=args.outbox.expanduser().resolve(),
            visibility_override=args.visibility_override,
            function_concurrency=args.function_concurrency,
            strict_webhooks=args.strict_webhooks,
            schedule_interval_override=args.schedule_interval,
        )
    )
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()
        if not stack.started:
            raise KeyboardInterrupt  # abandon start-up; the finally below cleans up

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        stack.start()
        print(banner(stack), flush=True)
        while not stopping.wait(0.5):
            pass
        print("\nstopping the local stack ...", flush=True)
    except (CannotListen, StackAlreadyRunning) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted while starting; cleaning up ...", flush=True)
    finally:
        stopping_began = time.monotonic()
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(f"local stack stopped ({time.monotonic() - stopping_began:.1f} s)", flush=True)
    return 0
