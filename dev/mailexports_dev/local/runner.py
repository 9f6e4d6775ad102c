"""The local stack's pieces, started and stopped together (see `stack.py` for the command).

Start order matters: the ports are bound first (a busy one fails fast), then moto
starts and template.yaml's resources are created, the environment is pointed at them,
the demo is loaded, and only then do the pumps, the outbox and the API start and the
state file appear, so "state file exists" means "ready". Functions never run in this
process: each runs in worker processes of its own (`function_pool.py`), as in Lambda;
the API functions' first ones cold-start in the background once the stack is up.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailexports.notify.ssrf import LOCAL_DEVELOPMENT, STRICT
from mailexports_dev.local.demo import DemoTenant
from mailexports_dev.local.execution_env import start_fork_server
from mailexports_dev.local.function_pool import DEFAULT_LIMIT, FunctionPool
from mailexports_dev.local.gateway import ApiServer, LocalApi
from mailexports_dev.local.lambda_runtime import FunctionLoadError
from mailexports_dev.local.moto_server import MotoServer
from mailexports_dev.local.outbox import DEFAULT_OUTBOX, Outbox
from mailexports_dev.local.proxy_event import GatewayInfo
from mailexports_dev.local.queue_pump import QueuePump
from mailexports_dev.local.resources import REGION
from mailexports_dev.local.schedule_trigger import ScheduleTrigger
from mailexports_dev.local.template import Resolver, functions, parameter_defaults
from mailexports_dev.local.tls import TlsFiles, prepare_tls

PREFIX = "mailexports-local"
# Fake credentials: moto accepts any, and nothing here can reach real AWS with them.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
IDLE_SECONDS = 300  # an execution environment unused this long is stopped (Lambda's are reclaimed too)
REAP_EVERY_SECONDS = 30


class StackAlreadyRunning(Exception):
    pass


@dataclass(frozen=True)
class StackOptions:
    host: str = "127.0.0.1"
    api_port: int = 3000
    https_port: int = 3443
    moto_port: int = 5000
    demo: bool = True
    demo_contacts: int = 200
    outbox: Path = DEFAULT_OUTBOX
    visibility_override: int | None = None
    function_concurrency: int = DEFAULT_LIMIT  # execution environments per function at most
    # False: webhooks to http:// and loopback are allowed, so a developer can receive them locally.
    strict_webhooks: bool = False
    # Fire ScheduleV2 events every this many seconds instead of at their expression's slots.
    schedule_interval_override: float | None = None


class LocalStack:
    """Starts and stops the pieces; `start` is all-or-nothing, `stop` is safe after a partial start."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.stage = parameter_defaults().get("Stage", "dev")
        # The relaxation is injected into the functions' processes, never read from the service's settings.
        webhook_policy = STRICT if options.strict_webhooks else LOCAL_DEVELOPMENT
        self.functions = [
            FunctionPool(
                spec, limit=options.function_concurrency, name_prefix=PREFIX, webhook_policy=webhook_policy
            )
            for spec in functions()
        ]
        self.api: ApiServer | None = None
        self.https_api: ApiServer | None = None
        self.tls: TlsFiles | None = None
        self.moto: MotoServer | None = None
        self.outbox: Outbox | None = None
        self.pumps: list[QueuePump] = []
        self.triggers: list[ScheduleTrigger] = []
        self.demo: DemoTenant | None = None
        self.env: dict[str, str] = {}
        self.started = False
        self.startup_seconds = 0.0
        self._stopping = threading.Event()
        self._reaper = threading.Thread(target=self._reap_idle_environments, name="reaper", daemon=True)
        self._state_path: Path | None = None

    def start(self) -> None:
        from mailexports_cli.target import state_file

        began = time.monotonic()
        _refuse_if_running(state_file())
        start_fork_server()  # it imports the shared libraries while moto starts
        # Kept beside the state file, so a CA trusted once stays trusted across restarts.
        self.tls = prepare_tls(state_file().parent / "tls")
        # The ports are bound before anything else happens, so a busy one fails fast.
        api = LocalApi(self.functions, GatewayInfo(stage=self.stage, port=self.options.api_port))
        self.api = ApiServer(api, self.options.host, self.options.api_port)
        api.gateway = GatewayInfo(stage=self.stage, port=self.api.port)  # the bound port, if 0 was asked
        # One gateway, two listeners: the same routes and functions answer over HTTPS.
        self.https_api = ApiServer(
            api, self.options.host, self.options.https_port, tls=self.tls.server_context(), what="HTTPS API"
        )
        self.moto = MotoServer(self.options.host, self.options.moto_port)
        self.moto.start()
        resolver = self._create_resources(self.moto.endpoint)
        for function in self.functions:
            function.environment = dict(os.environ)  # as _create_resources left it
        if self.options.demo:
            self.demo = _demo_or_none(self.options.demo_contacts)
        self.outbox = Outbox(self.options.outbox)
        self.outbox.start()
        self.pumps = [
            QueuePump(
                function,
                source,
                resolver.refs[source.queue],
                resolver.attrs[(source.queue, "Arn")],
                visibility_override=self.options.visibility_override,
                concurrency=function.limit,
            )
            for function in self.functions
            for source in function.spec.queues
        ]
        for pump in self.pumps:
            pump.start()
        self.triggers = [
            ScheduleTrigger(function, event, interval_override=self.options.schedule_interval_override)
            for function in self.functions
            for event in function.spec.schedules
        ]
        for trigger in self.triggers:
            trigger.start()
        self.api.start()
        self.https_api.start()
        self._state_path = _write_state(self.state())
        self._start_warming()
        self._reaper.start()
        self.started = True
        self.startup_seconds = time.monotonic() - began

    def _create_resources(self, endpoint: str) -> Resolver:
        from mailexports import aws
        from mailexports.config import get_settings
        from mailexports_dev.local.resources import create_resources

        # A developer's own AWS settings must not leak into the stack.
        own = [name for name in os.environ if name.startswith("AWS_ENDPOINT_URL_")]
        for name in [*own, "AWS_PROFILE", "AWS_SESSION_TOKEN"]:
            os.environ.pop(name, None)
        aws_env = {
            "AWS_ENDPOINT_URL": endpoint,
            **FAKE_CREDENTIALS,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }
        os.environ.update(aws_env)
        resolver, function_env = create_resources(prefix=PREFIX)
        self.env = {**aws_env, **function_env}
        os.environ.update(self.env)
        os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")  # no X-Ray daemon here
        aws.reset_clients()
        get_settings.cache_clear()
        return resolver

    def _start_warming(self) -> None:
        """Cold-start one environment per API function in the background, so the first request finds it warm.

        Not awaited: start-up stays as quick as before (a request that comes first simply
        gets a cold start of its own, as in Lambda). Queue-triggered functions cold-start
        at their first message, where a second's delay is invisible to clients.
        """
        for function in self.functions:
            if function.spec.routes:
                threading.Thread(target=self._warm, args=(function,), name="warm-up", daemon=True).start()

    def _reap_idle_environments(self) -> None:
        """Give back the memory of a burst: stop environments idle for IDLE_SECONDS, as Lambda reclaims them."""
        while not self._stopping.wait(REAP_EVERY_SECONDS):
            for function in self.functions:
                function.reap_idle(IDLE_SECONDS)

    @staticmethod
    def _warm(function: FunctionPool) -> None:
        try:
            function.warm()
        except FunctionLoadError as error:
            print(f"[stack] warning: {error} (its invocations fail until fixed)", file=sys.stderr, flush=True)

    def state(self) -> dict[str, Any]:
        assert self.api is not None
        assert self.https_api is not None
        assert self.tls is not None
        assert self.moto is not None
        assert self.outbox is not None
        return {
            "pid": os.getpid(),
            "api_url": self.api.url,
            "https_api_url": self.https_api.url,
            "ca_file": str(self.tls.ca_file),
            "moto_endpoint": self.moto.endpoint,
            "stage": self.stage,
            "outbox": str(self.outbox.directory),
            "env": self.env,
            # Demo credentials in clear: they exist only in this throwaway local stack.
            "demo": self.demo.as_state() if self.demo else None,
        }

    def stop(self) -> None:
        self._stopping.set()
        for pump in self.pumps:
            pump.request_stop()
        steps: list[Callable[[], object]] = [
            *(self._stop_pump(pump) for pump in self.pumps),
            *(trigger.stop for trigger in self.triggers),
            *([self.api.stop] if self.api else []),
            *([self.https_api.stop] if self.https_api else []),
            *(function.stop for function in self.functions),
            *([self.outbox.stop] if self.outbox else []),
            *([self.moto.stop] if self.moto else []),
        ]
        for step in steps:
            try:
                step()
            except Exception as error:  # stopping the rest matters more than this one
                print(f"[stack] while stopping: {error!r}", file=sys.stderr, flush=True)
        if self._state_path is not None:
            _remove_state(self._state_path)

    @staticmethod
    def _stop_pump(pump: QueuePump) -> Callable[[], object]:
        def stop() -> None:
            if not pump.stop():
                print(f"[stack] {pump.describe()}: abandoning a running invocation", flush=True)

        return stop


def _refuse_if_running(path: Path) -> None:
    """Another live stack owns this state file: two stacks would overwrite each other's."""
    try:
        pid = int(json.loads(path.read_text()).get("pid", 0))
    except (OSError, ValueError, AttributeError):
        return
    if pid and pid != os.getpid() and _alive(pid):
        raise StackAlreadyRunning(
            f"a local stack (pid {pid}) is already running with state file {path}; "
            "stop it, or give this one another --state-file"
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_state(state: dict[str, Any]) -> Path:
    from mailexports_cli.target import write_local_state

    path = write_local_state(state)
    with contextlib.suppress(OSError):
        path.chmod(0o600)  # it holds the demo tenant's API key
    return path


def _remove_state(path: Path) -> None:
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()


def _demo_or_none(contacts: int) -> DemoTenant | None:
    from mailexports_dev.local.demo import create_demo

    try:
        return create_demo(contacts)
    except Exception as error:  # the stack is still useful without its demo
        traceback.print_exc()
        print(f"[stack] warning: demo data not loaded: {error!r}", file=sys.stderr, flush=True)
        return None
