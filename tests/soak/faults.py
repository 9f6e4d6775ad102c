"""The faults the soak injects while its clients work, each on a thread of its own:

- `Redeliverer`: SQS is at-least-once, so it sends copies of ExportQueue messages (just
  after submit and after the task finished) and of NotifyQueue's first attempt, straight
  to the stack's moto queues.
- `WorkerKiller`: when the tasks table shows an export `processing`, SIGKILLs every live
  WorkerFunction execution environment (so certainly the one running that export), as
  crashed Lambdas; the stack's function pool starts new ones at the next message. The
  stack's own log names each environment's pid at its cold start.
- `WatchdogClock`: plays EventBridge Scheduler for WatchdogFunction (the local stack runs
  no schedules): it sweeps every few seconds with a short heartbeat limit, so a task whose
  worker was killed is re-driven within the run instead of after five minutes.
- The webhook outage is `FlakyReceiver`'s: down for a while from its first delivery.
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
from typing import Any

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
    pids: list[int]
    tasks: list[str]  # the exports that were processing when their workers died
    at: float


@dataclass
class WorkerKiller:
    """Kills the workers `count` times mid-export, the first after `first_after` s, then every `every` s."""

    stack_log: Path
    stack_env: dict[str, str]
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
        dynamodb = client(self.stack_env, "dynamodb")
        while len(self.kills) < self.count and not self._stopping.wait(0.05):
            # A task stranded by an earlier kill stays `processing` until the watchdog: not running.
            stranded = {task for kill in self.kills for task in kill.tasks}
            processing = [
                t for t in processing_tasks(dynamodb, self.stack_env["TASKS_TABLE"]) if t not in stranded
            ]
            pids = [pid for pid in self.worker_pids() if is_environment(pid)]
            if not processing or not pids:
                continue
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            self.kills.append(Kill(pids, processing, time.monotonic()))
            print(
                f"[soak] killed WorkerFunction environments {pids} while {processing} processing", flush=True
            )
            self._stopping.wait(self.every)


def processing_tasks(dynamodb: Any, table: str) -> list[str]:
    """The tasks whose export is running now (a harness may scan; the service never does)."""
    found = dynamodb.scan(
        TableName=table,
        FilterExpression="#s = :p",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":p": {"S": "processing"}},
        ProjectionExpression="task_uuid",
    )
    return [item["task_uuid"]["S"] for item in found.get("Items", [])]


def is_environment(pid: int) -> bool:
    """Still one of the stack's environments (forked from its fork server), not a reused pid."""
    try:
        return b"forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


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
