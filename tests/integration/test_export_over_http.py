"""The README's quick start, over HTTP against the running local stack: submit,
poll, download; and the CLI's load from a second process, twice, changing nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from mailexports_dev.generate import GenerateOptions, generate_lines
from mailexports_dev.local.demo import DEMO_SEED
from tests.integration.conftest import RunningStack

pytestmark = pytest.mark.integration


def headers(stack: RunningStack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.demo['api_key']}"}


def wait_until_finished(stack: RunningStack, location: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = requests.get(location, headers=headers(stack), timeout=10)
        assert answer.status_code == 200, answer.text
        task = answer.json()
        if task["status"] not in {"new", "processing"}:
            return task
        assert answer.headers["Retry-After"] == "5"
        time.sleep(0.5)
    pytest.fail(f"the export did not finish in {timeout} s; stack log:\n{stack.log_tail()}")


def expected_activity(stack: RunningStack, stat_id: str) -> list[dict[str, Any]]:
    """What the demo data says, recomputed from the same seeded generator."""
    lines = [
        json.loads(line)
        for line in generate_lines(GenerateOptions(contacts=stack.demo["contacts"], seed=DEMO_SEED))
    ]
    per_contact: dict[str, dict[str, Any]] = {}
    for event in lines:
        if event["kind"] != "event" or event["stat_id"] != stat_id or event["type"] not in {"open", "click"}:
            continue
        record = per_contact.setdefault(
            event["contact_id"], {"contact_id": event["contact_id"], "opens": 0, "clicks": 0}
        )
        record[event["type"] + "s"] += 1
    return [per_contact[c] for c in sorted(per_contact)]


def test_quick_start_submit_poll_download(local_stack: RunningStack) -> None:
    stat_id = local_stack.demo["stat_id"]
    submitted = requests.post(
        f"{local_stack.api_url}/v1/exports",
        headers=headers(local_stack),
        json={"type": "campaign_activity", "params": {"stat_id": stat_id}},
        timeout=10,
    )
    assert submitted.status_code == 202, submitted.text
    location = submitted.headers["Location"]
    assert location == f"{local_stack.api_url}/v1/exports/{submitted.json()['task_uuid']}"

    task = wait_until_finished(local_stack, location)
    assert task["status"] == "completed", task
    document = requests.get(task["file_to_download"], timeout=10).json()
    got = [
        {"contact_id": r["contact_id"], "opens": len(r["opens"]), "clicks": len(r["clicks"])}
        for r in document["records"]
    ]
    assert got == expected_activity(local_stack, stat_id)
    assert document["count"] == len(got) > 0

    redirect = requests.get(
        f"{location}/download", headers=headers(local_stack), allow_redirects=False, timeout=10
    )
    assert redirect.status_code == 302
    assert requests.get(redirect.headers["Location"], timeout=10).json() == document

    link = task["files"][0]["download_link"]
    assert link.startswith(f"{local_stack.api_url}/v1/downloads/")
    by_token = requests.get(
        link, allow_redirects=False, timeout=10
    )  # no API key: the token is the permission
    assert by_token.status_code == 302
    assert requests.get(by_token.headers["Location"], timeout=10).json() == document


def test_the_listing_pages_over_http(local_stack: RunningStack) -> None:
    campaign_id = local_stack.demo["campaign_id"]
    url = f"{local_stack.api_url}/v1/campaigns/{campaign_id}/tracking/opens"
    seen: list[str] = []
    params: dict[str, str] = {"limit": "5"}
    while True:
        page = requests.get(url, headers=headers(local_stack), params=params, timeout=10)
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [r["at"] + r["event_id"] for r in body["results"]]
        if not body["next_cursor"]:
            break
        params = {"limit": "5", "cursor": body["next_cursor"]}
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == len(set(seen)) > 5


def test_bad_input_over_http_is_a_clear_4xx(local_stack: RunningStack) -> None:
    answer = requests.post(
        f"{local_stack.api_url}/v1/exports", headers=headers(local_stack), data="{not json", timeout=10
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "validation_error"


def marketing_items(stack: RunningStack) -> list[dict[str, Any]]:
    """Every item of the marketing table (a test may scan; the service never does)."""
    env = stack.env
    client = boto3.client(
        "dynamodb",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=env["MARKETING_TABLE"]):
        items += page["Items"]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def test_generate_then_load_twice_from_a_second_terminal_changes_nothing(
    local_stack: RunningStack, tmp_path: Path
) -> None:
    cli_env = {**os.environ, "MAILEXPORTS_STATE_FILE": str(local_stack.state_file)}
    data = tmp_path / "more.ndjson"
    mailexports = [sys.executable, "-m", "mailexports_cli.main"]
    generate = [
        *mailexports,
        "generate",
        "--contacts",
        "15",
        "--sends",
        "1",
        "--seed",
        "99",
        "--out",
        str(data),
    ]
    subprocess.run(generate, check=True, env=cli_env, capture_output=True, timeout=120)
    load = [*mailexports, "load", str(data), "--tenant", local_stack.demo["name"]]
    first = subprocess.run(load, env=cli_env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    after_first = marketing_items(local_stack)
    second = subprocess.run(load, env=cli_env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert marketing_items(local_stack) == after_first
