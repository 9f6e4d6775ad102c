"""Every export type and parameter, through the real API, worker and store, on
generated data. Each expectation is computed here from the NDJSON lines alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests
from tests.builders import FakeLambdaContext, api_event, sqs_event
from tests.expectations import (
    Lines,
    busiest_address,
    contact_document,
    delivery_statuses,
    ms,
    newsletter_activity,
    segment_subscribers,
)
from tests.export_queues import drain_export_queues

from mailexports.config import Settings
from mailexports.tenants.models import CreatedTenant
from mailexports_cli.load import load_file
from mailexports_dev.generate import GenerateOptions, generate_lines


@dataclass
class Dataset(Lines):
    tenant: CreatedTenant


@pytest.fixture
def dataset(tenant: CreatedTenant, tmp_path: Path) -> Dataset:
    options = GenerateOptions(contacts=80, sends=2, campaigns=2, segments=3, seed=11)
    path = tmp_path / "data.ndjson"
    path.write_text("\n".join(generate_lines(options)) + "\n")
    report = load_file(path, tenant.tenant_id, progress=False)
    assert report.bad_count == 0
    return Dataset([json.loads(line) for line in path.read_text().splitlines()], tenant)


def run_export(handlers: dict[str, ModuleType], settings: Settings, key: str, payload: dict[str, Any]) -> Any:
    task = run_to_the_end(handlers, settings, key, payload)
    content = requests.get(task["file_to_download"], timeout=10).content  # gzip is decoded by HTTP
    if payload.get("format") == "ndjson":
        return [json.loads(line) for line in content.splitlines()]
    return json.loads(content)


def run_to_the_end(
    handlers: dict[str, ModuleType], settings: Settings, key: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """Submit, work every message the export queue gets, and return the completed task's view."""
    context = FakeLambdaContext()
    answer = handlers["submit"].lambda_handler(
        api_event("POST", "/v1/exports", body=payload, api_key=key), context
    )
    assert answer["statusCode"] == 202, answer["body"]
    task_uuid = json.loads(answer["body"])["task_uuid"]
    drain_export_queues(settings, lambda body: handlers["worker"].lambda_handler(sqs_event(body), context))
    status = handlers["status"].lambda_handler(
        api_event("GET", f"/v1/exports/{task_uuid}", resource="/v1/exports/{task_uuid}", api_key=key), context
    )
    task: dict[str, Any] = json.loads(status["body"])
    assert task["status"] == "completed", task
    return task


# ------------------------------------------------------------------ campaign_activity
@pytest.mark.parametrize(
    ("window", "kinds"),
    [((None, None), ["open", "click"]), (("first", "second"), ["open"]), ((None, "second"), ["click"])],
)
def test_campaign_activity(
    handlers: dict[str, ModuleType],
    aws_stack: Settings,
    dataset: Dataset,
    window: tuple[str | None, str | None],
    kinds: list[str],
) -> None:
    send = dataset.of("send")[0]
    sent_day = send["sent_at"][:10]
    next_day = f"{sent_day[:8]}{int(sent_day[8:]) + 1:02d}"
    named = {"first": sent_day, "second": next_day, None: None}
    start, end = named[window[0]], named[window[1]]
    params: dict[str, Any] = {"stat_id": send["stat_id"], "events": kinds}
    if start:
        params["start_date"] = start
    if end:
        params["end_date"] = end
    document = run_export(
        handlers, aws_stack, dataset.tenant.api_key, {"type": "campaign_activity", "params": params}
    )
    want = newsletter_activity(
        dataset,
        send["stat_id"],
        date.fromisoformat(start) if start else None,
        date.fromisoformat(end) if end else None,
        tuple(kinds),
    )
    assert want, "the generated data should have activity to export"
    assert document["records"] == want
    assert document["count"] == len(want)
    assert document["task_type"] == "campaign_activity"


