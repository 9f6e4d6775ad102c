"""A function's execution environments, scaled like Lambda's: one event each at a time, reused warm.

An invocation takes an idle environment (the most recently used, as Lambda tends to
reuse the warmest), or starts a new one (a cold start) while fewer than `limit`
exist, or waits for one to come free. Lambda would throttle above its concurrency
limit instead; waiting keeps local clients simple and still never runs two events in
one process. An environment that died or timed out is dropped, and the next
invocation that needs one starts a fresh one. Environments idle for a while are
stopped (`reap_idle`), as Lambda reclaims them, so a burst's memory is given back.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mailexports.notify.ssrf import STRICT, WebhookPolicy
from mailexports_dev.local.execution_env import EnvironmentLost, ExecutionEnvironment
from mailexports_dev.local.template import FunctionSpec

DEFAULT_LIMIT = 4

EnvironmentFactory = Callable[[FunctionSpec, dict[str, str]], ExecutionEnvironment]


class PoolClosed(Exception):
    """The stack is stopping; no new invocation starts."""


@dataclass(frozen=True)
class PoolStats:
    cold_starts: int
    lost: int  # environments that died or timed out
    alive: int
    busy: int


class FunctionPool:
    """Invocable like a LocalFunction; safe to call from many threads at once."""

    def __init__(
        self,
        spec: FunctionSpec,
        *,
        limit: int = DEFAULT_LIMIT,
        environment: dict[str, str] | None = None,
        name_prefix: str = "mailexports-local",
        memory_mb: int | None = None,
        factory: EnvironmentFactory | None = None,
        webhook_policy: WebhookPolicy = STRICT,
    ) -> None:
        if limit < 1:
            raise ValueError("a pool needs room for at least one environment")
        self.spec = spec
        self.limit = limit
        # Set by the stack once its resources exist; read at each cold start.
        self.environment: dict[str, str] = dict(environment or {})
        # Installed in each environment before the handler loads (the stack relaxes it for local webhooks).
        self.webhook_policy = webhook_policy
        self._factory = factory or (
            lambda spec, env: ExecutionEnvironment(
                spec, env, name_prefix=name_prefix, memory_mb=memory_mb, webhook_policy=webhook_policy
            )
        )
        self._idle: list[ExecutionEnvironment] = []  # oldest release first
        self._released_at: dict[ExecutionEnvironment, float] = {}
        self._all: set[ExecutionEnvironment] = set()
        self._starting = 0
        self._cold_starts = 0
        self._lost = 0
        self._closed = False
        self._changed = threading.Condition()

    @property
    def logical_id(self) -> str:
        return self.spec.logical_id

    def invoke(self, event: dict[str, Any]) -> Any:
        environment = self._acquire()
        try:
            result = environment.invoke(event)
        except EnvironmentLost:
            self._drop(environment)
            raise
        except BaseException:
            self._release(environment)
            raise
        self._release(environment)
        return result

    def warm(self) -> None:
        """Start one environment now if none exists, so the first request is not a cold start."""
        with self._changed:
            if self._all or self._starting:
                return
            self._starting += 1
        self._release(self._start())

    def stats(self) -> PoolStats:
        with self._changed:
            return PoolStats(self._cold_starts, self._lost, len(self._all), len(self._all) - len(self._idle))

    def pids(self) -> set[int]:
        with self._changed:
            return {environment.pid for environment in self._all}

    def reap_idle(self, max_idle_seconds: float) -> int:
        """Stop environments unused for longer than `max_idle_seconds`; how many were stopped."""
        cutoff = time.monotonic() - max_idle_seconds
        with self._changed:
            expired = [e for e in self._idle if self._released_at.get(e, 0.0) < cutoff]
            for environment in expired:
                self._idle.remove(environment)
                self._forget(environment)
        for environment in expired:
            environment.stop(grace=0.5)
        return len(expired)

    def stop(self) -> None:
        """No new invocations; every environment stopped (a busy one is killed, its invocation fails)."""
        with self._changed:
            self._closed = True
            environments, self._idle = list(self._all), []
            self._changed.notify_all()
        for environment in environments:
            environment.stop(grace=0.5)

    def _acquire(self) -> ExecutionEnvironment:
        with self._changed:
            while True:
                if self._closed:
                    raise PoolClosed(f"{self.logical_id}: the local stack is stopping")
                while self._idle:
                    environment = self._idle.pop()  # the most recently released: the warmest
                    if environment.alive:
                        return environment
                    self._forget(environment)  # died while idle (e.g. killed from outside)
                    self._lost += 1
                if len(self._all) + self._starting < self.limit:
                    self._starting += 1
                    break
                self._changed.wait()
        return self._start()  # outside the lock: a cold start takes a while, others may proceed

    def _start(self) -> ExecutionEnvironment:
        """A new environment; the caller has counted it in `_starting`."""
        try:
            environment = self._factory(self.spec, self.environment)
        except BaseException:
            with self._changed:
                self._starting -= 1
                self._changed.notify()
            raise
        with self._changed:
            self._starting -= 1
            self._cold_starts += 1
            self._all.add(environment)
        print(
            f"[lambda] {self.logical_id}: cold start of execution environment pid {environment.pid} "
            f"({environment.init_seconds:.1f}s; {len(self._all)} of at most {self.limit})",
            file=sys.stderr,
            flush=True,
        )
        return environment

    def _release(self, environment: ExecutionEnvironment) -> None:
        with self._changed:
            if self._closed or not environment.alive:
                self._forget(environment)
                stale = True
            else:
                self._idle.append(environment)
                self._released_at[environment] = time.monotonic()
                stale = False
            self._changed.notify()
        if stale:
            environment.stop(grace=0.5)

    def _drop(self, environment: ExecutionEnvironment) -> None:
        with self._changed:
            self._forget(environment)
            self._lost += 1
            self._changed.notify()
        environment.kill()

    def _forget(self, environment: ExecutionEnvironment) -> None:
        """Under the lock: the environment no longer counts towards the limit."""
        self._all.discard(environment)
        self._released_at.pop(environment, None)
