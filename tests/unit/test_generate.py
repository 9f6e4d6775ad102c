"""`mailexports generate`: valid, deterministic, consistent, realistic and lazy."""

from __future__ import annotations

import argparse
import email.utils
import importlib.util
import ipaddress
import itertools
import json
import random
import re
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from mailexports.marketing.records import (
    ContactRecord,
    EventRecord,
    EventType,
    MessageRecord,
    SendRecord,
    parse_line,
)
from mailexports.marketing.vocabulary import iso_ms
from mailexports_dev import generate
from mailexports_dev.generate import GenerateOptions, command, generate_lines, timefmt

DOCUMENTATION_NETWORKS = [
    ipaddress.ip_network(net) for net in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
]
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def dataset(**options: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in generate_lines(GenerateOptions(**options))]


@pytest.fixture(scope="module")
def default_lines() -> list[str]:
    return list(generate_lines())


@pytest.fixture(scope="module")
def large_send() -> list[dict[str, Any]]:
    """5,000 contacts, one send to every active contact: enough to check the rates."""
    return dataset(contacts=5000, sends=1, campaigns=1, seed=7)


def test_every_default_line_is_valid_and_starts_with_its_kind(default_lines: list[str]) -> None:
    assert len(default_lines) > 500
    for number, line in enumerate(default_lines, start=1):
        record = parse_line(line)
        document = json.loads(line)
        assert next(iter(document)) == "kind", number
        assert document["kind"] == record.kind


def test_lines_are_canonical_compact_json(default_lines: list[str]) -> None:
    # Hot lines are built by hand: re-encoding each must give the same text.
    for line in default_lines:
        assert json.dumps(json.loads(line), separators=(",", ":")) == line
        assert "\n" not in line


def test_sections_come_in_import_order(default_lines: list[str]) -> None:
    kinds = [json.loads(line)["kind"] for line in default_lines]
    sections = [kind for kind, _ in itertools.groupby(k if k != "event" else "message" for k in kinds)]
    assert sections == ["field", "tag", "contact", "campaign", "send", "message", "survey_response"]


def test_same_options_give_the_same_bytes_and_another_seed_does_not() -> None:
    options = GenerateOptions(contacts=300, sends=3, campaigns=2, segments=4, seed=42)
    first = "\n".join(generate_lines(options))
    assert first == "\n".join(generate_lines(options))
    assert first != "\n".join(generate_lines(GenerateOptions(contacts=300, sends=3, campaigns=2, segments=4)))


def test_references_hold_together() -> None:
    records = dataset(contacts=600, sends=4, campaigns=3, segments=3, seed=3)
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_kind[record["kind"]].append(record)

    emails = {c["contact_id"]: c["email"] for c in by_kind["contact"]}
    assert len(emails) == len(by_kind["contact"]) == 600
    assert len(set(emails.values())) == 600
    field_names = {f["name"] for f in by_kind["field"]}
    tags = {t["tag"] for t in by_kind["tag"]}
    for contact in by_kind["contact"]:
        assert set(contact["custom_fields"]) <= field_names
        assert set(contact["tags"]) <= tags
        assert set(contact["segments"]) <= {"seg-1", "seg-2", "seg-3"}
        assert contact["email"] == contact["email"].lower()
        assert contact["email"].rsplit("@", 1)[1] in {"example.com", "example.org", "example.net"}

    campaigns = {c["campaign_id"] for c in by_kind["campaign"]}
    assert len(campaigns) == 3
    sends = {s["stat_id"]: s for s in by_kind["send"]}
    assert len(sends) == 4
    assert all(s["campaign_id"] in campaigns for s in sends.values())

    for record in by_kind["message"] + by_kind["event"]:
        assert record["stat_id"] in sends
        assert emails[record["contact_id"]] == record["email"]
    message_ids = [m["message_id"] for m in by_kind["message"]]
    event_ids = [e["event_id"] for e in by_kind["event"]]
    assert len(set(message_ids)) == len(message_ids)
    assert len(set(event_ids)) == len(event_ids)
    # Exactly one message and one `send` event per recipient of a send.
    recipients = {(m["stat_id"], m["contact_id"]) for m in by_kind["message"]}
    assert len(recipients) == len(message_ids)
    send_events = {(e["stat_id"], e["contact_id"]) for e in by_kind["event"] if e["type"] == "send"}
    assert send_events == recipients

    survey_emails = {r["email"] for r in by_kind["survey_response"]}
    assert survey_emails
    assert survey_emails <= set(emails.values())


def test_recipients_are_active_contacts_and_a_segment_campaign_reaches_a_subset() -> None:
    records = dataset(contacts=800, sends=2, campaigns=2, segments=3)
    contacts = {r["contact_id"]: r for r in records if r["kind"] == "contact"}
    active = {cid for cid, c in contacts.items() if c["status"] == "active"}
    campaign_of = {r["stat_id"]: r["campaign_id"] for r in records if r["kind"] == "send"}
    recipients: dict[str, set[str]] = defaultdict(set)
    for record in records:
        if record["kind"] == "message":
            recipients[campaign_of[record["stat_id"]]].add(record["contact_id"])
    everyone, segment_only = (recipients[r["campaign_id"]] for r in records if r["kind"] == "campaign")
    assert everyone == active
    # Campaign 1 goes to the active members of seg-2.
    assert segment_only == {cid for cid in active if "seg-2" in contacts[cid]["segments"]}
    assert 0 < len(segment_only) < len(everyone)


