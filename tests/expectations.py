"""What each export file or listing must hold, computed from the NDJSON import lines
alone (never from the service's own readers); shared by the canonical and dialect tests."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from mailexports.marketing.records import DELIVERY_STATUS_OF, EventType


@dataclass
class Lines:
    lines: list[dict[str, Any]]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["kind"] == kind]


def ms(text: str) -> str:
    """The service's one timestamp spelling (2025-03-01T10:11:12.345Z) of an import time."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def yyyymmdd(day: date) -> str:
    return day.strftime("%Y%m%d")


def send_day(data: Lines, stat_id: str) -> date:
    send = next(s for s in data.of("send") if s["stat_id"] == stat_id)
    return date.fromisoformat(send["sent_at"][:10])


# ------------------------------------------------------------------ Pinpointe 000
def newsletter_activity(
    data: Lines,
    stat_id: str,
    start: date | None = None,
    end: date | None = None,
    kinds: tuple[str, ...] = ("open", "click"),
) -> list[dict[str, Any]]:
    """Per contact (by contact_id), the `kinds` of activity of the send in [start, end) midnight UTC."""
    low = f"{start.isoformat()}T00:00:00.000Z" if start else ""
    high = f"{end.isoformat()}T00:00:00.000Z" if end else "~"
    contacts: dict[str, dict[str, Any]] = {}
    events = [e for e in data.of("event") if e["stat_id"] == stat_id and e["type"] in kinds]
    for event in sorted(events, key=lambda e: (ms(e["at"]), e["event_id"])):
        at = ms(event["at"])
        if not low <= at < high:
            continue
        record = contacts.setdefault(
            event["contact_id"],
            {"contact_id": event["contact_id"], "email": event["email"], "opens": [], "clicks": []},
        )
        detail = {"at": at, "ip": event.get("ip"), "user_agent": event.get("user_agent")}
        if event["type"] == "open":
            record["opens"].append(detail)
        else:
            record["clicks"].append({"at": at, "url": event.get("url"), **detail})
    return [contacts[contact_id] for contact_id in sorted(contacts)]


# ------------------------------------------------------------------ Pinpointe 001
def segment_subscribers(
    data: Lines, segments: list[str], status: str, membership: bool, fields: list[str] | str
) -> list[dict[str, Any]]:
    out = []
    for contact in sorted(data.of("contact"), key=lambda c: c["contact_id"]):
        if not set(contact.get("segments", [])) & set(segments):
            continue
        if status != "any" and contact["status"] != status:
            continue
        profile = contact.get("custom_fields", {})
        record: dict[str, Any] = {
            "contact_id": contact["contact_id"],
            "email": contact["email"],
            "status": contact["status"],
            "custom_fields": dict(profile) if fields == "all" else {f: profile.get(f) for f in fields},
        }
        if membership:
            record["membership"] = list(contact.get("tags", []))
        out.append(record)
    return out


# ------------------------------------------------------------------ Selzy 002
def delivery_statuses(
    data: Lines, campaign_id: str, changed_since: str | None, field_ids: list[str]
) -> list[dict[str, Any]]:
    """Each recipient's latest delivery-kind event of the campaign's sends, changed at or after
    `changed_since` (the service's spelling), ordered by (changed_at, contact_id)."""
    stats = {s["stat_id"] for s in data.of("send") if s["campaign_id"] == campaign_id}
    names = {f["field_id"]: f["name"] for f in data.of("field")}
    profiles = {c["contact_id"]: c.get("custom_fields", {}) for c in data.of("contact")}
    latest: dict[str, tuple[tuple[str, str], dict[str, Any]]] = {}
    for event in data.of("event"):
        kind = EventType(event["type"])
        if event["stat_id"] not in stats or kind not in DELIVERY_STATUS_OF:
            continue
        mark = (ms(event["at"]), event["event_id"])
        if event["contact_id"] not in latest or mark > latest[event["contact_id"]][0]:
            latest[event["contact_id"]] = (mark, event)
    out = []
    for contact_id, ((changed_at, _), event) in latest.items():
        if changed_since and changed_at < changed_since:
            continue
        out.append(
            {
                "email": event["email"],
                "contact_id": contact_id,
                "status": DELIVERY_STATUS_OF[EventType(event["type"])],
                "changed_at": changed_at,
                "fields": {f: profiles.get(contact_id, {}).get(names[f]) for f in field_ids},
            }
        )
    return sorted(out, key=lambda r: (r["changed_at"], r["contact_id"]))


