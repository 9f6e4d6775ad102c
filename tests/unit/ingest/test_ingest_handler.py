"""IngestFunction end to end on in-process moto: sample events -> handler -> marketing items."""

from __future__ import annotations

import importlib.util
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from mailexports.config import Settings
from mailexports.ingest.processor import SesEventIngest
from mailexports.marketing import keys
from mailexports.marketing.records import CampaignRecord, ContactRecord, EventRecord, ImportRecord, SendRecord
from mailexports.marketing.writer import MarketingWriter, WriteFailed, WriteStats
from mailexports.tenants.models import Tenant
from mailexports.tenants.store import DynamoTenantStore

ROOT = Path(__file__).resolve().parents[3]
EVENTS = ROOT / "events" / "ses"
TENANT = "0b5c7e9a-2f41-4d63-8a15-6c3e9f2d7b40"  # the mx-tenant tag of every sample
CAMPAIGN = "1100394165287"
STAT = "981"
ANN, BOUNCED, REJECTED, FULL = "51", "52", "53", "54"

Handler = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class FakeLambdaContext:
    function_name: str = "mailexports-IngestFunction"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:mailexports-IngestFunction"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    log_group_name: str = "/aws/lambda/mailexports-IngestFunction"
    log_stream_name: str = "2025/03/01/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def load_ingest_app() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"ingest_app_{uuid.uuid4().hex}", ROOT / "functions" / "ingest" / "app.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sample(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


def failures(response: dict[str, Any]) -> set[str]:
    return {failure["itemIdentifier"] for failure in response["batchItemFailures"]}


def create_shop_tenant() -> None:
    """The samples' tenant (the SES samples' mx-tenant tag), as `tenant create` stores it."""
    DynamoTenantStore().create(
        Tenant(
            tenant_id=TENANT,
            name="shop",
            username="ops@shop.example.com",
            webhook_secret="whsec_" + "A" * 32,
            created_at=datetime(2025, 1, 1, tzinfo=UTC),
        ),
        api_key_hash="0" * 64,
    )


@pytest.fixture
def shop(aws_stack: Settings) -> Settings:
    """The samples' tenant, its campaign, send 981 and contacts, written as an import would."""
    create_shop_tenant()
    contacts = {ANN: "abc@example.com", BOUNCED: "no-such-user@example.net"}
    contacts |= {REJECTED: "carol@example.org", FULL: "dave@example.org"}
    MarketingWriter(TENANT).write(
        [
            CampaignRecord(campaign_id=CAMPAIGN, name="Spring sale", subject="Spring is here"),
            SendRecord(stat_id=STAT, campaign_id=CAMPAIGN, sent_at=datetime(2025, 3, 1, 9, tzinfo=UTC)),
            *(ContactRecord(contact_id=c, email=e) for c, e in contacts.items()),
        ]
    )
    return aws_stack


@pytest.fixture
def handler(shop: Settings) -> Handler:
    app = load_ingest_app()
    return lambda event: app.lambda_handler(event, FakeLambdaContext())


def event_items(contact_id: str, stat_id: str = STAT) -> list[dict[str, Any]]:
    """The contact's events of the send, in time order: opens and clicks, then the rest, live
    in partitions of their own."""
    table = boto3.resource("dynamodb").Table(shop_table())
    shard = keys.shard_of(contact_id)
    items: list[dict[str, Any]] = []
    for partition in (keys.activity_events_pk, keys.delivery_events_pk):
        items += table.query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
            ExpressionAttributeValues={":pk": partition(TENANT, stat_id, shard), ":sk": f"C#{contact_id}#"},
        )["Items"]
    return sorted(items, key=lambda item: item["sk"])


def recipient_status(contact_id: str) -> dict[str, Any] | None:
    table = boto3.resource("dynamodb").Table(shop_table())
    key = {"pk": keys.recipients_pk(TENANT, CAMPAIGN, keys.shard_of(contact_id)), "sk": f"C#{contact_id}"}
    item: dict[str, Any] | None = table.get_item(Key=key).get("Item")
    return item


def shop_table() -> str:
    from mailexports.config import get_settings

    return get_settings().marketing_table


def whole_table() -> list[dict[str, Any]]:
    """Every item, sorted: a test-only Scan to prove that nothing at all changed."""
    table = boto3.resource("dynamodb").Table(shop_table())
    items = table.scan()["Items"]
    return sorted(items, key=lambda item: (item["pk"], item["sk"]))


ALL_SAMPLES = sorted(path.stem for path in EVENTS.glob("*.json"))


# ---------------------------------------------------------------- one sample at a time


def test_each_sample_reports_exactly_its_malformed_records(handler: Handler) -> None:
    assert len(ALL_SAMPLES) == 13
    for name in ALL_SAMPLES:
        event = sample(name)
        expected = {r["messageId"] for r in event["Records"] if r["messageId"].startswith("malformed-")}
        assert failures(handler(event)) == expected, name