def test_status_and_engagement_shares_match_the_constants(large_send: list[dict[str, Any]]) -> None:
    statuses = Counter(r["status"] for r in large_send if r["kind"] == "contact")
    for status, share in generate.STATUS_SHARES:
        assert statuses[status] / 5000 == pytest.approx(share, abs=0.02), status

    recipients = sum(1 for r in large_send if r["kind"] == "message")
    assert recipients == statuses["active"]
    who: dict[str, set[str]] = defaultdict(set)
    counts: Counter[str] = Counter()
    for record in large_send:
        if record["kind"] == "event":
            who[record["type"]].add(record["contact_id"])
            counts[record["type"]] += 1

    def share_of(kind: str) -> float:
        return len(who[kind]) / recipients

    delivered = generate.DELIVERED_SHARE + generate.SOFT_BOUNCE_SHARE * generate.SOFT_BOUNCE_RETRY_SHARE
    assert share_of("send") == 1
    assert share_of("delivery") == pytest.approx(delivered, abs=0.015)
    assert share_of("soft_bounce") == pytest.approx(generate.SOFT_BOUNCE_SHARE, abs=0.01)
    assert share_of("hard_bounce") == pytest.approx(generate.HARD_BOUNCE_SHARE, abs=0.01)
    assert share_of("open") == pytest.approx(0.25, abs=0.03)
    assert share_of("click") == pytest.approx(0.035, abs=0.015)
    assert share_of("complaint") + share_of("unsubscribe") < 0.02
    assert who["click"] <= who["open"] <= who["delivery"]
    # Some open more than once.
    assert counts["open"] > 1.3 * len(who["open"])

    events = sum(counts.values())
    expected = recipients * generate.expected_events_per_recipient()
    assert events == pytest.approx(expected, rel=0.05)


