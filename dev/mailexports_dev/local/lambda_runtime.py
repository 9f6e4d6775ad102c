"""Run a template.yaml function's handler in this process, the way Lambda would call it.

The handler file is imported from its CodeUri under a module name of its own (every
function's file is `app.py`), and each call gets a context object with the attributes
and the countdown Lambda's context has. One invocation at a time, like one Lambda
execution environment: handlers and Powertools keep per-invocation state in module
globals (e.g. `BaseRouter.current_event`), which concurrent calls in one process would
mix up. The local stack therefore runs each `LocalFunction` in a worker process of
its own (`execution_env.py`, pooled by `function_pool.py`); tests use it in-process.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any, Protocol

from mailexports_dev.local.resources import ACCOUNT, REGION
from mailexports_dev.local.template import FunctionSpec, load_template

Handler = Callable[[dict[str, Any], Any], Any]


class Invocable(Protocol):
    """What the gateway and the queue pumps call: a function, in-process or in execution environments."""

    @property
    def spec(self) -> FunctionSpec: ...

    @property
    def logical_id(self) -> str: ...

    def invoke(self, event: dict[str, Any]) -> Any: ...


@dataclass
class LambdaContext:
    """What `context` offers a Python handler in Lambda (the attributes handlers and Powertools read)."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    timeout_seconds: int
    identity: Any = None
    client_context: Any = None
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionLoadError(Exception):
    """The handler could not be imported (Lambda's Runtime.ImportModuleError)."""


def module_name(spec: FunctionSpec) -> str:
    """A unique module name per function, e.g. SubmitFunction -> mailexports_fn_submit."""
    slug = spec.logical_id.removesuffix("Function") or spec.logical_id
    return f"mailexports_fn_{slug.lower()}"


def memory_size(spec: FunctionSpec, template: dict[str, Any] | None = None) -> int:
    template = template or load_template()
    own = template["Resources"].get(spec.logical_id, {}).get("Properties", {})
    default = template.get("Globals", {}).get("Function", {}).get("MemorySize", 128)
    return int(own.get("MemorySize", default))


def load_handler(spec: FunctionSpec) -> Handler:
    """Import the handler file and return its handler function."""
    path = spec.handler_file
    name = module_name(spec)
    import_spec = importlib.util.spec_from_file_location(name, path)
    if import_spec is None or import_spec.loader is None:
        raise FunctionLoadError(f"{spec.logical_id}: cannot import {path}")
    module: ModuleType = importlib.util.module_from_spec(import_spec)
    sys.modules[name] = module
    # Lambda puts the code directory on sys.path, so a handler may import files next to it.
    sys.path.insert(0, str(spec.code_uri))
    try:
        import_spec.loader.exec_module(module)
    except Exception as error:
        sys.modules.pop(name, None)
        raise FunctionLoadError(f"{spec.logical_id}: importing {path} failed: {error!r}") from error
    finally:
        sys.path.remove(str(spec.code_uri))
    function_name = spec.handler.rsplit(".", 1)[1]
    handler = getattr(module, function_name, None)
    if not callable(handler):
        raise FunctionLoadError(f"{spec.logical_id}: {path} has no function {function_name!r}")
    return handler  # type: ignore[no-any-return]


class LocalFunction:
    """One template function, ready to invoke: its handler plus what a context needs."""

    def __init__(
        self,
        spec: FunctionSpec,
        handler: Handler | None = None,
        *,
        name_prefix: str = "mailexports-local",
        memory_mb: int | None = None,
        log_stream_name: str | None = None,
    ) -> None:
        self.spec = spec
        self.name = f"{name_prefix}-{spec.logical_id}"
        self.memory_mb = memory_mb if memory_mb is not None else memory_size(spec)
        # One stream per execution environment, as in CloudWatch.
        self.log_stream_name = log_stream_name or new_log_stream_name()
        self._handler = handler
        self._lock = threading.Lock()

    @property
    def logical_id(self) -> str:
        return self.spec.logical_id

    def ensure_loaded(self) -> Handler:
        """Import the handler if not yet done; like Lambda's init, retried at the next call if it fails."""
        if self._handler is None:
            self._handler = load_handler(self.spec)
        return self._handler

    def new_context(self) -> LambdaContext:
        return LambdaContext(
            function_name=self.name,
            function_version="$LATEST",
            invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.name}",
            memory_limit_in_mb=self.memory_mb,
            aws_request_id=str(uuid.uuid4()),
            log_group_name=f"/aws/lambda/{self.name}",
            log_stream_name=self.log_stream_name,
            timeout_seconds=self.spec.timeout,
        )

    def invoke(self, event: dict[str, Any]) -> Any:
        """Call the handler with a fresh context; its result comes back as Lambda would return it (JSON)."""
        with self._lock:
            handler = self.ensure_loaded()
            context = self.new_context()
            started = time.monotonic()
            result = handler(json.loads(json.dumps(event)), context)
            elapsed = time.monotonic() - started
        if elapsed > self.spec.timeout:
            print(
                f"[lambda] {self.logical_id} ran {elapsed:.1f}s, past its {self.spec.timeout}s timeout: "
                "Lambda would have stopped it",
                file=sys.stderr,
                flush=True,
            )
        # Lambda serialises the result; a handler returning something JSON can't carry fails there too.
        return json.loads(json.dumps(result))


def new_log_stream_name() -> str:
    return f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"


def report_failure(function: Invocable, error: BaseException) -> None:
    """The traceback goes to the stack's console (Lambda's log), never to a client."""
    print(f"[lambda] {function.logical_id} failed: {error!r}", file=sys.stderr, flush=True)
    remote = getattr(error, "remote_traceback", None)  # from a worker process: its own traceback
    if remote:
        print(remote, file=sys.stderr, end="", flush=True)
    else:
        traceback.print_exception(error, file=sys.stderr)
