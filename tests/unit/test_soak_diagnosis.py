"""The soak's diagnosis of a task it found wrong runs only when the soak fails: here it is
run on purpose, so a failure that may never come back is not met by a broken printout."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
from tests.soak.diagnosis import describe, stored_items
from tests.unit.exports.test_completion_read import processing_task

from mailexports.config import Settings
from mailexports.exports.checkpoint import Checkpoint
from mailexports.exports.lifecycle import TaskLifecycle
from mailexports.exports.task import ExportFile, ExportTask

FILE = ExportFile(key="tenant-1/t-1/export-s01-0001.json", bytes=12, records=3, sha256="a" * 64)


def sliced_task(lifecycle: TaskLifecycle) -> ExportTask:
    """A claimed task planned in two slices, then completed with one file."""
    claimed = processing_task(lifecycle)
    lifecycle.slices.create(claimed, [[0], [1]], Checkpoint())
    planned = lifecycle.checkpoint(claimed, slices=[[0], [1]])
    return lifecycle.complete(planned, [FILE], records=3)


def test_the_diagnosis_shows_the_stored_task_its_slices_faults_and_log_lines(
    aws_stack: Settings, tmp_path: Path
) -> None:
    sliced_task(TaskLifecycle())
    log = tmp_path / "stack.log"
    log.write_text(
        '{"message":"export completed","task_uuid":"t-1"}\n{"message":"other","task_uuid":"t-2"}\n'
    )
    dynamodb = boto3.client("dynamodb")

    items = stored_items(dynamodb, aws_stack.tasks_table, "t-1")
    text = describe("t-1", dynamodb, aws_stack.tasks_table, log, ["re-driven by the watchdog 1 time(s)"])

    assert set(items) == {"task", "slice 1", "slice 2"}
    assert items["task"]["status"] == "completed"
    assert items["task"]["files"] == [FILE.model_dump()]
    assert items["slice 2"]["shards"] == [1]
    json.dumps(items)  # plain values: what the report prints
    assert FILE.key in text
    assert "re-driven by the watchdog 1 time(s)" in text
    assert '"message":"export completed"' in text
    assert "t-2" not in text


def test_an_unknown_task_is_diagnosed_as_missing(aws_stack: Settings, tmp_path: Path) -> None:
    log = tmp_path / "stack.log"
    log.write_text("")
    text = describe("t-9", boto3.client("dynamodb"), aws_stack.tasks_table, log, [])
    assert "task: null" in text
    assert "faults: none touched it" in text
