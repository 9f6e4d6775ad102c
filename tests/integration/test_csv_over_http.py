"""`format: csv` over HTTP against the running local stack: the file a client downloads,
and the refusal for contact_data."""

from __future__ import annotations

import json

import pytest
import requests

from mailexports_dev.generate import GenerateOptions, generate_lines
from mailexports_dev.local.demo import DEMO_SEED
from tests.expectations import Lines, activity_csv
from tests.integration.conftest import RunningStack
from tests.integration.test_export_over_http import headers, wait_until_finished

pytestmark = pytest.mark.integration


def test_campaign_activity_as_gzipped_csv(local_stack: RunningStack) -> None:
    stat_id = local_stack.demo["stat_id"]
    submitted = requests.post(
        f"{local_stack.api_url}/v1/exports",
        headers=headers(local_stack),
        json={
            "type": "campaign_activity",
            "params": {"stat_id": stat_id},
            "format": "csv",
            "compression": "gzip",
        },
        timeout=10,
    )
    assert submitted.status_code == 202, submitted.text
    task = wait_until_finished(local_stack, submitted.headers["Location"])
    assert task["status"] == "completed", task
    assert task["format"] == "csv"

    download = requests.get(task["file_to_download"], timeout=10)  # gzip decoded by HTTP
    assert download.headers["Content-Encoding"] == "gzip"
    assert download.headers["Content-Type"].startswith("text/csv")
    options = GenerateOptions(contacts=local_stack.demo["contacts"], seed=DEMO_SEED)
    demo = Lines([json.loads(line) for line in generate_lines(options)])
    want = activity_csv(demo, stat_id)
    assert want.count(b"\r\n") > 1, "the demo send should have activity"
    assert download.content == want


def test_contact_data_as_csv_is_a_422_naming_format(local_stack: RunningStack) -> None:
    answer = requests.post(
        f"{local_stack.api_url}/v1/exports",
        headers=headers(local_stack),
        json={"type": "contact_data", "params": {"email": "a@example.com"}, "format": "csv"},
        timeout=10,
    )
    assert answer.status_code == 422, answer.text
    assert [d["field"] for d in answer.json()["error"]["details"]] == ["format"]