def test_timing_is_plausible(large_send: list[dict[str, Any]]) -> None:
    by_recipient: dict[str, list[dict[str, Any]]] = defaultdict(list)
    sent_at: dict[str, str] = {}
    for record in large_send:
        if record["kind"] == "message":
            sent_at[record["contact_id"]] = record["sent_at"]
        elif record["kind"] == "event":
            assert ISO_MS.match(record["at"])
            by_recipient[record["contact_id"]].append(record)

    first_open_delays: list[float] = []
    for contact_id, events in by_recipient.items():
        times = [e["at"] for e in events]
        assert times == sorted(times), contact_id
        assert events[0]["type"] == "send"
        assert events[0]["at"] == sent_at[contact_id]
        deliveries = [e["at"] for e in events if e["type"] == "delivery"]
        opens = [e["at"] for e in events if e["type"] == "open"]
        clicks = [e["at"] for e in events if e["type"] == "click"]
        if opens:
            assert deliveries
            assert opens[0] > deliveries[0]
            first_open_delays.append((_at(opens[0]) - _at(deliveries[0])).total_seconds())
        if clicks:
            assert clicks[0] > opens[0]
    # Most first opens within hours, a tail over days.
    first_open_delays.sort()
    median = first_open_delays[len(first_open_delays) // 2]
    assert 600 < median < 6 * 3600
    assert first_open_delays[-1] > 2 * 86400


def test_engagement_events_carry_documentation_ips_agents_and_campaign_links(
    large_send: list[dict[str, Any]],
) -> None:
    campaign_id = next(r["campaign_id"] for r in large_send if r["kind"] == "campaign")
    clicked: set[str] = set()
    for record in large_send:
        if record["kind"] != "event":
            continue
        if record["type"] in ("open", "click"):
            address = ipaddress.ip_address(record["ip"])
            assert any(address in net for net in DOCUMENTATION_NETWORKS)
            assert record["user_agent"].strip()
        else:
            assert {"ip", "user_agent", "url"}.isdisjoint(record)
        if record["type"] == "click":
            clicked.add(record["url"])
    # A few campaign links on reserved domains, the main one clicked most.
    assert 2 <= len(clicked) <= 4
    for url in clicked:
        assert re.match(r"^https://[a-z]+\.example\.(com|org)/", url)
        assert campaign_id in url or url.endswith("/preferences")


def test_messages_are_small_real_mime(default_lines: list[str]) -> None:
    messages = [line for line in default_lines if line.startswith('{"kind":"message"')]
    assert messages
    for line in messages:
        message = parse_line(line)
        assert isinstance(message, MessageRecord)
        mime: str = json.loads(line)["mime"]
        head, _, body = mime.partition("\r\n\r\n")
        headers = dict(header.split(": ", 1) for header in head.split("\r\n"))
        assert {"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"} <= set(headers)
        assert f"<{message.email}>" in headers["To"]
        assert body.endswith("\r\n")
        assert "\n" not in mime.replace("\r\n", "")
        assert 300 < len(mime.encode()) < 1000


def test_delivery_kinds_and_typed_records_agree(default_lines: list[str]) -> None:
    records = [parse_line(line) for line in default_lines]
    events = [r for r in records if isinstance(r, EventRecord)]
    assert {e.type for e in events} >= {EventType.SEND, EventType.DELIVERY, EventType.OPEN}
    assert all(isinstance(r.sent_at, datetime) for r in records if isinstance(r, SendRecord))
    contacts = [r for r in records if isinstance(r, ContactRecord)]
    assert any(not c.tags for c in contacts)
    assert any(len(c.tags) > 1 for c in contacts)
    assert any(not c.segments for c in contacts)
    assert any(len(c.segments) > 1 for c in contacts)
    created = sorted(c.created_at for c in contacts if c.created_at)
    assert created[0] >= datetime(2024, 3, 1, tzinfo=UTC)
    assert created[-1] < datetime(2025, 3, 1, tzinfo=UTC)


def test_generate_lines_is_lazy() -> None:
    started = time.perf_counter()
    lines = generate_lines(GenerateOptions(contacts=10_000_000, sends=50, campaigns=5, segments=10))
    head = list(itertools.islice(lines, 100))
    assert time.perf_counter() - started < 0.5
    assert [json.loads(line)["kind"] for line in head[:5]] == ["field"] * 5
    assert json.loads(head[-1])["kind"] == "contact"


def test_start_moves_the_timeline() -> None:
    records = dataset(contacts=50, sends=1, start=date(2024, 12, 30))
    send = next(r for r in records if r["kind"] == "send")
    assert send["sent_at"].startswith("2024-12-30T")


def test_fast_timestamp_spelling_matches_the_contract() -> None:
    draws = random.Random(5)
    for ms in [0, 1_740_787_200_000, 1_740_873_599_999] + [draws.randrange(4 * 10**12) for _ in range(2000)]:
        assert timefmt.iso_ms(ms) == iso_ms(datetime.fromtimestamp(ms / 1000, UTC))


def test_mime_date_header_spelling_matches_the_standard_library() -> None:
    draws = random.Random(6)
    for ms in [0, 1_740_787_200_000] + [draws.randrange(4 * 10**12) for _ in range(500)]:
        at = datetime.fromtimestamp(ms // 1000, UTC)
        assert timefmt.rfc5322(ms) == email.utils.format_datetime(at)


def test_sizing_for_a_target_event_count() -> None:
    options = generate.options_for_send_events(12_000, seed=11)
    assert options.sends == 1
    events = sum(1 for line in generate_lines(options) if line.startswith('{"kind":"event"'))
    assert events == pytest.approx(12_000, rel=0.05)


def test_invalid_options_are_refused() -> None:
    with pytest.raises(ValueError, match="campaign"):
        GenerateOptions(sends=1, campaigns=0)
    with pytest.raises(ValueError, match="contacts"):
        GenerateOptions(contacts=-1)
    # No sends need no campaigns, no segments still work.
    assert dataset(contacts=20, sends=0, campaigns=0, segments=0)
    assert any(r["kind"] == "event" for r in dataset(contacts=40, sends=3, campaigns=2, segments=0))


# ---- command line


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mailexports")
    command.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args))


def test_cli_writes_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "data.ndjson"
    assert _cli(["generate", "--contacts", "30", "--sends", "1", "--seed", "9", "--out", str(out)]) == 0
    expected = list(generate_lines(GenerateOptions(contacts=30, sends=1, seed=9)))
    assert out.read_text(encoding="utf-8") == "\n".join(expected) + "\n"


def test_cli_writes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["generate", "--contacts", "25", "--sends", "2", "--campaigns", "1", "--segments", "2"]
    assert _cli([*argv, "--start", "2025-06-01"]) == 0
    expected = GenerateOptions(contacts=25, sends=2, campaigns=1, segments=2, start=date(2025, 6, 1))
    assert capsys.readouterr().out == "\n".join(generate_lines(expected)) + "\n"


def test_cli_sizes_by_events_and_refuses_bad_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(["generate", "--events-per-send", "300", "--sends", "1"]) == 0
    events = capsys.readouterr().out.count('{"kind":"event"')
    assert events == pytest.approx(300, rel=0.25)
    with pytest.raises(SystemExit):
        _cli(["generate", "--contacts", "-5"])
    assert _cli(["generate", "--sends", "1", "--campaigns", "0"]) == 2


@pytest.mark.skipif(
    not all(
        importlib.util.find_spec(name)
        for name in ("mailexports_cli.load", "mailexports_cli.tenants", "mailexports_dev.local.stack")
    ),
    reason="the other sub-commands are not written yet",
)
def test_main_entry_point_runs_generate(capsys: pytest.CaptureFixture[str]) -> None:
    from mailexports_cli.main import main

    assert main(["generate", "--contacts", "10", "--sends", "1"]) == 0
    assert capsys.readouterr().out == "\n".join(generate_lines(GenerateOptions(contacts=10, sends=1))) + "\n"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)
