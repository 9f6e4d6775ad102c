"""The CLI client as a user runs it: a subprocess against the running local stack, no flags
(the state file says where the stack is and gives the demo tenant's key)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.conftest import RunningStack, free_ports, stack_environment
from tests.integration.test_export_over_http import expected_activity

pytestmark = pytest.mark.integration


def cli(stack: RunningStack, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = stack_environment(stack.state_file)
    for name in ("MAILEXPORTS_API_URL", "MAILEXPORTS_API_KEY"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "mailexports_cli.main", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def task_over_http(stack: RunningStack, task_uuid: str) -> dict[str, Any]:
    answer = requests.get(
        f"{stack.api_url}/v1/exports/{task_uuid}",
        headers={"Authorization": f"Bearer {stack.demo['api_key']}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    task: dict[str, Any] = answer.json()
    return task


def one_error_line(run: subprocess.CompletedProcess[str]) -> str:
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_export_wait_output_with_no_flags(local_stack: RunningStack, tmp_path: Path) -> None:
    stat_id = local_stack.demo["stat_id"]
    run = cli(local_stack, tmp_path, "export", "campaign_activity", "--param", f"stat_id={stat_id}",
              "--format", "json", "--wait", "--output", "a.json")  # fmt: skip
    assert run.returncode == 0, run.stderr
    task_uuid = run.stdout.strip()  # stdout is the task id, nothing else
    assert "export completed" in run.stderr  # the progress bar's last state (stderr is not a terminal)
    assert "(verified)" in run.stderr

    written = (tmp_path / "a.json").read_bytes()
    (file,) = task_over_http(local_stack, task_uuid)["files"]
    assert hashlib.sha256(written).hexdigest() == file["sha256"]
    document = json.loads(written)
    got = [
        {"contact_id": r["contact_id"], "opens": len(r["opens"]), "clicks": len(r["clicks"])}
        for r in document["records"]
    ]
    assert got == expected_activity(local_stack, stat_id)
    assert document["count"] == file["records"] == len(got) > 0

    shown = cli(local_stack, tmp_path, "exports", "show", task_uuid)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["status"] == "completed"

    listed = cli(local_stack, tmp_path, "exports", "list", "--status", "completed")
    assert listed.returncode == 0, listed.stderr
    assert task_uuid in listed.stdout

    again = cli(local_stack, tmp_path, "exports", "download", task_uuid, "--output", "b.json")
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "b.json").read_bytes() == written


def test_a_bad_param_exits_2_with_one_line_naming_it(local_stack: RunningStack, tmp_path: Path) -> None:
    run = cli(local_stack, tmp_path, "export", "campaign_activity", "--param", "stat_idx=1", "--wait")
    assert run.returncode == 2
    assert "params.stat_idx: Extra inputs are not permitted" in one_error_line(run)
    assert run.stdout == ""


def test_cancel_an_export_that_has_not_finished(local_stack: RunningStack, tmp_path: Path) -> None:
    stat_id = local_stack.demo["stat_id"]
    submitted = [
        cli(local_stack, tmp_path, "export", "campaign_activity", "--param", f"stat_id={stat_id}")
        for _ in range(3)
    ]
    assert [s.returncode for s in submitted] == [0, 0, 0]
    last = submitted[-1].stdout.strip()
    run = cli(local_stack, tmp_path, "exports", "cancel", last)
    status = task_over_http(local_stack, last)["status"]
    # The stack's worker runs meanwhile: the last of three is almost always still waiting, but
    # if the worker got there first, the refusal must say so and agree with the task.
    if run.returncode == 0:
        assert run.stdout.strip() == f"{last} cancelled"
        assert status == "cancelled"
    else:
        assert run.returncode == 2
        assert "has already finished" in one_error_line(run)
        assert status == "completed"
    download = cli(local_stack, tmp_path, "exports", "download", last)
    assert download.returncode == (1 if status == "cancelled" else 0)


def test_an_api_that_is_not_there_exits_3_in_one_line(local_stack: RunningStack, tmp_path: Path) -> None:
    (port,) = free_ports(1)
    run = cli(local_stack, tmp_path, "exports", "list", "--api", f"http://127.0.0.1:{port}", "--key", "k")
    assert run.returncode == 3
    assert "connection refused" in one_error_line(run)
