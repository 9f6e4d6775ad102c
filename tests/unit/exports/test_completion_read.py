"""A task read while it completes is either still `processing` or `completed` with its files.

The soak once read a task `completed` with no file (`file_to_download: null`) and never
again. The only write that sets `completed` is the lifecycle's completing UpdateItem, which
sets the files in the same request; so a reader can see the one without the other only if
it sees that request half applied. moto applies an UpdateItem's SET actions one by one to
the stored item, and serialises a GetItem's answer from that same item, so without
`make_dynamodb_requests_atomic` (installed by tests/conftest.py and by the local stack's
moto server) a read between two SET actions returns exactly the soak's task. These tests
stop the completing write inside moto, right after it has set `status`, and read the task
from another thread at that moment.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from moto.dynamodb.parsing.executors import SetExecutor
from moto.dynamodb.responses import DynamoHandler

from mailexports.config import Settings
from mailexports.exports.lifecycle import TaskLifecycle
from mailexports.exports.requests import ExportType
from mailexports.exports.task import ExportFile, ExportTask, TaskStatus
from mailexports.exports.task_store import DynamoTaskStore
from mailexports.exports.task_view import task_view

FILE = ExportFile(key="tenant-1/t-1/export-0001.json", bytes=10, records=1, sha256="0" * 64)
# How long the paused write waits for the reader: a reader that is not blocked answers
# in milliseconds; one blocked behind the write never answers while the write waits.
READER_GRACE_S = 1.0


def processing_task(lifecycle: TaskLifecycle) -> ExportTask:
    """A task a worker has claimed and not yet checkpointed: no files recorded (a small export)."""
    task = ExportTask(
        task_uuid="t-1",
        tenant_id="tenant-1",
        task_type=ExportType.CAMPAIGN_ACTIVITY,
        params={"stat_id": "1"},
        created_at=datetime.now(UTC),
    )
    assert DynamoTaskStore().create(task)
    lifecycle.queue.acquire(task.tenant_id, task.task_uuid)
    claimed = lifecycle.claim(task.task_uuid, None)
    assert claimed is not None
    assert claimed.status is TaskStatus.PROCESSING
    assert claimed.files == []
    return claimed


@contextmanager
def read_when_status_is_set(task_uuid: str) -> Iterator[list[ExportTask]]:
    """While inside, the first SET of `status` to `completed` in moto pauses until a reader
    thread has loaded the task (or READER_GRACE_S passed); yields what the reader saw."""
    seen: list[ExportTask] = []
    original = SetExecutor.set.__func__  # type: ignore[attr-defined]
    armed = threading.Event()
    armed.set()

    def read() -> None:
        task = DynamoTaskStore().load(task_uuid)
        assert task is not None
        seen.append(task)

    def pausing_set(cls: type[SetExecutor], **arguments: Any) -> None:
        original(cls, **arguments)
        value = arguments["value_to_set"]
        if armed.is_set() and getattr(value, "value", None) == TaskStatus.COMPLETED.value:
            armed.clear()
            reader = threading.Thread(target=read, name="reader")
            reader.start()
            reader.join(READER_GRACE_S)
            readers.append(reader)

    readers: list[threading.Thread] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SetExecutor, "set", classmethod(pausing_set))
        yield seen
    for reader in readers:
        reader.join()
    assert not armed.is_set(), "the completing write never set status"


def test_a_task_read_while_it_completes_is_never_completed_without_its_files(
    aws_stack: Settings,
) -> None:
    lifecycle = TaskLifecycle()
    task = processing_task(lifecycle)
    with read_when_status_is_set(task.task_uuid) as seen:
        lifecycle.complete(task, [FILE], records=1)
    [read] = seen
    view = task_view(read)
    assert (read.status, read.files) in ((TaskStatus.PROCESSING, []), (TaskStatus.COMPLETED, [FILE]))
    assert view["status"] != "completed" or view["file_to_download"] is not None


def test_without_atomic_requests_moto_shows_the_completion_half_applied(
    aws_stack: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The soak's symptom, reproduced: what the lock in atomic_requests.py prevents."""
    monkeypatch.setattr(DynamoHandler, "call_action", DynamoHandler.call_action.__wrapped__)
    lifecycle = TaskLifecycle()
    task = processing_task(lifecycle)
    with read_when_status_is_set(task.task_uuid) as seen:
        lifecycle.complete(task, [FILE], records=1)
    [read] = seen
    assert read.status is TaskStatus.COMPLETED
    assert read.files == []
    assert task_view(read)["file_to_download"] is None
