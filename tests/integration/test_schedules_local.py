"""Schedules on the running local stack: the emulated EventBridge Scheduler fires the
scheduler's sweep (every second here, --schedule-interval-override), a `rate(1 minute)`
incremental schedule produces a chain of ordinary tasks, a missed slot runs once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from mailexports.exports.task_store import stamp
from tests.integration.conftest import RunningStack, start_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = start_stack(
        Path(tmp_path_factory.mktemp("schedules")),
        "--demo-contacts",
        "20",
        "--schedule-interval-override",
        "1",
    )
    yield running
    running.stop()


def api(stack: RunningStack, method: str, path: str, body: Any = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {stack.demo['api_key']}"}
    return requests.request(method, f"{stack.api_url}{path}", json=body, headers=headers, timeout=30)


def wait_for(what: str, check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


def schedule_of(stack: RunningStack, schedule_id: str) -> dict[str, Any]:
    answer = api(stack, "GET", f"/v1/schedules/{schedule_id}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def completed_task(stack: RunningStack, task_uuid: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        task: dict[str, Any] = api(stack, "GET", f"/v1/exports/{task_uuid}").json()
        return task if task["status"] == "completed" else None

    task: dict[str, Any] = wait_for(f"task {task_uuid} to complete", done, 60)
    return task


def run_after(stack: RunningStack, schedule_id: str, runs: int, timeout: float) -> dict[str, Any]:
    found: dict[str, Any] = wait_for(
        f"run {runs} of {schedule_id}",
        lambda: (s := schedule_of(stack, schedule_id))["runs"] >= runs and s,
        timeout,
    )
    return found


def test_a_rate_schedule_runs_chains_and_recovers_once(stack: RunningStack) -> None:
    export = {"type": "campaign_activity", "params": {"stat_id": stack.demo["stat_id"]}}
    created = api(
        stack, "POST", "/v1/schedules", {"export": export, "schedule": "rate(1 minute)", "incremental": True}
    )
    assert created.status_code == 201, created.text
    schedule_id = created.json()["id"]
    assert created.headers["Location"].endswith(f"/v1/schedules/{schedule_id}")

    first = run_after(stack, schedule_id, 1, 20)  # a new rate schedule runs at once
    task1 = completed_task(stack, first["last_task_uuid"])
    assert task1["schedule_id"] == schedule_id
    assert task1["params"].get("since_task") is None

    second = run_after(stack, schedule_id, 2, 75)  # the next minute's slot
    task2 = completed_task(stack, second["last_task_uuid"])
    assert task2["params"]["since_task"] == task1["task_uuid"]

    # The service was "down" for ten slots: the schedule's slot is long past.
    table = boto3.resource(
        "dynamodb",
        endpoint_url=stack.moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    ).Table(stack.env["SCHEDULES_TABLE"])
    missed = stamp(datetime.now(UTC) - timedelta(minutes=10))
    table.update_item(
        Key={"schedule_id": schedule_id},
        UpdateExpression="SET next_run_at = :m",
        ExpressionAttributeValues={":m": missed},
    )
    third = run_after(stack, schedule_id, 3, 20)
    time.sleep(3)  # three more sweeps: none may run a catch-up slot
    assert schedule_of(stack, schedule_id)["runs"] == 3
    task3 = completed_task(stack, third["last_task_uuid"])
    assert task3["params"]["since_task"] == task2["task_uuid"]
    assert third["next_run_at"] > datetime.now(UTC).strftime("%Y-%m-%dT%H:%M")

    listed = api(stack, "GET", "/v1/exports?limit=100").json()["exports"]
    assert sorted(t["task_uuid"] for t in listed if t.get("schedule_id") == schedule_id) == sorted(
        [task1["task_uuid"], task2["task_uuid"], task3["task_uuid"]]
    )

    # Paused: no more runs, however long it waits.
    assert (
        api(stack, "PATCH", f"/v1/schedules/{schedule_id}", {"enabled": False}).json()["next_run_at"] is None
    )
    table.update_item(
        Key={"schedule_id": schedule_id},
        UpdateExpression="SET next_run_at = :m",
        ExpressionAttributeValues={":m": missed},
    )  # even with a stale slot written back (no `due`: out of the index)
    time.sleep(3)
    assert schedule_of(stack, schedule_id)["runs"] == 3


def test_bad_input_over_http_is_a_4xx_naming_the_field(stack: RunningStack) -> None:
    export = {"type": "campaign_activity", "params": {"stat_id": stack.demo["stat_id"]}}
    before = api(stack, "GET", "/v1/schedules").json()["schedules"]
    for body, field in [
        ({"export": export, "schedule": "cron(0 2 * * * *)"}, "schedule"),
        ({"export": export, "schedule": "rate(1 day)", "timezone": "Atlantis/Capital"}, "timezone"),
        (
            {"export": {**export, "params": {"stat_id": "no-such"}}, "schedule": "rate(1 day)"},
            "params.stat_id",
        ),
    ]:
        answer = api(stack, "POST", "/v1/schedules", body)
        assert 400 <= answer.status_code < 500, answer.text
        assert field in [d["field"] for d in answer.json()["error"]["details"]]
    assert api(stack, "GET", "/v1/schedules").json()["schedules"] == before  # nothing stored
