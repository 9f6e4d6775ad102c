"""Every export type and parameter, through the real API, worker and store, on
generated data. Each expectation is computed here from the NDJSON lines alone."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
import requests
from tests.builders import FakeLambdaContext, api_event, sqs_event

from mailexports.config import Settings
from mailexports.marketing.records import DELIVERY_STATUS_OF, EventType
from mailexports.tenants.models import CreatedTenant
from mailexports_cli.generate import GenerateOptions, generate_lines
from mailexports_cli.load import load_file


@dataclass
class Dataset:
    lines: list[dict[str, Any]]
    tenant: CreatedTenant

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["kind"] == kind]


@pytest.fixture
def dataset(tenant: CreatedTenant, tmp_path: Path) -> Dataset:
    options = GenerateOptions(contacts=80, sends=2, campaigns=2, segments=3, seed=11)
    path = tmp_path / "data.ndjson"
    path.write_text("\n".join(generate_lines(options)) + "\n")
    report = load_file(path, tenant.tenant_id, progress=False)
    assert report.bad_count == 0
    return Dataset([json.loads(line) for line in path.read_text().splitlines()], tenant)


def ms(text: str) -> str:
    """The store's one timestamp spelling, for comparing with the import's."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def run_export(handlers: dict[str, ModuleType], settings: Settings, key: str, payload: dict[str, Any]) -> Any:
    context = FakeLambdaContext()
    answer = handlers["submit"].lambda_handler(
        api_event("POST", "/v1/exports", body=payload, api_key=key), context
    )
    assert answer["statusCode"] == 202, answer["body"]
    task_uuid = json.loads(answer["body"])["task_uuid"]
    sqs = boto3.client("sqs")
    while messages := sqs.receive_message(QueueUrl=settings.export_queue_url).get("Messages"):
        handlers["worker"].lambda_handler(sqs_event(messages[0]["Body"]), context)
        sqs.delete_message(QueueUrl=settings.export_queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
    status = handlers["status"].lambda_handler(
        api_event("GET", f"/v1/exports/{task_uuid}", resource="/v1/exports/{task_uuid}", api_key=key), context
    )
    task = json.loads(status["body"])
    assert task["status"] == "completed", task
    content = requests.get(task["file_to_download"], timeout=10).content  # gzip is decoded by HTTP
    if payload.get("format") == "ndjson":
        return [json.loads(line) for line in content.splitlines()]
    return json.loads(content)


# ------------------------------------------------------------------ campaign_activity
def expected_activity(
    data: Dataset, stat_id: str, start: str | None, end: str | None, kinds: set[str]
) -> list[dict[str, Any]]:
    low = f"{start}T00:00:00.000Z" if start else ""
    high = f"{end}T00:00:00.000Z" if end else "~"
    per_contact: dict[str, dict[str, Any]] = {}
    for event in sorted(data.of("event"), key=lambda e: (ms(e["at"]), e["event_id"])):
        at = ms(event["at"])
        if event["stat_id"] != stat_id or event["type"] not in kinds or not low <= at < high:
            continue
        record = per_contact.setdefault(
            event["contact_id"],
            {"contact_id": event["contact_id"], "email": event["email"], "opens": [], "clicks": []},
        )
        if event["type"] == "open":
            record["opens"].append({"at": at, "ip": event.get("ip"), "user_agent": event.get("user_agent")})
        else:
            record["clicks"].append(
                {
                    "at": at,
                    "url": event.get("url"),
                    "ip": event.get("ip"),
                    "user_agent": event.get("user_agent"),
                }
            )
    return [per_contact[c] for c in sorted(per_contact)]


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
    want = expected_activity(dataset, send["stat_id"], start, end, set(kinds))
    assert want, "the generated data should have activity to export"
    assert document["records"] == want
    assert document["count"] == len(want)
    assert document["task_type"] == "campaign_activity"


# ------------------------------------------------------------------ segment_contacts
def expected_segment(
    data: Dataset, segments: list[str], status: str, membership: bool, fields: list[str] | str
) -> list[dict[str, Any]]:
    out = []
    for contact in sorted(data.of("contact"), key=lambda c: c["contact_id"]):
        if not set(contact.get("segments", [])) & set(segments):
            continue
        if status != "any" and contact["status"] != status:
            continue
        custom = contact.get("custom_fields", {})
        chosen = dict(custom) if fields == "all" else {name: custom.get(name) for name in fields}
        record: dict[str, Any] = {
            "contact_id": contact["contact_id"],
            "email": contact["email"],
            "status": contact["status"],
            "custom_fields": chosen,
        }
        if membership:
            record["membership"] = contact.get("tags", [])
        out.append(record)
    return out


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
    want = expected_segment(dataset, segments, status, membership, fields)
    assert want, "the generated data should have such contacts"
    assert records == want


# ------------------------------------------------------------------ campaign_delivery
def expected_delivery(
    data: Dataset, campaign_id: str, since: str | None, field_ids: list[str]
) -> list[dict[str, Any]]:
    stats = {s["stat_id"] for s in data.of("send") if s["campaign_id"] == campaign_id}
    names = {f["field_id"]: f["name"] for f in data.of("field")}
    profiles = {c["contact_id"]: c.get("custom_fields", {}) for c in data.of("contact")}
    latest: dict[str, dict[str, Any]] = {}
    for event in data.of("event"):
        kind = EventType(event["type"])
        if event["stat_id"] not in stats or kind not in DELIVERY_STATUS_OF:
            continue
        mark = (ms(event["at"]), event["event_id"])
        held = latest.get(event["contact_id"])
        if held is None or mark > held["mark"]:
            latest[event["contact_id"]] = {"mark": mark, "event": event, "status": DELIVERY_STATUS_OF[kind]}
    out = []
    for contact_id, held in latest.items():
        changed_at = held["mark"][0]
        if since and changed_at < since:
            continue
        fields = {f: profiles[contact_id].get(names[f]) for f in field_ids}
        out.append(
            {
                "email": held["event"]["email"],
                "contact_id": contact_id,
                "status": held["status"],
                "changed_at": changed_at,
                "fields": fields,
            }
        )
    return sorted(out, key=lambda r: (r["changed_at"], r["contact_id"]))


@pytest.mark.parametrize("since", [None, "late"])
def test_campaign_delivery(
    handlers: dict[str, ModuleType], aws_stack: Settings, dataset: Dataset, since: str | None
) -> None:
    campaign_id = dataset.of("send")[0]["campaign_id"]
    field_ids = [f["field_id"] for f in dataset.of("field")][:2]
    everything = expected_delivery(dataset, campaign_id, None, field_ids)
    changed_since = everything[len(everything) // 2]["changed_at"] if since else None
    params: dict[str, Any] = {"campaign_id": campaign_id, "field_ids": field_ids}
    if changed_since:
        params["changed_since"] = changed_since
    document = run_export(
        handlers, aws_stack, dataset.tenant.api_key, {"type": "campaign_delivery", "params": params}
    )
    want = expected_delivery(dataset, campaign_id, changed_since, field_ids)
    assert want
    assert len({r["status"] for r in everything}) >= 2  # latest-wins really chooses
    assert any(v is not None for r in want for v in r["fields"].values())
    assert document["records"] == want
    if since:
        assert 0 < len(want) < len(everything)  # inclusive bound, really filtering


# ------------------------------------------------------------------ contact_data
def expected_contact_data(data: Dataset, email: str) -> dict[str, Any]:
    messages = sorted(
        (m for m in data.of("message") if m["email"] == email),
        key=lambda m: (ms(m["sent_at"]), m["message_id"]),
    )
    events = sorted(
        (e for e in data.of("event") if e["email"] == email), key=lambda e: (ms(e["at"]), e["event_id"])
    )
    campaign_of = {s["stat_id"]: s["campaign_id"] for s in data.of("send")}

    def event(e: dict[str, Any]) -> dict[str, Any]:
        record = {k: e[k] for k in ("event_id", "type", "stat_id", "contact_id") if k in e}
        record |= {"campaign_id": campaign_of[e["stat_id"]], "at": ms(e["at"])}
        record |= {k: e[k] for k in ("ip", "user_agent", "url") if e.get(k) is not None}
        return record

    surveys = sorted(
        (s for s in data.of("survey_response") if s["email"] == email),
        key=lambda s: (ms(s["at"]), s["response_id"]),
    )
    return {
        "info": {"type": "email", "id": email},
        "data": [
            [
                {
                    "message_id": m["message_id"],
                    "stat_id": m["stat_id"],
                    "contact_id": m["contact_id"],
                    "sent_at": ms(m["sent_at"]),
                    "mime": m["mime"],
                }
                for m in messages
            ],
            [event(e) for e in events if e["type"] == "open"],
            [event(e) for e in events if e["type"] == "click"],
            [
                {
                    "response_id": s["response_id"],
                    "survey_id": s["survey_id"],
                    "at": ms(s["at"]),
                    "answers": s["answers"],
                }
                for s in surveys
            ],
        ],
    }


def busiest_address(data: Dataset) -> str:
    counts: dict[str, int] = defaultdict(int)
    for line in data.lines:
        if line["kind"] in {"message", "event", "survey_response"}:
            counts[line["email"]] += 1
    clickers = {e["email"] for e in data.of("event") if e["type"] == "click"}
    return max(clickers or counts, key=lambda email: counts[email])


def test_contact_data(handlers: dict[str, ModuleType], aws_stack: Settings, dataset: Dataset) -> None:
    email = busiest_address(dataset)
    document = run_export(
        handlers, aws_stack, dataset.tenant.api_key, {"type": "contact_data", "params": {"email": email}}
    )
    want = expected_contact_data(dataset, email)
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
