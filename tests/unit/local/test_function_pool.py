"""FunctionPool and ExecutionEnvironment with real worker processes running small handler files."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from mailexports_dev.local.execution_env import EnvironmentLost, ExecutionEnvironment, InvocationFailed
from mailexports_dev.local.function_pool import FunctionPool, PoolClosed
from mailexports_dev.local.lambda_runtime import FunctionLoadError
from mailexports_dev.local.template import FunctionSpec

# Records what the process looks like to the event; `busy` counts events in this process right now.
HANDLER = """
import os, time
busy = 0
events = 0

def lambda_handler(event, context):
    global busy, events
    busy += 1
    events += 1
    try:
        if event.get("crash"):
            os._exit(3)
        if event.get("raise"):
            raise ValueError("handler says no")
        time.sleep(event.get("sleep", 0))
        return {
            "pid": os.getpid(), "busy": busy, "events": events, "echo": event.get("echo"),
            "request_id": context.aws_request_id, "remaining": context.get_remaining_time_in_millis(),
            "stream": context.log_stream_name, "name": context.function_name,
            "env_name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
            "env_stream": os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME"),
            "custom": os.environ.get("CUSTOM_SETTING"), "tz": os.environ.get("TZ"),
        }
    finally:
        busy -= 1
"""


@pytest.fixture
def spec(tmp_path: Path) -> FunctionSpec:
    (tmp_path / "app.py").write_text(HANDLER)
    return FunctionSpec("ProbeFunction", tmp_path, "app.lambda_handler", timeout=5)


@pytest.fixture
def pool(spec: FunctionSpec) -> Iterator[FunctionPool]:
    pool = FunctionPool(
        spec, limit=3, environment={**os.environ, "CUSTOM_SETTING": "from-template"}, memory_mb=256
    )
    yield pool
    pool.stop()


def test_an_invocation_gets_lambdas_context_and_environment(pool: FunctionPool) -> None:
    first = pool.invoke({"echo": "one"})
    assert first["echo"] == "one"
    assert first["pid"] != os.getpid()  # never in the stack's own process
    assert first["name"] == first["env_name"] == "mailexports-local-ProbeFunction"
    assert first["stream"] == first["env_stream"]
    assert first["custom"] == "from-template"
    assert first["tz"] == ":UTC"
    assert 3000 < first["remaining"] <= 5000
    second = pool.invoke({"echo": "two"})
    assert second["request_id"] != first["request_id"]


def test_a_warm_environment_is_reused_and_cold_starts_once(pool: FunctionPool) -> None:
    pool.warm()
    answers = [pool.invoke({}) for _ in range(4)]
    assert {a["pid"] for a in answers} == {answers[0]["pid"]}
    assert [a["events"] for a in answers] == [
        1,
        2,
        3,
        4,
    ]  # module state survives between events, as in Lambda
    assert len({a["stream"] for a in answers}) == 1  # one log stream per environment
    assert pool.stats().cold_starts == 1


def test_concurrent_events_each_run_alone_and_the_pool_grows_to_its_limit(pool: FunctionPool) -> None:
    with ThreadPoolExecutor(8) as threads:
        answers = list(threads.map(lambda n: pool.invoke({"sleep": 0.5, "echo": n}), range(8)))
    assert [a["echo"] for a in answers] == list(range(8))  # every answer is its own event's
    assert {a["busy"] for a in answers} == {1}  # never two events in one process at once
    assert len({a["pid"] for a in answers}) == 3  # grown on demand, to the limit and no further
    stats = pool.stats()
    assert (stats.cold_starts, stats.alive, stats.busy) == (3, 3, 0)


def test_a_handler_exception_fails_the_invocation_and_keeps_the_environment(pool: FunctionPool) -> None:
    before = pool.invoke({})["pid"]
    with pytest.raises(InvocationFailed, match="ValueError: handler says no") as raised:
        pool.invoke({"raise": True})
    assert not isinstance(raised.value, EnvironmentLost)
    assert "Traceback" in (raised.value.remote_traceback or "")  # the worker's, for the console
    assert pool.invoke({})["pid"] == before
    assert pool.stats().lost == 0


def test_a_crashed_environment_fails_its_invocation_and_is_replaced(pool: FunctionPool) -> None:
    before = pool.invoke({})["pid"]
    with pytest.raises(EnvironmentLost, match="exited"):
        pool.invoke({"crash": True})
    after = pool.invoke({})
    assert after["pid"] != before
    assert after["events"] == 1  # a fresh environment: a cold start
    stats = pool.stats()
    assert (stats.lost, stats.cold_starts, stats.alive) == (1, 2, 1)


def test_an_environment_killed_while_idle_is_not_handed_out(pool: FunctionPool) -> None:
    (pid,) = pool.pids() or {pool.invoke({})["pid"]}
    os.kill(pid, 9)
    time.sleep(0.2)
    assert pool.invoke({})["pid"] != pid


def test_an_overrun_of_the_timeout_stops_the_environment(spec: FunctionSpec) -> None:
    short = FunctionSpec(spec.logical_id, spec.code_uri, spec.handler, timeout=1)
    pool = FunctionPool(short, limit=1, environment=dict(os.environ), memory_mb=128)
    try:
        with pytest.raises(EnvironmentLost, match="timed out after 1 seconds"):
            pool.invoke({"sleep": 10})
        assert pool.invoke({})["events"] == 1
    finally:
        pool.stop()


def test_at_the_limit_an_invocation_waits_for_a_free_environment(spec: FunctionSpec) -> None:
    pool = FunctionPool(spec, limit=1, environment=dict(os.environ), memory_mb=128)
    try:
        results: list[dict[str, Any]] = []
        slow = threading.Thread(target=lambda: results.append(pool.invoke({"sleep": 0.6, "echo": "slow"})))
        slow.start()
        time.sleep(0.2)
        started = time.monotonic()
        quick = pool.invoke({"echo": "quick"})
        slow.join()
        assert time.monotonic() - started > 0.2  # it waited for the slow one
        assert quick["pid"] == results[0]["pid"]
        assert pool.stats().cold_starts == 1
    finally:
        pool.stop()


def test_an_import_error_is_a_load_error_and_retried_at_the_next_invocation(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import no_such_module_here\n")
    spec = FunctionSpec("BrokenFunction", tmp_path, "app.lambda_handler", timeout=5)
    pool = FunctionPool(spec, limit=2, environment=dict(os.environ), memory_mb=128)
    try:
        with pytest.raises(FunctionLoadError, match="BrokenFunction"):
            pool.invoke({})
        (tmp_path / "app.py").write_text("def lambda_handler(event, context):\n    return 'fixed'\n")
        assert pool.invoke({}) == "fixed"
    finally:
        pool.stop()


def test_idle_environments_are_reaped_and_the_next_invocation_cold_starts(pool: FunctionPool) -> None:
    with ThreadPoolExecutor(2) as threads:
        list(threads.map(lambda n: pool.invoke({"sleep": 0.3}), range(2)))
    assert pool.stats().alive == 2
    assert pool.reap_idle(60) == 0  # recently used: kept warm
    pids = pool.pids()
    assert pool.reap_idle(0) == 2
    assert pool.stats().alive == 0
    assert pool.invoke({})["pid"] not in pids
    assert pool.stats().cold_starts == 3


def test_a_stopped_pool_ends_its_processes_and_refuses_work(pool: FunctionPool) -> None:
    pool.invoke({})
    (pid,) = pool.pids()
    pool.stop()
    with pytest.raises(PoolClosed):
        pool.invoke({})
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_an_environment_on_its_own_serves_one_event_after_another(spec: FunctionSpec) -> None:
    environment = ExecutionEnvironment(spec, dict(os.environ), memory_mb=128)
    try:
        assert [environment.invoke({"echo": n})["echo"] for n in range(3)] == [0, 1, 2]
        assert environment.invocations == 3
    finally:
        environment.stop()
    assert not environment.alive