def test_the_malformed_sample_fails_each_bad_record_and_writes_the_good_one(handler: Handler) -> None:
    assert failures(handler(sample("malformed"))) == {
        "malformed-not-json",
        "malformed-sns-subscription-confirmation",
        "malformed-truncated-sns-message",
        "malformed-not-an-ses-event",
        "malformed-bounce-without-bounce-object",
        "malformed-missing-tags",
        "malformed-unknown-tenant",
    }
    assert [item["type"] for item in event_items(ANN)] == ["open"]


def test_malformed_records_are_logged_without_addresses(
    handler: Handler, caplog: pytest.LogCaptureFixture
) -> None:
    handler(sample("malformed"))
    reasons = {
        vars(entry)["sqs_message_id"]: vars(entry)["reason"]
        for entry in caplog.records
        if entry.getMessage() == "SES record is malformed; left for the dead-letter queue"
    }
    assert reasons["malformed-unknown-tenant"] == "tag mx-tenant names no known tenant ('no-such-tenant')"
    assert reasons["malformed-missing-tags"].startswith("message tags missing: mx-tenant")
    assert len(reasons) == 7
    logged = json.dumps(
        [{name: str(value) for name, value in vars(entry).items()} for entry in caplog.records]
    )
    assert "abc@example.com" not in logged
    assert "198.51.100.7" not in logged


# ---------------------------------------------------------------- every sample, then read back


def ingest_every_sample(handler: Handler) -> None:
    for name in ALL_SAMPLES:
        handler(sample(name))


def test_every_sample_lands_as_event_items_and_recipient_statuses(handler: Handler) -> None:
    ingest_every_sample(handler)

    ann = event_items(ANN)
    # open.json, eventbridge-open.json and malformed.json carry one and the same open: one item.
    assert [(item["type"], item["at"]) for item in ann] == [
        ("send", "2025-03-01T09:00:01.000Z"),
        ("delivery", "2025-03-01T09:00:03.512Z"),
        ("open", "2025-03-01T10:11:12.345Z"),
        ("click", "2025-03-01T10:12:00.120Z"),
        ("complaint", "2025-03-01T10:20:00.000Z"),
        ("unsubscribe", "2025-03-01T10:25:00.000Z"),
    ]
    opened, clicked = ann[2], ann[3]
    assert opened["ip"] == "198.51.100.7"
    assert opened["user_agent"].startswith("Mozilla/5.0")
    assert opened["email"] == "abc@example.com"
    assert opened["campaign_id"] == CAMPAIGN
    assert opened["event_id"].startswith("ses-")
    assert clicked["url"] == "https://shop.example.com/sale"
    assert {item["type"] for item in event_items(BOUNCED)} == {"hard_bounce"}
    assert {item["type"] for item in event_items(REJECTED)} == {"reject"}
    # The DeliveryDelay for this contact was skipped; only the later soft bounce is stored.
    assert {item["type"] for item in event_items(FULL)} == {"soft_bounce"}

    expected = {
        ANN: ("unsubscribe", "2025-03-01T10:25:00.000Z"),
        BOUNCED: ("hard_bounce", "2025-03-01T09:00:02.669Z"),
        REJECTED: ("reject", "2025-03-01T09:00:01.400Z"),
        FULL: ("soft_bounce", "2025-03-01T11:00:02.000Z"),
    }
    for contact_id, (status, changed_at) in expected.items():
        stored = recipient_status(contact_id)
        assert stored is not None, contact_id
        assert (stored["status"], stored["changed_at"]) == (status, changed_at)


def test_opens_are_listed_by_campaign_and_by_address(handler: Handler) -> None:
    handler(sample("open"))
    table = boto3.resource("dynamodb").Table(shop_table())
    by_campaign = table.query(
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :pk",
        ExpressionAttributeValues={":pk": keys.tracking_gsi1pk(TENANT, CAMPAIGN, "open", keys.shard_of(ANN))},
    )["Items"]
    by_address = table.query(
        IndexName="gsi2",
        KeyConditionExpression="gsi2pk = :pk",
        ExpressionAttributeValues={":pk": keys.email_gsi2pk(TENANT, "abc@example.com")},
    )["Items"]
    assert [item["type"] for item in by_campaign] == ["open"]
    assert [item["type"] for item in by_address] == ["open"]


def test_ingesting_the_same_batches_again_changes_no_item(handler: Handler) -> None:
    ingest_every_sample(handler)
    before = whole_table()
    ingest_every_sample(handler)
    assert whole_table() == before


def test_an_older_event_arriving_late_does_not_overwrite_the_status(handler: Handler) -> None:
    handler(sample("subscription"))
    handler(sample("delivery"))
    handler(sample("send"))
    stored = recipient_status(ANN)
    assert stored is not None
    assert (stored["status"], stored["changed_at"]) == ("unsubscribe", "2025-03-01T10:25:00.000Z")


