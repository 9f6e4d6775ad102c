"""Incremental exports (`since_task`) interleaved with ingestion: every open, click and status
change lands in exactly one file of the chain, late events, re-imports, retried SES batches,
skewed writer clocks and a crashed export included.

Time is a fake clock shared by the worker and (with a per-phase skew) by every writer;
the lag L is 60 s, the skews stay within it, which is the guarantee's premise.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from tests.unit.ingest.test_ingest_handler import (
    CAMPAIGN,
    STAT,
    TENANT,
    FakeLambdaContext,
    create_shop_tenant,
    load_ingest_app,
    sample,
)

from mailexports.config import Settings, get_settings
from mailexports.errors import UnknownReference
from mailexports.exports.requests import ExportRequest
from mailexports.exports.submit import ExportSubmitter
from mailexports.exports.task import ExportTask, TaskStatus
from mailexports.exports.task_store import DynamoTaskStore
from mailexports.exports.task_view import task_view
from mailexports.exports.worker import ExportWorker, message_body
from mailexports.marketing import arrivals
from mailexports.marketing.records import CampaignRecord, EventRecord, SendRecord
from mailexports.marketing.vocabulary import EventType, iso_ms
from mailexports.marketing.writer import MarketingWriter

LAG = 60
OLD = datetime(2025, 3, 1, 10, tzinfo=UTC)  # every event's `at`: arrival, not event time, orders


class Clock:
    """The worker's clock; writers read it with `skew` added (their clocks disagree)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)
        self.skew = timedelta()

    def __call__(self) -> datetime:
        return self.now

    def writer(self) -> datetime:
        return self.now + self.skew

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(aws_stack: Settings, monkeypatch: pytest.MonkeyPatch) -> Clock:
    monkeypatch.setenv("WATERMARK_LAG_SECONDS", str(LAG))
    get_settings.cache_clear()
    create_shop_tenant()
    fake = Clock()
    monkeypatch.setattr(arrivals, "utc_now", fake.writer)  # loads and the SES ingest alike
    MarketingWriter(TENANT).write(
        [
            CampaignRecord(campaign_id=CAMPAIGN, name="Spring", subject="Hi"),
            SendRecord(stat_id=STAT, campaign_id=CAMPAIGN, sent_at=OLD),
        ]
    )
    return fake


# ---------------------------------------------------------------- ingestion, both doors


def event(n: int, kind: str, contact: int, *, minutes: int = 0) -> EventRecord:
    return EventRecord(
        event_id=f"e-{n}",
        type=EventType(kind),
        stat_id=STAT,
        contact_id=f"c{contact:03d}",
        email=f"c{contact:03d}@example.com",
        at=OLD + timedelta(minutes=minutes, milliseconds=n),
        url="https://example.com/x" if kind == "click" else None,
    )


def load(records: list[EventRecord]) -> None:
    """`mailexports load`'s path: the writer, in chunks."""
    MarketingWriter(TENANT, chunk_records=50).write(records)


def ses_batch(opens: list[tuple[int, int]]) -> dict[str, Any]:
    """An SQS batch of SES open notifications (contact, millisecond of `at`)."""
    template = sample("open")["Records"][0]
    records = []
    for contact, ms in opens:
        envelope = json.loads(template["body"])
        ses = json.loads(envelope["Message"])
        ses["mail"]["tags"]["mx-contact"] = [f"c{contact:03d}"]
        ses["mail"]["destination"] = [f"c{contact:03d}@example.com"]
        ses["open"]["timestamp"] = (OLD + timedelta(milliseconds=ms)).isoformat().replace("+00:00", "Z")
        envelope["Message"] = json.dumps(ses)
        records.append({**template, "messageId": f"m-{contact}-{ms}", "body": json.dumps(envelope)})
    return {"Records": records}


def ingest(batch: dict[str, Any]) -> None:
    response = load_ingest_app().lambda_handler(batch, FakeLambdaContext())
    assert response["batchItemFailures"] == []


# ---------------------------------------------------------------- exports


def submit(kind: str, since: str | None = None) -> ExportTask:
    subject = {"stat_id": STAT} if kind == "campaign_activity" else {"campaign_id": CAMPAIGN}
    request = ExportRequest.model_validate(
        {"type": kind, "params": {**subject, "since_task": since}, "format": "ndjson"}
    )
    task, created = ExportSubmitter().submit(TENANT, request)
    assert created
    return task


def run(task: ExportTask, clock: Clock, **kwargs: Any) -> None:
    ExportWorker(clock=clock).handle(message_body(task.task_uuid, task.lease), **kwargs)


