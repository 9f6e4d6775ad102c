"""Many clients at once against the running local stack: every answer belongs to its own request.

Powertools keeps the current event in a class attribute, so two events handled in one
process at the same time could answer a POST with a concurrent GET's headers and
empty body, or authenticate one request with another's key. The stack runs every
function in execution environments of its own; this fires mixed, concurrent traffic
at two functions (SubmitFunction and StatusFunction) from two tenants and checks each
answer against what its own request said.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
import requests

from tests.integration.conftest import RunningStack, stack_environment

pytestmark = pytest.mark.integration

CLIENTS = 20
ROUNDS = 8  # per client: a submit, then a read of its own task and a read of the other tenant's


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"submit": [], "status": []})
    wrong: list[str] = field(default_factory=list)

    def timed(
        self, kind: str, session: requests.Session, method: str, url: str, **kwargs: Any
    ) -> requests.Response:
        started = time.monotonic()
        response = session.request(method, url, timeout=60, **kwargs)
        with self.lock:
            self.latencies[kind].append(time.monotonic() - started)
        return response

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            with self.lock:
                self.wrong.append(what)


def _second_tenant(stack: RunningStack) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mailexports_cli.main",
            "tenant",
            "create",
            "concurrency-b",
            "--username",
            "b@example.com",
        ],
        env=stack_environment(stack.state_file),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return str(json.loads(result.stdout)["api_key"])


def _window(task: dict[str, Any]) -> tuple[str, str, str]:
    params = task["params"]
    return params["stat_id"], params["start_date"], params["end_date"]


def _client(stack: RunningStack, number: int, key: str, other_key: str, tally: Tally) -> None:
    stat_id = stack.demo["stat_id"]
    session = requests.Session()  # one connection per client, reused, as SDKs do
    own = {"Authorization": f"Bearer {key}"}
    other = {"Authorization": f"Bearer {other_key}"}
    for round_ in range(ROUNDS):
        what = f"client {number} round {round_}"
        # A window of its own per request (echoed in every answer about the task), so answers can't pass for another's.
        start = date(2000, 1, 1) + timedelta(days=number * ROUNDS + round_)
        params = {
            "stat_id": stat_id,
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=1)).isoformat(),
        }
        headers = {**own, "Idempotency-Key": str(uuid.uuid4())}
        body = {"type": "campaign_activity", "params": params}
        url = f"{stack.api_url}/v1/exports"
        submitted = tally.timed("submit", session, "POST", url, headers=headers, json=body)
        tally.check(
            submitted.status_code == 202, f"{what}: submit {submitted.status_code} {submitted.text[:200]}"
        )
        if submitted.status_code != 202:
            continue
        task = submitted.json()
        tally.check(_window(task) == _window(body), f"{what}: submit answered with {task['params']}")
        task_url = f"{url}/{task['task_uuid']}"
        tally.check(
            submitted.headers["Location"] == task_url, f"{what}: Location {submitted.headers['Location']}"
        )

        read = tally.timed("status", session, "GET", task_url, headers=own)
        tally.check(read.status_code == 200, f"{what}: status {read.status_code} {read.text[:200]}")
        if read.status_code == 200:
            answer = read.json()
            tally.check(
                (answer["task_uuid"], _window(answer)) == (task["task_uuid"], _window(body)),
                f"{what}: read of {task['task_uuid']} answered {answer['task_uuid']} / {answer['params']}",
            )
        # The other tenant asks for this task amid everyone's traffic: never answered with our key's view.
        foreign = tally.timed("status", session, "GET", task_url, headers=other)
        tally.check(
            foreign.status_code == 404, f"{what}: other tenant got {foreign.status_code} {foreign.text[:200]}"
        )


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def test_concurrent_clients_each_get_answers_to_their_own_requests(local_stack: RunningStack) -> None:
    key = local_stack.demo["api_key"]
    other_key = _second_tenant(local_stack)
    tally = Tally()
    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(_client, local_stack, n, key, other_key, tally) for n in range(CLIENTS)]
        for future in futures:
            future.result()
    elapsed = time.monotonic() - started

    submits, reads = tally.latencies["submit"], tally.latencies["status"]
    assert len(submits) == CLIENTS * ROUNDS
    assert reads, "no submit succeeded:\n" + "\n".join(tally.wrong[:10])
    figures = (
        f"{CLIENTS} clients, {len(submits)} submits + {len(reads)} reads in {elapsed:.1f}s; "
        f"submit p50 {statistics.median(submits) * 1000:.0f}ms p99 {_percentile(submits, 0.99) * 1000:.0f}ms; "
        f"status p50 {statistics.median(reads) * 1000:.0f}ms p99 {_percentile(reads, 0.99) * 1000:.0f}ms; "
        f"{len(tally.wrong)} wrong answers"
    )
    print(figures)
    assert tally.wrong == [], f"{figures}\n" + "\n".join(tally.wrong[:20])
    # Under this load the functions scaled out beyond one environment each, as Lambda would.
    log = local_stack.log_file.read_text()
    for function in ("SubmitFunction", "StatusFunction"):
        grown = re.findall(
            rf"{function}: cold start of execution environment pid \d+ \([\d.]+s; ([2-9]) of", log
        )
        assert grown, f"{function} never ran more than one environment at once"