def test_an_unknown_stat_fails_only_its_record_and_succeeds_once_the_send_exists(handler: Handler) -> None:
    good = sample("click")["Records"][0]
    envelope = json.loads(good["body"])
    ses = json.loads(envelope["Message"])
    ses["mail"]["tags"]["mx-stat"] = ["982"]
    ses["mail"]["messageId"] = "0100019553aaaaaa-bbbbbbbb-cccc-dddd-eeee-ffffffffffff-000000"
    envelope["Message"] = json.dumps(ses)
    early = {**good, "messageId": "early-for-982", "body": json.dumps(envelope)}
    batch = {"Records": [good, early]}

    assert failures(handler(batch)) == {"early-for-982"}
    assert [item["type"] for item in event_items(ANN)] == ["click"]
    assert event_items(ANN, stat_id="982") == []

    send = SendRecord(stat_id="982", campaign_id=CAMPAIGN, sent_at=datetime(2025, 3, 2, tzinfo=UTC))
    MarketingWriter(TENANT).write([send])
    assert failures(handler(batch)) == set()
    assert [item["type"] for item in event_items(ANN, stat_id="982")] == ["click"]


# ---------------------------------------------------------------- through SNS and SQS


def test_events_published_to_the_topic_reach_the_handler_through_the_queue(handler: Handler) -> None:
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = next(
        t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith("SesEventsTopic")
    )
    queue_url = next(u for u in sqs.list_queues()["QueueUrls"] if u.endswith("-SesEventsQueue"))
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]

    def ses_event_of(name: str) -> dict[str, Any]:
        ses: dict[str, Any] = json.loads(json.loads(sample(name)["Records"][0]["body"])["Message"])
        return ses

    untagged = ses_event_of("open")
    untagged["open"]["timestamp"] = "2025-03-01T12:00:00.000Z"
    untagged["mail"]["tags"] = {"ses:configuration-set": ["test-SesConfigurationSet"]}
    published = {}
    for name, ses in [
        ("delivery", ses_event_of("delivery")),
        ("click", ses_event_of("click")),
        ("untagged", untagged),
    ]:
        published[sns.publish(TopicArn=topic, Message=json.dumps(ses))["MessageId"]] = name

    received = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
    )["Messages"]
    assert len(received) == 3
    by_name = {}
    for message in received:
        envelope = json.loads(message["Body"])
        assert envelope["Type"] == "Notification"  # SNS wraps it: no raw message delivery
        by_name[published[envelope["MessageId"]]] = message["MessageId"]

    event = {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in received
        ]
    }
    assert failures(handler(event)) == {by_name["untagged"]}
    assert [item["type"] for item in event_items(ANN)] == ["delivery", "click"]
    stored = recipient_status(ANN)
    assert stored is not None
    assert stored["status"] == "delivered"


# ---------------------------------------------------------------- how a tenant group is written


class FlakyWriter:
    """The real writer, except that writes containing `poisoned` contacts raise `error`."""

    def __init__(self, tenant_id: str, poisoned: set[str], error: Exception) -> None:
        self.inner = MarketingWriter(tenant_id)
        self.poisoned, self.error = poisoned, error
        self.calls: list[int] = []

    def write(self, records: Iterable[ImportRecord]) -> WriteStats:
        batch = list(records)
        self.calls.append(len(batch))
        if any(isinstance(r, EventRecord) and r.contact_id in self.poisoned for r in batch):
            raise self.error
        return self.inner.write(batch)


def sqs_records(*names: str) -> list[SQSRecord]:
    return [SQSRecord(raw) for name in names for raw in sample(name)["Records"]]


def test_one_record_failing_in_a_group_fails_alone(shop: Settings) -> None:
    writer = FlakyWriter(TENANT, {REJECTED}, RuntimeError("boom"))
    outcome = SesEventIngest(writer_for=lambda _: writer).ingest(sqs_records("send", "reject", "bounce"))
    rejected = sample("reject")["Records"][0]["messageId"]
    assert outcome.failed == {rejected: "could not write the event (RuntimeError)"}
    assert len(outcome.written) == 2
    assert writer.calls == [3, 1, 1, 1]  # the group, then each record on its own
    assert {item["type"] for item in event_items(BOUNCED)} == {"hard_bounce"}
    assert event_items(REJECTED) == []


def test_throttling_past_the_writers_retries_fails_the_group_without_retrying_each(shop: Settings) -> None:
    writer = FlakyWriter(TENANT, {ANN}, WriteFailed("DynamoDB kept throttling"))
    outcome = SesEventIngest(writer_for=lambda _: writer).ingest(sqs_records("send", "open"))
    assert set(outcome.failed.values()) == {"DynamoDB kept throttling"}
    assert len(outcome.failed) == 2
    assert writer.calls == [2]


def test_an_unknown_tenant_is_looked_up_once_per_batch(shop: Settings) -> None:
    asked: list[str] = []

    def is_known(tenant_id: str) -> bool:
        asked.append(tenant_id)
        return True

    outcome = SesEventIngest(is_known_tenant=is_known).ingest(sqs_records("send", "delivery", "open"))
    assert asked == [TENANT]
    assert len(outcome.written) == 3
