"""`mailexports export` / `exports ...` against the real handlers over HTTP (in-process moto)."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from tests.integration.conftest import free_ports
from tests.unit.client.conftest import STAT_ID, LocalApiServer

from mailexports_cli.client import commands
from mailexports_cli.main import main

Capture = pytest.CaptureFixture[str]


def submit(capsys: Capture, *args: str) -> str:
    assert main(["export", "campaign_activity", "--param", f"stat_id={STAT_ID}", *args]) == 0
    out, _ = capsys.readouterr()
    return out.strip()  # stdout is the task id, nothing else


def show(capsys: Capture, task_uuid: str) -> dict[str, Any]:
    assert main(["exports", "show", task_uuid]) == 0
    task: dict[str, Any] = json.loads(capsys.readouterr().out)
    return task


def one_error_line(capsys: Capture, *, after_progress: bool = False) -> str:
    """The error: one line on stderr (the last, after a progress bar's final state if one ran)."""
    _, err = capsys.readouterr()
    lines = err.splitlines()
    assert "Traceback" not in err
    assert [line for line in lines if line.startswith("error: ")] == lines[-1:], err
    assert len(lines) == 1 or after_progress, err
    return lines[-1]


def test_export_then_show_list_and_download(
    api_server: LocalApiServer, capsys: Capture, tmp_path: Path
) -> None:
    task_uuid = submit(capsys)
    assert show(capsys, task_uuid)["status"] == "new"
    assert api_server.run_worker() == 1

    task = show(capsys, task_uuid)
    assert task["status"] == "completed"
    assert main(["exports", "list", "--status", "completed"]) == 0
    listed = capsys.readouterr().out
    assert task_uuid in listed
    assert "campaign_activity" in listed

    output = tmp_path / "a.json"
    assert main(["exports", "download", task_uuid, "--output", str(output)]) == 0
    assert "(verified)" in capsys.readouterr().err
    assert hashlib.sha256(output.read_bytes()).hexdigest() == task["files"][0]["sha256"]
    assert json.loads(output.read_bytes())["count"] == 5


def test_wait_polls_as_retry_after_asks_and_downloads(
    api_server: LocalApiServer, capsys: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the worker runs only after the second poll's wait
        slept.append(seconds)
        if len(slept) == 2:
            api_server.run_worker()

    monkeypatch.setattr(commands, "poll_sleep", sleep)
    (tmp_path / "out").mkdir()
    task_uuid = submit(capsys, "--compression", "gzip", "--wait", "--output", f"{tmp_path / 'out'}/")

    # The first poll after FIRST_POLL_S (a fresh task has no Retry-After), then as the API asks (5 s).
    assert slept == [commands.FIRST_POLL_S, 5.0]
    written = tmp_path / "out" / f"{task_uuid}.json.gz"
    task = show(capsys, task_uuid)
    # The file as stored (gzip), not as an HTTP client would decode it: its sha256 is the task's.
    assert hashlib.sha256(written.read_bytes()).hexdigest() == task["files"][0]["sha256"]
    assert json.loads(gzip.decompress(written.read_bytes()))["count"] == 5
    assert list((tmp_path / "out").iterdir()) == [written]  # no temporary file left


def test_wait_exits_1_with_the_task_status_when_it_does_not_complete(
    api_server: LocalApiServer, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cancel_it(seconds: float) -> None:
        task_uuid = capsys.readouterr().out.strip()
        assert main(["exports", "cancel", task_uuid]) == 0
        assert capsys.readouterr().out.strip() == f"{task_uuid} cancelled"

    monkeypatch.setattr(commands, "poll_sleep", cancel_it)
    assert main(["export", "campaign_activity", "--param", f"stat_id={STAT_ID}", "--wait"]) == 1
    assert one_error_line(capsys, after_progress=True).endswith(" cancelled")


def test_a_bad_param_is_one_line_naming_it_and_exit_2(api_server: LocalApiServer, capsys: Capture) -> None:
    assert main(["export", "campaign_activity", "--param", "stat_idx=981"]) == 2
    line = one_error_line(capsys)
    assert "params.stat_idx: Extra inputs are not permitted" in line
    assert "params.stat_id: Field required" in line
    assert main(["export", "segment_contacts", "--param", "segment_ids"]) == 2
    assert "--param 'segment_ids': expected KEY=VALUE" in one_error_line(capsys)


def test_an_unwritable_output_is_refused_before_submitting(
    api_server: LocalApiServer, capsys: Capture, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere" / "a.json"
    assert (
        main(["export", "campaign_activity", "--param", f"stat_id={STAT_ID}", "--output", str(missing)]) == 2
    )
    assert "no such directory" in one_error_line(capsys)
    assert main(["exports", "list"]) == 0
    assert "campaign_activity" not in capsys.readouterr().out  # nothing was submitted


def test_a_mismatched_sha256_exits_1_and_keeps_no_file(
    api_server: LocalApiServer, capsys: Capture, tmp_path: Path
) -> None:
    task_uuid = submit(capsys)
    api_server.run_worker()
    s3 = boto3.client("s3")
    bucket = api_server.settings.exports_bucket
    (stored,) = s3.list_objects_v2(Bucket=bucket)["Contents"]
    s3.put_object(Bucket=bucket, Key=stored["Key"], Body=b'{"tampered": true}')

    output = tmp_path / "a.json"
    assert main(["exports", "download", task_uuid, "--output", str(output)]) == 1
    assert "does not match the task's" in one_error_line(capsys, after_progress=True)
    assert list(tmp_path.iterdir()) == []


def test_unknown_ids_and_finished_tasks_are_refused_in_one_line(
    api_server: LocalApiServer, capsys: Capture
) -> None:
    assert main(["exports", "show", "no-such-task"]) == 2
    assert "no export task" in one_error_line(capsys)
    assert main(["exports", "show", "../exports"]) == 2  # one path segment, never another route
    assert one_error_line(capsys)
    task_uuid = submit(capsys)
    assert main(["exports", "download", task_uuid]) == 1
    assert "has not finished yet (status new)" in one_error_line(capsys)
    api_server.run_worker()
    assert main(["exports", "cancel", task_uuid]) == 2
    assert "has already finished" in one_error_line(capsys)


def test_a_wrong_key_and_an_unreachable_api(
    api_server: LocalApiServer, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["exports", "list", "--key", "mxk_wrong"]) == 2
    assert "(the key came from --key)" in one_error_line(capsys)
    (port,) = free_ports(1)
    assert main(["exports", "list", "--api", f"http://127.0.0.1:{port}"]) == 3
    assert f"cannot reach the API at http://127.0.0.1:{port}: connection refused" in one_error_line(capsys)
