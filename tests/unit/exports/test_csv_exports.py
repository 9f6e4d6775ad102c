"""`format: csv` through the real submit, worker and status handlers on generated data,
some of it made hostile (formula-looking text, quotes, commas, line breaks, numbers).
Each file must equal, byte for byte, the CSV computed from the NDJSON lines alone."""

from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
import requests
from tests.builders import FakeLambdaContext, api_event, sqs_event
from tests.expectations import Lines, activity_csv, delivery_csv, segment_csv

from mailexports.config import Settings
from mailexports.tenants.models import CreatedTenant
from mailexports_cli.load import load_file
from mailexports_dev.generate import GenerateOptions, generate_lines

HOSTILE_FIELD = {"kind": "field", "field_id": "10", "name": "=Risk"}  # sorts after "5" by number
HOSTILE_AGENT = "+cmd|' /C calc'!A0"


@dataclass
class Dataset(Lines):
    tenant: CreatedTenant


def make_hostile(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One contact and some events carry what a CSV writer must quote or defuse."""
    last_field = max(i for i, line in enumerate(lines) if line["kind"] == "field")
    lines.insert(last_field + 1, HOSTILE_FIELD)
    contact = next(c for c in lines if c["kind"] == "contact" and c["segments"] and c["tags"])
    contact["custom_fields"] |= {
        "City": '=HYPERLINK("http://evil.example/?a,b","click\r\nme")',
        "=Risk": -5,
        "Plan": ["gold", 2],
    }
    contact["tags"] = [*contact["tags"], "@admin"]
    events = [e for e in lines if e["kind"] == "event" and e["type"] in ("open", "click")]
    events[0]["user_agent"] = HOSTILE_AGENT
    events[1]["ip"] = "@SUM(1+1)"  # (a leading tab or CR never survives the import's stripping)
    clicks = [e for e in events if e["type"] == "click"]
    clicks[0]["url"] = '-https://example.com/?q=a,b&c="d"'
    return lines


@pytest.fixture
def dataset(tenant: CreatedTenant, tmp_path: Path) -> Dataset:
    options = GenerateOptions(contacts=80, sends=2, campaigns=2, segments=3, seed=11)
    lines = make_hostile([json.loads(line) for line in generate_lines(options)])
    path = tmp_path / "data.ndjson"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    report = load_file(path, tenant.tenant_id, progress=False)
    assert report.bad_count == 0
    return Dataset(lines, tenant)


def submit(handlers: dict[str, ModuleType], key: str, payload: dict[str, Any]) -> dict[str, Any]:
    answer = handlers["submit"].lambda_handler(
        api_event("POST", "/v1/exports", body=payload, api_key=key), FakeLambdaContext()
    )
    return {"status": answer["statusCode"], "body": json.loads(answer["body"])}


def run_csv_export(
    handlers: dict[str, ModuleType], settings: Settings, key: str, payload: dict[str, Any]
) -> tuple[dict[str, Any], bytes]:
    """Submit, drain the queue through the worker, return the task and its file as stored."""
    submitted = submit(handlers, key, {**payload, "format": "csv"})
    assert submitted["status"] == 202, submitted
    task_uuid = submitted["body"]["task_uuid"]
    sqs = boto3.client("sqs")
    while messages := sqs.receive_message(QueueUrl=settings.export_queue_url).get("Messages"):
        handlers["worker"].lambda_handler(sqs_event(messages[0]["Body"]), FakeLambdaContext())
        sqs.delete_message(QueueUrl=settings.export_queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
    status = handlers["status"].lambda_handler(
        api_event("GET", f"/v1/exports/{task_uuid}", resource="/v1/exports/{task_uuid}", api_key=key),
        FakeLambdaContext(),
    )
    task = json.loads(status["body"])
    assert task["status"] == "completed", task
    answer = requests.get(task["file_to_download"], timeout=10, stream=True)
    stored = bytes(answer.raw.read(decode_content=False))
    return task, stored


def test_campaign_activity_is_one_row_per_event(
    handlers: dict[str, ModuleType], aws_stack: Settings, dataset: Dataset
) -> None:
    stat_id = dataset.of("send")[0]["stat_id"]
    task, raw = run_csv_export(
        handlers,
        aws_stack,
        dataset.tenant.api_key,
        {"type": "campaign_activity", "params": {"stat_id": stat_id}},
    )
    want = activity_csv(dataset, stat_id)
    assert raw == want
    assert task["files"][0]["url"].split("?")[0].endswith("/export-0001.csv")
    text = raw.decode()
    assert "'" + HOSTILE_AGENT in text  # defused, not dropped
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["contact_id", "email", "event", "at", "url", "ip", "user_agent"]
    assert {r[2] for r in rows[1:]} == {"open", "click"}


def test_campaign_activity_window_and_kinds_with_gzip(
    handlers: dict[str, ModuleType], aws_stack: Settings, dataset: Dataset
) -> None:
    send = dataset.of("send")[0]
    day = date.fromisoformat(send["sent_at"][:10])
    params = {"stat_id": send["stat_id"], "events": ["open"], "start_date": day.isoformat()}
    task, raw = run_csv_export(
        handlers,
        aws_stack,
        dataset.tenant.api_key,
        {"type": "campaign_activity", "params": params, "compression": "gzip"},
    )
    assert raw[:2] == b"\x1f\x8b"
    assert gzip.decompress(raw) == activity_csv(dataset, send["stat_id"], day, None, ("open",))
    assert task["files"][0]["url"].split("?")[0].endswith("/export-0001.csv.gz")


@pytest.mark.parametrize(
    ("segments", "status", "membership", "fields"),
    [
        (["seg-1"], "any", False, []),
        (["seg-1", "seg-2", "seg-3"], "any", True, "all"),
        (["seg-2", "seg-3"], "active", True, ["City", "No Such Field", "=Risk", "City"]),
    ],
)
def test_segment_contacts(
    handlers: dict[str, ModuleType],
    aws_stack: Settings,
    dataset: Dataset,
    segments: list[str],
    status: str,
    membership: bool,
    fields: list[str] | str,
) -> None:
    params = {
        "segment_ids": segments,
        "status": status,
        "include_membership": membership,
        "custom_fields": fields,
    }
    _, raw = run_csv_export(
        handlers, aws_stack, dataset.tenant.api_key, {"type": "segment_contacts", "params": params}
    )
    want = segment_csv(dataset, segments, status, membership, fields)
    assert want.count(b"\r\n") > 2, "the generated data should have such contacts"
    assert raw == want


def test_segment_contacts_all_fields_defuses_the_hostile_contact(
    handlers: dict[str, ModuleType], aws_stack: Settings, dataset: Dataset
) -> None:
    params = {"segment_ids": ["seg-1", "seg-2", "seg-3"], "include_membership": True, "custom_fields": "all"}
    _, raw = run_csv_export(
        handlers, aws_stack, dataset.tenant.api_key, {"type": "segment_contacts", "params": params}
    )
    rows = list(csv.reader(io.StringIO(raw.decode(), newline="")))
    assert rows[0] == [
        "contact_id", "email", "status", "membership",
        "First Name", "Last Name", "City", "Country", "Plan", "'=Risk",
    ]  # fmt: skip
    hostile = next(r for r in rows if r[6].startswith("'="))
    assert hostile[6] == '\'=HYPERLINK("http://evil.example/?a,b","click\r\nme")'
    assert hostile[9] == "'-5"
    assert hostile[8] == '["gold",2]'
    assert hostile[3].endswith(";@admin")  # inside the cell, not at its start: left as it is


@pytest.mark.parametrize("field_ids", [[], ["2", "1"]])
def test_campaign_delivery(
    handlers: dict[str, ModuleType], aws_stack: Settings, dataset: Dataset, field_ids: list[str]
) -> None:
    campaign_id = dataset.of("send")[0]["campaign_id"]
    params = {"campaign_id": campaign_id, "field_ids": field_ids}
    _, raw = run_csv_export(
        handlers,
        aws_stack,
        dataset.tenant.api_key,
        {"type": "campaign_delivery", "params": params, "compression": "gzip"},
    )
    want = delivery_csv(dataset, campaign_id, None, field_ids)
    assert want.count(b"\r\n") > 2
    assert gzip.decompress(raw) == want


def test_contact_data_as_csv_is_refused_naming_format_and_nothing_is_written(
    handlers: dict[str, ModuleType], aws_stack: Settings, tenant: CreatedTenant
) -> None:
    payload = {"type": "contact_data", "params": {"email": "a@example.com"}, "format": "csv"}
    answer = submit(handlers, tenant.api_key, payload)
    assert answer["status"] == 422
    error = answer["body"]["error"]
    assert error["code"] == "unsupported_format"
    assert [d["field"] for d in error["details"]] == ["format"]
    assert boto3.client("dynamodb").scan(TableName=aws_stack.tasks_table)["Count"] == 0
    assert "Messages" not in boto3.client("sqs").receive_message(QueueUrl=aws_stack.export_queue_url)
