"""`mailexports schedules ...` against the real handlers over HTTP (in-process moto), and the
scheduler's sweep running what the CLI created."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.unit.client.conftest import STAT_ID, LocalApiServer
from tests.unit.client.test_commands import one_error_line

from mailexports.schedules.sweep import ScheduleSweep
from mailexports_cli.main import main

Capture = pytest.CaptureFixture[str]


def create(capsys: Capture, *args: str) -> str:
    code = main(["schedules", "create", "campaign_activity", "--param", f"stat_id={STAT_ID}", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out.strip()  # stdout is the schedule id, nothing else


def show(capsys: Capture, schedule_id: str) -> dict[str, Any]:
    assert main(["schedules", "show", schedule_id]) == 0
    schedule: dict[str, Any] = json.loads(capsys.readouterr().out)
    return schedule


def test_create_list_show_pause_resume_delete(api_server: LocalApiServer, capsys: Capture) -> None:
    schedule_id = create(
        capsys, "--schedule", "cron(0 2 * * ? *)", "--timezone", "Europe/Berlin", "--incremental",
        "--format", "ndjson",
    )  # fmt: skip
    schedule = show(capsys, schedule_id)
    assert (schedule["schedule"], schedule["timezone"], schedule["incremental"]) == (
        "cron(0 2 * * ? *)",
        "Europe/Berlin",
        True,
    )
    assert schedule["export"]["format"] == "ndjson"
    assert schedule["export"]["params"]["stat_id"] == STAT_ID

    assert main(["schedules", "list"]) == 0
    listed = capsys.readouterr().out
    assert schedule_id in listed
    assert "cron(0 2 * * ? *)" in listed

    assert main(["schedules", "pause", schedule_id]) == 0
    assert capsys.readouterr().out.strip() == f"{schedule_id} paused"
    assert show(capsys, schedule_id)["next_run_at"] is None
    assert main(["schedules", "resume", schedule_id]) == 0
    assert capsys.readouterr().out.startswith(f"{schedule_id} resumed: next run ")

    assert main(["schedules", "delete", schedule_id]) == 0
    assert capsys.readouterr().out.strip() == f"{schedule_id} deleted"
    assert main(["schedules", "show", schedule_id]) == 2
    assert "no schedule" in one_error_line(capsys)


def test_a_created_schedule_runs_as_an_export_task(api_server: LocalApiServer, capsys: Capture) -> None:
    schedule_id = create(capsys, "--schedule", "rate(1 day)")
    assert len(ScheduleSweep().sweep().submitted) == 1
    run = show(capsys, schedule_id)["last_task_uuid"]
    assert main(["exports", "show", run]) == 0
    assert json.loads(capsys.readouterr().out)["schedule_id"] == schedule_id


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--schedule", "cron(0 2 * * * *)"], "schedule"),
        (["--schedule", "rate(1 day)", "--timezone", "Moon/Base"], "timezone"),
        (["--schedule", "rate(1 day)", "--param", "stat_id=nope"], "params.stat_id"),
    ],
)
def test_refusals_are_one_line_naming_the_field(
    api_server: LocalApiServer, capsys: Capture, args: list[str], named: str
) -> None:
    base = ["schedules", "create", "campaign_activity"]
    assert main([*base, *([] if "--param" in args else ["--param", f"stat_id={STAT_ID}"]), *args]) == 2
    assert named in one_error_line(capsys)
    assert main(["schedules", "list"]) == 0
    assert "rate(" not in capsys.readouterr().out  # nothing stored


def test_a_paused_schedule_is_created_paused(api_server: LocalApiServer, capsys: Capture) -> None:
    code = main(
        ["schedules", "create", "campaign_activity", "--param", f"stat_id={STAT_ID}",
         "--schedule", "rate(1 hour)", "--paused"]
    )  # fmt: skip
    assert code == 0
    assert capsys.readouterr().err.strip().endswith(": paused")
    assert ScheduleSweep().sweep().submitted == []
