"""`make fuzz`: start a local stack on free ports, run schemathesis against it with the demo
tenant's key for a bounded number of examples, stop the stack; exit with schemathesis' code.

    python -m mailexports_dev.fuzz [--max-examples N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mailexports_dev.ports import free_ports

STARTUP_TIMEOUT_S = 90
# What the document cannot say (tests/integration/test_fuzz_openapi.py says why).
EXCLUDED_CHECKS = "positive_data_acceptance,unsupported_method"


def _start_stack(directory: Path) -> tuple[subprocess.Popen[bytes], dict[str, object]]:
    state_file = directory / "local-stack.json"
    api, https, moto = free_ports(3)
    command = [
        sys.executable, "-m", "mailexports_cli.main", "run",
        "--api-port", str(api), "--https-port", str(https), "--moto-port", str(moto),
        "--state-file", str(state_file), "--outbox", str(directory / "outbox"), "--demo-contacts", "50",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    log = (directory / "stack.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)  # noqa: S603 (our own CLI)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the local stack exited while starting; see {directory / 'stack.log'}")
        try:
            state: dict[str, object] = json.loads(state_file.read_text())
            if state.get("demo"):
                return process, state
        except (OSError, ValueError):
            pass  # not written yet
        time.sleep(0.25)
    process.kill()
    raise SystemExit(f"the local stack was not ready after {STARTUP_TIMEOUT_S} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--max-examples", type=int, default=200, help="examples per operation and phase")
    parser.add_argument("--seed", type=int, default=None, help="replay a run (schemathesis prints its seed)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mailexports-fuzz-") as directory:
        process, state = _start_stack(Path(directory))
        try:
            demo = state["demo"]
            assert isinstance(demo, dict)
            command = [
                str(Path(sys.executable).with_name("schemathesis")), "run",
                f"{state['api_url']}/v1/openapi.json",
                "--header", f"Authorization: Bearer {demo['api_key']}",
                "--checks", "all", "--exclude-checks", EXCLUDED_CHECKS,
                "--max-examples", str(args.max_examples), "--no-color",
                # API Gateway's integration timeout: a slower answer is a 504 in AWS.
                "--request-timeout", "29",
            ]  # fmt: skip
            if args.seed is not None:
                command += ["--seed", str(args.seed)]
            return subprocess.run(command, check=False).returncode  # noqa: S603 (the installed tool)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    raise SystemExit(main())
