"""The local stack (`mailexports run`) as a subprocess on free ports, for tests that talk HTTP to it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from mailexports_dev.ports import free_ports

STARTUP_TIMEOUT_S = 90


def stack_environment(state_file: Path) -> dict[str, str]:
    """This process's environment, without anything that would point the stack elsewhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env["MAILEXPORTS_STATE_FILE"] = str(state_file)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class RunningStack:
    process: subprocess.Popen[bytes]
    state_file: Path
    log_file: Path
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return str(self.state["api_url"])

    @property
    def https_api_url(self) -> str:
        return str(self.state["https_api_url"])

    @property
    def ca_file(self) -> str:
        return str(self.state["ca_file"])

    @property
    def moto_endpoint(self) -> str:
        return str(self.state["moto_endpoint"])

    @property
    def env(self) -> dict[str, str]:
        return dict(self.state["env"])

    @property
    def demo(self) -> dict[str, Any]:
        if not self.state.get("demo"):
            pytest.fail(f"the stack loaded no demo tenant; its log:\n{self.log_tail()}")
        return dict(self.state["demo"])

    @property
    def outbox(self) -> Path:
        return Path(self.state["outbox"])

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 30) -> int:
        """Ctrl-C, as a developer would; kill if it does not exit in time. Returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


def start_stack(directory: Path, *args: str) -> RunningStack:
    """Start `mailexports run` on free ports, state file and outbox in `directory`; wait until ready."""
    directory.mkdir(parents=True, exist_ok=True)
    state_file = directory / "local-stack.json"
    log_file = directory / "stack.log"
    api_port, https_port, moto_port = free_ports(3)
    command = [
        sys.executable, "-m", "mailexports_cli.main", "run",
        "--api-port", str(api_port), "--https-port", str(https_port), "--moto-port", str(moto_port),
        "--state-file", str(state_file), "--outbox", str(directory / "outbox"), *args,
    ]  # fmt: skip
    with log_file.open("wb") as log:
        env = stack_environment(state_file)
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    stack = RunningStack(process, state_file, log_file)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"the local stack exited with {process.returncode} while starting:\n{stack.log_tail()}"
            )
        if _ready(stack):
            return stack
        time.sleep(0.25)
    stack.stop()
    pytest.fail(f"the local stack was not ready after {STARTUP_TIMEOUT_S} s:\n{stack.log_tail()}")


def _ready(stack: RunningStack) -> bool:
    try:
        stack.state = json.loads(stack.state_file.read_text())
        requests.get(stack.api_url, timeout=2)
    except (OSError, ValueError, KeyError, requests.RequestException):
        return False  # not written yet, half written, or not answering yet
    return True


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """One stack with 50 demo contacts for the whole session."""
    stack = start_stack(tmp_path_factory.mktemp("local-stack"), "--demo-contacts", "50")
    yield stack
    stack.stop()
