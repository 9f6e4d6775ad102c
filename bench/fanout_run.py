"""Fan-out measured: the real worker on one export worked in 2 slices, the slices one
after the other in one process, then both at once in two processes (bench_scale prints it).

The task store, the slice store, S3 and the queues are in-memory stand-ins; the rows come
through the real DynamoDB client from prepared wire pages (bench_scale's), so each slice
does the real work of its 8 shards: Query pages parsed, merged, serialized, written.
The processes are forked after the plan, each with its own copy of the stand-ins.
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import statistics
import time
import uuid
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any
from unittest import mock

from bench.bench_exports import _CountingS3, _FreeSlots, _MemoryStore

SLICES = 2
_forked: dict[str, Any] = {}  # what a forked process works on (set before the fork)


class _MemorySlices:
    """The slice store in memory, counting finished slices on the in-memory task."""

    def __init__(self, tasks: _MemoryStore) -> None:
        self.tasks = tasks
        self.states: dict[int, Any] = {}

    def create(self, task: Any, plan: list[list[int]], checkpoint: Any) -> None:
        from mailexports.exports.slices import SliceState

        for number, shards in enumerate(plan, start=1):
            self.states[number] = SliceState(
                task_uuid=task.task_uuid, number=number, shards=shards, checkpoint=checkpoint
            )

    def load(self, task_uuid: str, number: int) -> Any:
        return self.states.get(number)

    def load_all(self, task: Any) -> list[Any]:
        return [self.states[number] for number in sorted(self.states)]

    def claim(self, state: Any, at: datetime) -> Any:
        from mailexports.exports.slices import SliceStatus

        update = {"status": SliceStatus.PROCESSING, "lease": str(uuid.uuid4()), "heartbeat_at": at}
        self.states[state.number] = state.model_copy(update=update)
        return self.states[state.number]

    def save(self, state: Any, at: datetime, **changes: Any) -> Any:
        self.states[state.number] = state.model_copy(update={**changes, "heartbeat_at": at})
        return self.states[state.number]

    def finish(self, state: Any, at: datetime, files: list[Any], records: int) -> Any:
        from mailexports.exports.slices import SliceStatus
        from mailexports.exports.task import Progress

        progress = Progress(records=records, bytes=sum(f.bytes for f in files))
        update = {"status": SliceStatus.COMPLETED, "files": files, "progress": progress, "checkpoint": None}
        self.states[state.number] = state.model_copy(update=update)
        task = self.tasks.task
        self.tasks.task = task.model_copy(update={"slices_done": task.slices_done + 1})
        return self.states[state.number]


def _worker(store: _MemoryStore, slices: _MemorySlices) -> Any:
    from mailexports.config import get_settings
    from mailexports.exports.worker import ExportWorker

    settings = get_settings().model_copy(
        update={"export_fanout_max_slices": SLICES, "export_fanout_items_per_slice": 1}
    )
    return ExportWorker(store=store, settings=settings, slices=slices)  # type: ignore[arg-type]


def _work_slice(body: str, answer: Connection) -> None:
    """In a forked process: one slice, reporting the records it wrote."""
    _worker(_forked["store"], _forked["slices"]).handle(body)
    state = _forked["slices"].states[json.loads(body)["slice"]]
    answer.send(state.progress.records)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_round(task: Any, *, parallel: bool) -> tuple[float, float, int]:
    """Wall and CPU seconds to work both slices of `task` (planned first, not timed), and
    the records written."""
    from mailexports.exports.messages import message_body

    store = _MemoryStore(task)
    slices = _MemorySlices(store)
    sent: list[str] = []
    with (
        mock.patch("mailexports.aws.s3", return_value=_CountingS3()),
        mock.patch("mailexports.exports.messages.enqueue_notification"),
        mock.patch("mailexports.exports.lifecycle.TenantQueue", _FreeSlots),
        mock.patch(
            "mailexports.exports.fanout.enqueue_slice",
            lambda task_uuid, number, lease=None, *, queue_url=None: sent.append(
                message_body(task_uuid, lease, number)
            ),
        ),
    ):
        _worker(store, slices).handle(json.dumps({"task_uuid": task.task_uuid}))
        assert len(sent) == SLICES, sent  # the plan: one message per slice
        started, cpu = time.perf_counter(), time.process_time()
        if not parallel:
            for body in sent:
                _worker(store, slices).handle(body)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            assert store.task.status == "completed", store.task.status
            return elapsed, cpu, store.task.progress.records
        cpu = _children_cpu()
        _forked.update(store=store, slices=slices)
        context = multiprocessing.get_context("fork")
        pipes = [context.Pipe(duplex=False) for _ in sent]
        processes = [
            context.Process(target=_work_slice, args=(body, sending))
            for body, (_, sending) in zip(sent, pipes, strict=True)
        ]
        for process in processes:
            process.start()
        records = sum(receiving.recv() for receiving, _ in pipes)
        for process in processes:
            process.join()
        return time.perf_counter() - started, _children_cpu() - cpu, records


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


def machine_ratio(n: int = 10_000_000) -> float:
    """What this machine gives 2 processes over 1 right now, on a pure CPU loop: the
    ceiling the export's ratio can reach (2.0 on 2 idle cores; less with busy neighbours)."""
    started = time.perf_counter()
    _spin(n)
    _spin(n)
    one = time.perf_counter() - started
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_spin, args=(n,)) for _ in range(2)]
    started = time.perf_counter()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return one / (time.perf_counter() - started)


def speedup(task: Any, rounds: int = 3) -> tuple[float, float, float, float, int]:
    """records/s of one process and of two (median of interleaved rounds), the cores each
    kept busy (CPU seconds / wall seconds: how many cores the machine really gave), and
    the records."""
    one: list[tuple[float, float]] = []
    two: list[tuple[float, float]] = []
    records = 0
    for _ in range(rounds):
        wall, cpu, records = one_round(task, parallel=False)
        one.append((wall, cpu))
        wall, cpu, parallel_records = one_round(task, parallel=True)
        assert parallel_records == records, (parallel_records, records)
        two.append((wall, cpu))
    one_wall, two_wall = statistics.median(w for w, _ in one), statistics.median(w for w, _ in two)
    one_cores = statistics.median(c / w for w, c in one)
    two_cores = statistics.median(c / w for w, c in two)
    return records / one_wall, records / two_wall, one_cores, two_cores, records