@pytest.mark.parametrize(
    ("segments", "status", "membership", "fields"),
    [
        (["seg-1"], "any", False, []),
        (["seg-1", "seg-2"], "active", True, "all"),
        (["seg-2", "seg-3"], "unsubscribed", True, ["First Name", "No Such Field"]),
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
    payload = {"type": "segment_contacts", "params": params, "format": "ndjson", "compression": "gzip"}
    records = run_export(handlers, aws_stack, dataset.tenant.api_key, payload)
    want = segment_subscribers(dataset, segments, status, membership, fields)
    assert want, "the generated data should have such contacts"
    assert records == want


@pytest.mark.parametrize("since", [None, "late"])
def test_campaign_delivery(
    handlers: dict[str, ModuleType], aws_stack: Settings, dataset: Dataset, since: str | None
) -> None:
    campaign_id = dataset.of("send")[0]["campaign_id"]
    field_ids = [f["field_id"] for f in dataset.of("field")][:2]
    everything = delivery_statuses(dataset, campaign_id, None, field_ids)
    changed_since = everything[len(everything) // 2]["changed_at"] if since else None
    params: dict[str, Any] = {"campaign_id": campaign_id, "field_ids": field_ids}
    if changed_since:
        params["changed_since"] = changed_since
    document = run_export(
        handlers, aws_stack, dataset.tenant.api_key, {"type": "campaign_delivery", "params": params}
    )
    want = delivery_statuses(dataset, campaign_id, changed_since, field_ids)
    assert want
    assert len({r["status"] for r in everything}) >= 2  # latest-wins really chooses
    assert any(v is not None for r in want for v in r["fields"].values())
    assert document["records"] == want
    if since:
        assert 0 < len(want) < len(everything)  # inclusive bound, really filtering


def test_contact_data(handlers: dict[str, ModuleType], aws_stack: Settings, dataset: Dataset) -> None:
    email = busiest_address(dataset)
    document = run_export(
        handlers, aws_stack, dataset.tenant.api_key, {"type": "contact_data", "params": {"email": email}}
    )
    want = contact_document(dataset, email)
    assert all(want["data"][kind] for kind in (0, 1, 2)), "messages, opens and clicks to compare"
    assert document == want
    assert document["data"][0][0]["mime"].endswith("\r\n")  # full MIME, byte-exact


def test_contact_data_of_an_unknown_address_is_an_empty_document(
    handlers: dict[str, ModuleType], aws_stack: Settings, dataset: Dataset
) -> None:
    document = run_export(
        handlers,
        aws_stack,
        dataset.tenant.api_key,
        {"type": "contact_data", "params": {"email": "nobody@example.org"}},
    )
    assert document == {"info": {"type": "email", "id": "nobody@example.org"}, "data": [[], [], [], []]}


# ------------------------------------------------------------------ the listing
def pages(
    handlers: dict[str, ModuleType], key: str, campaign_id: str, activity: str, **query: str
) -> Iterator[dict[str, Any]]:
    cursor = None
    while True:
        params = dict(query, **({"cursor": cursor} if cursor else {}))
        event = api_event(
            "GET",
            f"/v1/campaigns/{campaign_id}/tracking/{activity}",
            resource="/v1/campaigns/{campaign_id}/tracking/{activity}",
            query=params,
            api_key=key,
        )
        answer = handlers["status"].lambda_handler(event, FakeLambdaContext())
        assert answer["statusCode"] == 200, answer["body"]
        body = json.loads(answer["body"])
        yield body
        cursor = body["next_cursor"]
        if not cursor:
            return
        query = {}  # the cursor alone carries the listing forward


@pytest.mark.parametrize("limit", ["7", "500"])
def test_tracking_listing_pages_newest_first_each_event_once(
    handlers: dict[str, ModuleType], aws_stack: Settings, dataset: Dataset, limit: str
) -> None:
    campaign_id = dataset.of("send")[0]["campaign_id"]
    stats = {s["stat_id"] for s in dataset.of("send") if s["campaign_id"] == campaign_id}
    opens = [e for e in dataset.of("event") if e["type"] == "open" and e["stat_id"] in stats]
    ordered = sorted(opens, key=lambda e: (ms(e["at"]), e["event_id"]), reverse=True)
    since = ms(ordered[len(ordered) // 2]["at"])
    want = [e["event_id"] for e in ordered if ms(e["at"]) >= since]
    assert len(want) > int(limit) or limit == "500"
    got = [
        r["event_id"]
        for page in pages(
            handlers, dataset.tenant.api_key, campaign_id, "opens", limit=limit, created_since=since
        )
        for r in page["results"]
    ]
    assert got == want
    assert len(set(got)) == len(got)