def selzy_time(text: str) -> str:
    """`2025-03-01T10:11:12.345Z` -> `2025-03-01 10:11:12` (Selzy's changed_since spelling)."""
    return text[:10] + " " + text[11:19]


# Our delivery status -> the vendor's send_result, written here from the vendor's checkEmail
# status list (independently of the service's own table, which this checks).
SELZY_SEND_RESULT = {
    "sent": "ok_sent",
    "delivered": "ok_delivered",
    "soft_bounce": "err_will_retry",
    "hard_bounce": "err_user_unknown",
    "complaint": "ok_fbl",
    "unsubscribe": "ok_unsubscribed",
    "reject": "err_not_allowed",
}


def selzy_report(
    data: Lines, campaign_id: str, changed_since: str | None, field_ids: list[str]
) -> dict[str, Any]:
    """The vendor's getCampaignDeliveryStats report of `delivery_statuses`."""
    rows = [
        [
            r["email"],
            SELZY_SEND_RESULT[r["status"]],
            selzy_time(r["changed_at"]),
            *(r["fields"].get(f) for f in field_ids),
        ]
        for r in delivery_statuses(data, campaign_id, changed_since, field_ids)
    ]
    return {"result": {"fields": ["email", "send_result", "last_update", *field_ids], "data": rows}}


# ------------------------------------------------------------------ Copernica 003
def contact_document(data: Lines, email: str) -> dict[str, Any]:
    campaign_of = {s["stat_id"]: s["campaign_id"] for s in data.of("send")}

    def by_time(kind: str, at: str, key: str) -> list[dict[str, Any]]:
        rows = [r for r in data.of(kind) if r["email"] == email]
        return sorted(rows, key=lambda r: (ms(r[at]), r[key]))

    def event(e: dict[str, Any]) -> dict[str, Any]:
        row = {
            "event_id": e["event_id"],
            "type": e["type"],
            "stat_id": e["stat_id"],
            "campaign_id": campaign_of[e["stat_id"]],
            "contact_id": e["contact_id"],
            "at": ms(e["at"]),
        }
        return row | {k: e[k] for k in ("ip", "user_agent", "url") if e.get(k) is not None}

    events = by_time("event", "at", "event_id")
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
                for m in by_time("message", "sent_at", "message_id")
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
                for s in by_time("survey_response", "at", "response_id")
            ],
        ],
    }


def busiest_address(data: Lines) -> str:
    """The address with the most lines among those that clicked (or, with no clicks in the
    data, opened): one whose file has messages, opens and, where there are any, clicks."""
    counts: dict[str, int] = defaultdict(int)
    for line in data.lines:
        if line["kind"] in ("message", "event", "survey_response"):
            counts[line["email"]] += 1
    for kind in ("click", "open"):
        engaged: list[str] = sorted({e["email"] for e in data.of("event") if e["type"] == kind})
        if engaged:
            return max(engaged, key=lambda email: counts[email])
    return max(sorted(counts), key=lambda email: counts[email]) if counts else ""


# ------------------------------------------------------------------ Constant Contact 004
def link_id(campaign_id: str, url: str) -> str:
    """Constant Contact's link_id as the README defines it: the first 52 bits of
    SHA-256("<campaign_id>\\n<url>"), in decimal."""
    return str(int(hashlib.sha256(f"{campaign_id}\n{url}".encode()).hexdigest()[:13], 16))


