"""One Lambda execution environment, emulated: a worker process that runs one function, one event at a time.

Nothing process-global (Powertools' `BaseRouter.current_event`, boto3 clients, our own
caches) is ever shared between two events that run at the same time, because each
runs in a process of its own, as in Lambda. The process imports the handler at start
(the cold start) and then serves invocations over a pipe until told to stop; it is
reused warm by `FunctionPool`.

Processes are forked from a fork server that has the heavy libraries (boto3,
pydantic, Powertools) imported already, so a cold start costs the handler's own
imports only; never from the stack's process itself, whose threads (moto, the API)
would make a plain fork unsafe. The child's environment is reset to exactly what the
function gets (the stack's variables, the template's, and Lambda's own such as
AWS_LAMBDA_FUNCTION_NAME), whatever the fork server was started with. The stack's
webhook policy (relaxed unless --strict-webhooks) is installed before the handler loads:
the service itself never relaxes it.

Failures map onto Lambda's: an exception in the handler fails that invocation and
keeps the environment warm; a process that dies (a crash, `os._exit`, a signal) or
overruns the function's timeout is gone, and its invocation fails.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import time
import traceback
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from typing import Any

from mailexports.notify.ssrf import STRICT, WebhookPolicy, install_policy
from mailexports_dev.local.lambda_runtime import (
    FunctionLoadError,
    LocalFunction,
    memory_size,
    new_log_stream_name,
)
from mailexports_dev.local.template import FunctionSpec

# Imported once in the fork server, so every environment starts with them loaded.
PRELOAD = [
    "boto3",
    "botocore.session",
    "pydantic",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.logging",
    "aws_lambda_powertools.metrics",
    "aws_lambda_powertools.tracing",
    "aws_lambda_powertools.utilities.batch",
    "mailexports_dev.local.execution_env",
]
# Lambda allows 10 s for init; a laptop shared with other work imports slower, so more here.
INIT_TIMEOUT_S = 60.0
_STOP = None  # the message that ends a worker's loop


class InvocationFailed(Exception):
    """The invocation did not return a result; `remote_traceback` is the worker's, if it sent one."""

    def __init__(self, message: str, remote_traceback: str | None = None) -> None:
        super().__init__(message)
        self.remote_traceback = remote_traceback


class EnvironmentLost(InvocationFailed):
    """The environment died or timed out during the invocation; it cannot be reused."""


def fork_context() -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    assert isinstance(context, ForkServerContext)
    context.set_forkserver_preload(PRELOAD)  # takes effect when the server starts; harmless after
    return context


def start_fork_server() -> None:
    """Start the fork server now (it imports PRELOAD in the background) instead of at the first cold start."""
    fork_context()
    from multiprocessing import forkserver

    forkserver.ensure_running()


def lambda_variables(
    spec: FunctionSpec, function_name: str, memory_mb: int, log_stream: str
) -> dict[str, str]:
    """The reserved variables Lambda sets in every execution environment."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "_HANDLER": spec.handler,
        "LAMBDA_TASK_ROOT": str(spec.code_uri),
        "TZ": ":UTC",
    }


class ExecutionEnvironment:
    """The stack's side of one worker process. Not thread-safe: its pool lends it to one caller at a time."""

    def __init__(
        self,
        spec: FunctionSpec,
        environment: dict[str, str],
        *,
        name_prefix: str = "mailexports-local",
        memory_mb: int | None = None,
        init_timeout: float = INIT_TIMEOUT_S,
        webhook_policy: WebhookPolicy = STRICT,
    ) -> None:
        self.spec = spec
        self.invocations = 0
        memory_mb = memory_mb if memory_mb is not None else memory_size(spec)
        function_name = f"{name_prefix}-{spec.logical_id}"
        self.log_stream_name = new_log_stream_name()
        variables = {
            **environment,
            **lambda_variables(spec, function_name, memory_mb, self.log_stream_name),
        }
        context = fork_context()
        self._conn, child_end = context.Pipe()
        self.process = context.Process(
            target=serve,
            args=(child_end, spec, variables, name_prefix, memory_mb, self.log_stream_name, webhook_policy),
            name=f"lambda-{spec.logical_id}",
            daemon=True,
        )
        started = time.monotonic()
        self.process.start()
        child_end.close()  # ours is closed, so the worker's death reads as EOF here
        message = self._receive(init_timeout)
        self.init_seconds = time.monotonic() - started
        if message is None:
            self.kill()
            raise FunctionLoadError(f"{spec.logical_id}: init did not finish in {init_timeout:.0f}s")
        if message[0] != "ready":
            self.kill()
            raise FunctionLoadError(str(message[1]))

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def invoke(self, event: dict[str, Any]) -> Any:
        """Run one event; EnvironmentLost if the process dies or overruns the timeout, else as Lambda returns."""
        self.invocations += 1
        try:
            self._conn.send(json.dumps(event))
        except (OSError, ValueError) as error:
            self.kill()
            raise EnvironmentLost(
                f"{self.spec.logical_id}: the execution environment is gone ({error})"
            ) from None
        # A second of grace over the function's timeout for the pipe; Lambda stops it at the timeout.
        message = self._receive(self.spec.timeout + 1)
        if message is None:
            self.kill()
            raise EnvironmentLost(f"{self.spec.logical_id}: Task timed out after {self.spec.timeout} seconds")
        if message[0] == "ok":
            return json.loads(message[1])
        raise InvocationFailed(str(message[1]), remote_traceback=str(message[2]))

    def _receive(self, timeout: float) -> tuple[Any, ...] | None:
        """The worker's next message; None on timeout; EnvironmentLost if the process died."""
        try:
            if not self._conn.poll(timeout):
                return None
            message: tuple[Any, ...] = self._conn.recv()
        except (EOFError, OSError):
            self.process.join(1)
            code = self.process.exitcode
            self.kill()
            raise EnvironmentLost(
                f"{self.spec.logical_id}: the execution environment exited (code {code}) "
                "during the invocation (Runtime.ExitError)"
            ) from None
        return message

    def stop(self, grace: float = 2.0) -> None:
        """Ask the worker to exit; kill it if it does not within `grace` seconds."""
        with contextlib.suppress(OSError, ValueError):
            self._conn.send(_STOP)
        self.process.join(grace)
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self._conn.close()


def serve(
    conn: Connection,
    spec: FunctionSpec,
    variables: dict[str, str],
    name_prefix: str,
    memory_mb: int,
    log_stream_name: str,
    webhook_policy: WebhookPolicy = STRICT,
) -> None:
    """The worker process: init (import the handler), then one event at a time until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the stack's to handle; it stops us
    os.environ.clear()
    os.environ.update(variables)
    time.tzset()
    install_policy(webhook_policy)  # before the handler is imported, so every guard it builds sees it
    function = LocalFunction(
        spec, name_prefix=name_prefix, memory_mb=memory_mb, log_stream_name=log_stream_name
    )
    try:
        function.ensure_loaded()
    except FunctionLoadError as error:
        conn.send(("init_error", str(error)))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the stack is gone
        if message is _STOP:
            return
        try:
            result = function.invoke(json.loads(message))
            reply: tuple[Any, ...] = ("ok", json.dumps(result))
        except Exception as error:  # the handler's failure is the invocation's, not the environment's
            reply = ("error", f"{type(error).__name__}: {error}", traceback.format_exc())
        conn.send(reply)