def finished(task_uuid: str) -> tuple[ExportTask, list[dict[str, Any]]]:
    task = DynamoTaskStore().get(task_uuid, TENANT)
    assert task.status is TaskStatus.COMPLETED, task.error
    s3 = boto3.client("s3")
    bucket = get_settings().exports_bucket
    lines = []
    for file in task.files:
        body = s3.get_object(Bucket=bucket, Key=file.key)["Body"].read().decode()
        lines += [json.loads(line) for line in body.splitlines() if line]
    return task, lines


def events_of(records: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [
        (r["contact_id"], kind, e["at"]) for r in records for kind in ("opens", "clicks") for e in r[kind]
    ]


def stored_activity() -> list[tuple[str, str, str]]:
    """What the data holds now: a full export read straight from the reader, no watermark."""
    from mailexports.marketing.reader import MarketingReader

    records = [c.model_dump(mode="json") for c in MarketingReader(TENANT).campaign_activity(STAT)]
    return events_of(records)


# ---------------------------------------------------------------- the chain


def test_a_chain_of_incremental_exports_holds_every_event_exactly_once(clock: Clock) -> None:
    # Before the first export: 40 contacts' opens and clicks, loaded; a delivery per contact.
    first_load = [event(i, "open" if i % 3 else "click", i % 40) for i in range(120)]
    load(first_load + [event(1000 + c, "delivery", c) for c in range(40)])
    clock.advance(LAG + 5)

    full = submit("campaign_activity")
    clock.skew = timedelta(seconds=LAG // 2)  # an ingest host running ahead...
    run(full, clock)
    # ...writes stamped after the watermark (the fast clock by half the lag) wait for the next file.
    ingest(ses_batch([(c, 5000 + c) for c in range(150, 160)]))
    full_task, full_records = finished(full.task_uuid)
    assert task_view(full_task)["watermark"] is not None

    # Between exports: late events with old `at`, a re-import of the first load, a retried batch.
    clock.advance(30)
    clock.skew = -timedelta(seconds=LAG // 2)  # a loader whose clock is behind
    load(first_load)  # re-import: nothing moves
    late = ses_batch([(c, 7000 + c) for c in range(100)])
    ingest(late)
    ingest(late)  # SQS redelivered the same SES notifications
    load([event(2000 + i, "click", 200 + i, minutes=-60) for i in range(80)])  # a day-old backlog
    clock.advance(LAG + 5)

    second = submit("campaign_activity", since=full.task_uuid)
    # First invocation runs out of time at the first check and re-enqueues itself...
    run(second, clock, remaining_ms=lambda: 0)
    assert DynamoTaskStore().get(second.task_uuid, TENANT).status is TaskStatus.PROCESSING
    # ...events keep arriving meanwhile (after its watermark: not its business)...
    clock.advance(10)
    ingest(ses_batch([(c, 9000 + c) for c in range(20, 30)]))
    # ...the continuation crashes at its next check...
    continuing = DynamoTaskStore().get(second.task_uuid, TENANT)

    def crash() -> int:
        raise RuntimeError("the Lambda died")

    with pytest.raises(RuntimeError):
        ExportWorker(clock=clock).handle(message_body(second.task_uuid, continuing.lease), remaining_ms=crash)
    # ...and the redelivered message resumes from the checkpoint once its heartbeat is stale.
    clock.advance(get_settings().heartbeat_stale_seconds + 1)
    run(continuing, clock, receive_count=2)
    second_task, second_records = finished(second.task_uuid)
    assert second_task.watermark is not None
    assert second_task.since_watermark == full_task.watermark

    clock.skew = timedelta()
    clock.advance(LAG + 5)
    third = submit("campaign_activity", since=second.task_uuid)
    run(third, clock)
    _, third_records = finished(third.task_uuid)

    chain = events_of(full_records) + events_of(second_records) + events_of(third_records)
    assert Counter(chain).most_common(1)[0][1] == 1  # no event twice
    assert sorted(chain) == sorted(stored_activity())  # and every one of them
    # The files split where the data arrived, not where `at` says.
    assert len(events_of(full_records)) == 120
    assert len(events_of(second_records)) == 10 + 100 + 80
    assert len(events_of(third_records)) == 10
    # An incremental record holds only the contact's new events: c020's first-load opens are not repeated.
    c020 = next(r for r in second_records if r["contact_id"] == "c020")
    assert [o["at"] for o in c020["opens"]] == ["2025-03-01T10:00:07.020Z"]


def test_a_stalled_writer_racing_another_on_a_new_event_leaves_it_in_one_file(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both writers find the open absent and both write it; the stalled one lands last,
    after an export read the first stamp. Its own stamp was read before its check, so
    before the first write landed: the event stays in the window that first held it.
    (Had it read its stamp after the check, the overwrite would carry one past the
    export's watermark and the event would be in the next file too.)"""
    clock.advance(LAG + 5)
    racing = event(1, "open", 1)
    stamped_before_check = clock.writer()
    real_check = arrivals.stored_keys
    exports: list[ExportTask] = []

    def check_then_stall(*args: Any, **kwargs: Any) -> set[tuple[str, str]]:
        found = real_check(*args, **kwargs)  # not stored yet...
        monkeypatch.setattr(arrivals, "stored_keys", real_check)
        clock.advance(1)
        load([racing])  # ...when the other writer stores it, a second later
        clock.advance(LAG + 5)  # this writer stalls past an export's lag
        exports.append(submit("campaign_activity"))
        run(exports[0], clock)
        return found

    monkeypatch.setattr(arrivals, "stored_keys", check_then_stall)
    stats = MarketingWriter(TENANT).write([racing])
    assert (stats.items_written, stats.events_already_stored) == (1, 0)  # it did overwrite
    stored = boto3.client("dynamodb").scan(TableName=get_settings().marketing_table)["Items"]
    stamps = [i["arrived_at"]["S"] for i in stored if i.get("event_id", {}).get("S") == "e-1"]
    assert stamps == [iso_ms(stamped_before_check)]

    full_task, full_records = finished(exports[0].task_uuid)
    clock.advance(LAG + 5)
    second = submit("campaign_activity", since=full_task.task_uuid)
    run(second, clock)
    _, second_records = finished(second.task_uuid)
    assert events_of(full_records) == [("c001", "opens", "2025-03-01T10:00:00.001Z")]
    assert events_of(second_records) == []


def test_delivery_chain_reports_each_status_change_once_and_ends_at_the_current_status(
    clock: Clock,
) -> None:
    load([event(c, "send", c) for c in range(30)])
    clock.advance(LAG + 5)
    full = submit("campaign_delivery")
    run(full, clock)
    _, first = finished(full.task_uuid)

    # Deliveries for half, a late older event for one (changes nothing), a re-import of the sends.
    load([event(100 + c, "delivery", c, minutes=1) for c in range(15)])
    load([event(c, "send", c) for c in range(30)])
    load([event(200, "send", 3, minutes=-5)])
    clock.advance(LAG + 5)
    second = submit("campaign_delivery", since=full.task_uuid)
    run(second, clock)
    _, changed = finished(second.task_uuid)

    assert len(first) == 30
    assert {r["status"] for r in first} == {"sent"}
    assert sorted(r["contact_id"] for r in changed) == [f"c{c:03d}" for c in range(15)]
    assert {r["status"] for r in changed} == {"delivered"}
    latest = {r["contact_id"]: r["status"] for r in first + changed}  # applied in order
    assert Counter(latest.values()) == {"delivered": 15, "sent": 15}


@pytest.mark.parametrize(
    ("kind", "since", "issue"),
    [
        ("campaign_activity", "no-such-task", "no export task"),
        ("campaign_activity", "DELIVERY", "is a campaign_delivery export"),
        ("campaign_activity", "PENDING", "only a completed export has a watermark"),
        ("campaign_delivery", "OTHER_TENANT", "no export task"),
    ],
)
def test_a_bad_since_task_is_refused_naming_the_field_before_anything_is_written(
    clock: Clock, kind: str, since: str, issue: str
) -> None:
    delivery = submit("campaign_delivery")
    run(delivery, clock)
    pending = submit("campaign_activity")  # never run: still `new`
    stranger = ExportTask(
        task_uuid="other-tenants-task",
        tenant_id="someone-else",
        task_type="campaign_delivery",
        status=TaskStatus.COMPLETED,
        params={"campaign_id": CAMPAIGN},
        created_at=clock.now,
        watermark=clock.now,
    )
    assert DynamoTaskStore().create(stranger)
    since = {"DELIVERY": delivery.task_uuid, "PENDING": pending.task_uuid}.get(since, since)
    since = "other-tenants-task" if since == "OTHER_TENANT" else since
    tasks = boto3.resource("dynamodb").Table(get_settings().tasks_table)
    before = tasks.scan()["Count"]  # test-only Scan: nothing may be written

    with pytest.raises(UnknownReference) as refused:
        submit(kind, since=since)
    assert refused.value.details[0]["field"] == "params.since_task"
    assert issue in refused.value.details[0]["issue"]
    assert tasks.scan()["Count"] == before