def tracking_rows(data: Lines, campaign_id: str, activity: str, since: str | None) -> list[dict[str, Any]]:
    """The campaign's opens (or clicks), newest first, each with exactly the vendor's fields."""
    stats = {s["stat_id"] for s in data.of("send") if s["campaign_id"] == campaign_id}
    kind = "open" if activity == "opens" else "click"
    events = [e for e in data.of("event") if e["type"] == kind and e["stat_id"] in stats]
    events = [e for e in events if since is None or ms(e["at"]) >= since]
    rows = []
    for e in sorted(events, key=lambda e: (ms(e["at"]), e["event_id"]), reverse=True):
        row = {
            "activity_type": "EMAIL_OPEN" if kind == "open" else "EMAIL_CLICK",
            "campaign_id": campaign_id,
            "contact_id": e["contact_id"],
            "email_address": e["email"],
        }
        if kind == "open":
            row["open_date"] = ms(e["at"])
        else:
            row |= {
                "link_id": link_id(campaign_id, e["url"]),
                "link_uri": e["url"],
                "click_date": ms(e["at"]),
            }
        rows.append(row)
    return rows


def day_after(day: date) -> date:
    return day + timedelta(days=1)


# ------------------------------------------------------------------ canonical CSV
def csv_cell(value: Any) -> str:
    """RFC 4180 text of one value: null empty, non-strings in their JSON spelling, a
    formula-looking start defused with `'`, quoted when it holds `,`, `"`, CR or LF."""
    text = (
        ""
        if value is None
        else value
        if isinstance(value, str)
        else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    )
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    if any(c in text for c in ',"\r\n'):
        text = '"' + text.replace('"', '""') + '"'
    return text


def csv_file(header: list[str], rows: list[list[Any]]) -> bytes:
    return "".join(",".join(csv_cell(v) for v in row) + "\r\n" for row in [header, *rows]).encode()


def activity_csv(
    data: Lines,
    stat_id: str,
    start: date | None = None,
    end: date | None = None,
    kinds: tuple[str, ...] = ("open", "click"),
) -> bytes:
    """One row per open or click of the send in [start, end): by contact, then time (an open
    before a click at the same instant), then event id."""
    low = f"{start.isoformat()}T00:00:00.000Z" if start else ""
    high = f"{end.isoformat()}T00:00:00.000Z" if end else "~"
    events = [
        e
        for e in data.of("event")
        if e["stat_id"] == stat_id and e["type"] in kinds and low <= ms(e["at"]) < high
    ]
    events.sort(key=lambda e: (e["contact_id"], ms(e["at"]), e["type"] != "open", e["event_id"]))
    rows = [
        [e["contact_id"], e["email"], e["type"], ms(e["at"]), e.get("url"), e.get("ip"), e.get("user_agent")]
        for e in events
    ]
    return csv_file(["contact_id", "email", "event", "at", "url", "ip", "user_agent"], rows)


def segment_csv(
    data: Lines, segments: list[str], status: str, membership: bool, fields: list[str] | str
) -> bytes:
    """`segment_subscribers` as CSV: for `all`, the tenant's field names by (numeric) field id."""
    if fields == "all":
        names = [f["name"] for f in sorted(data.of("field"), key=lambda f: int(f["field_id"]))]
    else:
        names = list(fields)
    header = ["contact_id", "email", "status"] + (["membership"] if membership else []) + names
    rows = []
    for record in segment_subscribers(data, segments, status, membership, fields):
        row = [record["contact_id"], record["email"], record["status"]]
        if membership:
            row.append(";".join(record["membership"]))
        rows.append(row + [record["custom_fields"].get(name) for name in names])
    return csv_file(header, rows)


def delivery_csv(data: Lines, campaign_id: str, changed_since: str | None, field_ids: list[str]) -> bytes:
    header = ["email", "contact_id", "status", "changed_at"] + [f"field_{f}" for f in field_ids]
    rows = [
        [r["email"], r["contact_id"], r["status"], r["changed_at"]] + [r["fields"][f] for f in field_ids]
        for r in delivery_statuses(data, campaign_id, changed_since, field_ids)
    ]
    return csv_file(header, rows)
