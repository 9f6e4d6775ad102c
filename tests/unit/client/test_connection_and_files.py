"""Where the client connects (flags, environment, local stack) and where downloads are written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailexports_cli.client.connection import API_KEY_ENV, API_URL_ENV, resolve
from mailexports_cli.client.download import output_paths
from mailexports_cli.client.errors import UsageError


@pytest.fixture
def local_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(API_URL_ENV, raising=False)
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    path = tmp_path / "local-stack.json"
    monkeypatch.setenv("MAILEXPORTS_STATE_FILE", str(path))
    return path


def write_state(path: Path, demo_key: str | None = "mxk_demo") -> None:
    demo = {"api_key": demo_key, "stat_id": "981"} if demo_key else None
    path.write_text(json.dumps({"api_url": "http://127.0.0.1:3000", "env": {}, "demo": demo}))


def test_flags_win_over_the_environment_and_the_local_stack(
    local_state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_state(local_state)
    monkeypatch.setenv(API_URL_ENV, "https://env.example/")
    monkeypatch.setenv(API_KEY_ENV, "mxk_env")
    flags = resolve("https://flag.example", "mxk_flag")
    assert (flags.api_url, flags.api_key) == ("https://flag.example", "mxk_flag")
    env = resolve(None, None)
    assert (env.api_url, env.api_key, env.key_source) == ("https://env.example", "mxk_env", API_KEY_ENV)


def test_no_flags_and_no_environment_use_the_local_stacks_demo_tenant(local_state: Path) -> None:
    write_state(local_state)
    local = resolve(None, None)
    assert (local.api_url, local.api_key, local.source) == (
        "http://127.0.0.1:3000",
        "mxk_demo",
        "the local stack",
    )
    # The demo key goes only to the local stack's own URL.
    with pytest.raises(UsageError, match=r"no API key for https://elsewhere\.example"):
        resolve("https://elsewhere.example", None)
    assert resolve("http://127.0.0.1:3000/", None).api_key == "mxk_demo"


def test_nothing_to_connect_to_says_what_to_do(local_state: Path) -> None:
    with pytest.raises(UsageError, match=r"pass --api URL --key KEY, set MAILEXPORTS_API_URL"):
        resolve(None, None)
    write_state(local_state, demo_key=None)
    with pytest.raises(UsageError, match="has no demo tenant: pass --key KEY"):
        resolve(None, None)
    assert resolve(None, "mxk_mine").api_key == "mxk_mine"
    with pytest.raises(UsageError, match="is not an http:// or https:// URL"):
        resolve("ftp://x", "k")


TASK = {"task_uuid": "t-1", "format": "json", "compression": "none"}


def test_one_file_goes_to_output_or_is_named_after_the_task(tmp_path: Path) -> None:
    assert output_paths(TASK, None, 1) == [Path("t-1.json")]
    assert output_paths(TASK, tmp_path / "a.json", 1) == [tmp_path / "a.json"]
    assert output_paths(TASK, tmp_path, 1) == [tmp_path / "t-1.json"]
    gzipped = {**TASK, "format": "ndjson", "compression": "gzip"}
    assert output_paths(gzipped, tmp_path, 1) == [tmp_path / "t-1.ndjson.gz"]


def test_several_files_are_numbered_before_the_extension(tmp_path: Path) -> None:
    csv_gz = {**TASK, "format": "csv", "compression": "gzip"}
    assert output_paths(csv_gz, tmp_path / "a.csv.gz", 2) == [
        tmp_path / "a-0001.csv.gz",
        tmp_path / "a-0002.csv.gz",
    ]
    assert output_paths(TASK, tmp_path, 2) == [tmp_path / "t-1-0001.json", tmp_path / "t-1-0002.json"]
