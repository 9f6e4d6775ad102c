"""The faults the soak injects while its clients work, each on a thread of its own:

- `Redeliverer`: SQS is at-least-once, so it sends copies of ExportQueue messages (just
  after submit and after the task finished) and of NotifyQueue's first attempt, straight
  to the stack's moto queues.
- `WorkerKiller`: SIGKILLs a WorkerFunction execution environment while it is busy (an
  export running in it), as a crashed Lambda; the stack's function pool starts a new one
  at the next message. The stack's own log names each environment's pid at its cold start.
- `WatchdogClock`: plays EventBridge Scheduler for WatchdogFunction (the local stack runs
  no schedules): it sweeps every few seconds with a short heartbeat limit, so a task whose
  worker was killed is re-driven within the run instead of after five minutes.
- The webhook outage is `FlakyReceiver.failing`, set and cleared by the runner.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from mailexports.config import Settings
from mailexports.exports.messages import NotifyMessage, message_body, notify_body
from mailexports.exports.watchdog import Watchdog, WatchdogReport
from tests.soak.aws_env import client

COLD_START = re.compile(r"\[lambda\] WorkerFunction: cold start of execution environment pid (\d+)")


class Redeliverer:
    def __init__(self, stack_env: dict[str, str]) -> None:
        self._sqs = client(stack_env, "sqs")
        self._export_queue = stack_env["EXPORT_QUEUE_URL"]
        self._notify_queue = stack_env["NOTIFY_QUEUE_URL"]
        self._work: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self.sent = {"export": 0, "notify": 0}
        self._thread = threading.Thread(target=self._run, name="redeliverer", daemon=True)

    def submitted(self, task_uuid: str) -> None:
        self._work.put(("export", task_uuid))

    def finished(self, task_uuid: str) -> None:
        self._work.put(("export", task_uuid))
        self._work.put(("notify", task_uuid))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._work.put(None)
        self._thread.join(30)

    def _run(self) -> None:
        while (item := self._work.get()) is not None:
            kind, task_uuid = item
            if kind == "export":
                self._sqs.send_message(QueueUrl=self._export_queue, MessageBody=message_body(task_uuid))
            else:
                body = notify_body(NotifyMessage(task_uuid=task_uuid, event="export.completed"))
                self._sqs.send_message(QueueUrl=self._notify_queue, MessageBody=body)
            self.sent[kind] += 1


@dataclass
class Kill:
    pid: int
    at: float


@dataclass
class WorkerKiller:
    """Kills `count` busy worker environments, the first after `first_after` s, then every `every` s."""

    stack_log: Path
    count: int
    first_after: float
    every: float
    kills: list[Kill] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="worker-killer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(10)

    def worker_pids(self) -> list[int]:
        """Every WorkerFunction environment the stack has cold-started, in order."""
        text = self.stack_log.read_text(errors="replace")
        return [int(pid) for pid in COLD_START.findall(text)]

    def _run(self) -> None:
        if self._stopping.wait(self.first_after):
            return
        while len(self.kills) < self.count and not self._stopping.is_set():
            pid = self._busy_worker()
            if pid is None:
                continue
            os.kill(pid, signal.SIGKILL)
            self.kills.append(Kill(pid, time.monotonic()))
            print(f"[soak] killed WorkerFunction environment pid {pid} mid-export", flush=True)
            self._stopping.wait(self.every)

    def _busy_worker(self) -> int | None:
        """A live worker environment using CPU right now (an idle one waits on its pipe)."""
        before = {pid: cpu_ticks(pid) for pid in self.worker_pids() if is_environment(pid)}
        time.sleep(0.05)
        for pid, ticks in before.items():
            now = cpu_ticks(pid)
            if ticks is not None and now is not None and now > ticks:
                return pid
        return None


def is_environment(pid: int) -> bool:
    """Still one of the stack's environments (forked from its fork server), not a reused pid."""
    try:
        return b"forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def cpu_ticks(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[11]) + int(fields[12])  # utime + stime


class WatchdogClock:
    """Sweeps in this process: call inside `aws_env.pointed_at` (HEARTBEAT_STALE_SECONDS set there)."""

    def __init__(self, every: float) -> None:
        self._every = every
        self.redriven: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watchdog-clock", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(30)

    def sweep_once(self, settings: Settings | None = None) -> WatchdogReport:
        report = Watchdog(settings=settings).sweep()
        self.redriven += report.redriven
        self.failed += report.failed
        return report

    def _run(self) -> None:
        while not self._stopping.wait(self._every):
            try:
                self.sweep_once()
            except Exception as error:  # reported at the end; one bad sweep must not stop the rest
                self.errors.append(repr(error))
