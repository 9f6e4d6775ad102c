"""`mailexports export ... --since-task ID`: an incremental export from the command line."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.unit.client.conftest import STAT_ID, LocalApiServer

from mailexports_cli.main import main

Capture = pytest.CaptureFixture[str]


def show(capsys: Capture, task_uuid: str) -> dict[str, Any]:
    assert main(["exports", "show", task_uuid]) == 0
    task: dict[str, Any] = json.loads(capsys.readouterr().out)
    return task


def test_since_task_chains_exports_by_watermark(api_server: LocalApiServer, capsys: Capture) -> None:
    assert main(["export", "campaign_activity", "--param", f"stat_id={STAT_ID}"]) == 0
    first = capsys.readouterr().out.strip()
    assert api_server.run_worker() == 1
    full = show(capsys, first)
    assert full["watermark"] is not None

    assert main(["export", "campaign_activity", "--param", f"stat_id={STAT_ID}", "--since-task", first]) == 0
    second = capsys.readouterr().out.strip()
    assert api_server.run_worker() == 1
    incremental = show(capsys, second)
    assert incremental["params"]["since_task"] == first
    assert incremental["status"] == "completed"
    assert incremental["progress"]["records"] == 0  # nothing arrived in between
    assert incremental["watermark"] >= full["watermark"]


def test_a_bad_since_task_is_one_line_naming_it(api_server: LocalApiServer, capsys: Capture) -> None:
    assert main(["export", "campaign_activity", "--param", f"stat_id={STAT_ID}", "--since-task", "nope"]) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1
    assert "params.since_task" in err
    assert "no export task nope" in err
    args = ["--param", f"stat_id={STAT_ID}", "--param", "since_task=a", "--since-task", "b"]
    assert main(["export", "campaign_activity", *args]) == 2
    assert "give the task once" in capsys.readouterr().err
