"""The soak, short: a few clients over five tenants submit one export of every kind (each
type and format, gzip, every dialect) and page Constant Contact, while duplicate queue
messages arrive, a worker is killed mid-export and the webhook receiver is down for a
while; then two big exports killed mid multipart upload are failed by a watchdog that may
not re-drive (tests/soak/stalled.py). `make soak` runs the long one (20 clients, 200 exports)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import start_stack
from tests.soak.run import STACK_ARGS, STACK_ENV, SoakOptions, run_soak
from tests.soak.workload import every_variant

pytestmark = pytest.mark.integration

SHORT = SoakOptions(
    clients=6,
    exports=len(every_variant()),
    pagings=6,
    contacts=25,
    kills=1,
    first_kill_after=2.0,
    outage_seconds=8.0,
    deadline_seconds=75.0,
)


@pytest.mark.timeout(240)
def test_soak_with_faults_ends_every_task_completed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in STACK_ENV.items():
        monkeypatch.setenv(name, value)
    stack = start_stack(tmp_path / "stack", *STACK_ARGS)
    try:
        report = run_soak(stack, SHORT, tmp_path)
    finally:
        stack.stop()
    assert not report.problems, f"{report.text()}\nstack log:\n{stack.log_tail(40)}"
