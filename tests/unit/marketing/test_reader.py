"""MarketingReader against in-process moto: every access pattern, compared with plain Python.

Most tests write the data straight into the table in the item layout that keys.py and
the writer's contract describe (`Seed`: small, and free to plant odd items such as a
stale segment member); the last test writes it with MarketingWriter. Each reader result
is compared with an expectation computed here from the same records, without the
reader's code.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from mailexports.config import Settings
from mailexports.errors import ValidationFailed
from mailexports.marketing import keys
from mailexports.marketing.reader import MarketingReader
from mailexports.marketing.records import (
    DELIVERY_STATUS_OF,
    CampaignRecord,
    ContactRecord,
    ContactStatus,
    EventRecord,
    EventType,
    FieldRecord,
    MessageRecord,
    SendRecord,
    SurveyResponseRecord,
)
from mailexports.marketing.vocabulary import iso_ms
from mailexports.marketing.writer import MarketingWriter

TENANT = "tenant-a"
OTHER_TENANT = "tenant-b"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


# ---------------------------------------------------------------- seeding (the writer's item contract)
class Seed:
    """Puts records into the marketing table in exactly keys.py's layout."""

    def __init__(self, settings: Settings, tenant_id: str) -> None:
        self.settings = settings
        self.tenant = tenant_id
        self.table = boto3.resource("dynamodb").Table(settings.marketing_table)
        self.campaign_of_stat: dict[str, str] = {}

    def put(self, items: Iterable[dict[str, Any]]) -> None:
        with self.table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for item in items:
                batch.put_item(Item={k: v for k, v in item.items() if v is not None})

    def records(self, records: Iterable[Any]) -> None:
        self.put(item for record in records for item in self.items(record))

    def items(self, record: Any) -> Iterator[dict[str, Any]]:
        t = self.tenant
        if isinstance(record, FieldRecord):
            yield {
                "pk": keys.fields_pk(t),
                "sk": keys.field_sk(record.field_id),
                **record.model_dump(exclude={"kind"}),
            }
        elif isinstance(record, ContactRecord):
            yield {
                "pk": keys.contact_pk(t, record.contact_id),
                "sk": keys.PROFILE,
                "contact_id": record.contact_id,
                "email": record.email,
                "status": record.status.value,
                "created_at": iso_ms(record.created_at) if record.created_at else None,
                "custom_fields": record.custom_fields,
                "tags": record.tags,
                "segments": record.segments,
            }
            for segment in record.segments:
                yield self.member(segment, record.contact_id)
        elif isinstance(record, CampaignRecord):
            yield {
                "pk": keys.campaign_pk(t, record.campaign_id),
                "sk": keys.META,
                **record.model_dump(exclude={"kind"}),
            }
        elif isinstance(record, SendRecord):
            self.campaign_of_stat[record.stat_id] = record.campaign_id
            attrs = {
                "stat_id": record.stat_id,
                "campaign_id": record.campaign_id,
                "sent_at": iso_ms(record.sent_at),
            }
            yield {"pk": keys.campaign_pk(t, record.campaign_id), "sk": keys.send_sk(record.stat_id), **attrs}
            yield {"pk": keys.stat_pk(t, record.stat_id), "sk": keys.META, **attrs}
        elif isinstance(record, MessageRecord):
            yield {
                "pk": keys.message_pk(t, record.message_id),
                "sk": "MSG",
                "message_id": record.message_id,
                "stat_id": record.stat_id,
                "contact_id": record.contact_id,
                "email": record.email,
                "sent_at": iso_ms(record.sent_at),
                "mime": record.mime,
                "gsi2pk": keys.email_gsi2pk(t, record.email),
                "gsi2sk": keys.email_gsi2sk("MSG", record.sent_at, record.message_id),
            }
        elif isinstance(record, EventRecord):
            yield self.event(record)
        elif isinstance(record, SurveyResponseRecord):
            yield {
                "pk": keys.survey_pk(t, record.response_id),
                "sk": "RESPONSE",
                "response_id": record.response_id,
                "survey_id": record.survey_id,
                "email": record.email,
                "at": iso_ms(record.at),
                "answers": record.answers,
                "gsi2pk": keys.email_gsi2pk(t, record.email),
                "gsi2sk": keys.email_gsi2sk("SURVEY", record.at, record.response_id),
            }
        else:  # pragma: no cover - a test bug
            raise TypeError(record)

    def member(self, segment: str, contact_id: str) -> dict[str, Any]:
        return {
            "pk": keys.segment_pk(self.tenant, segment, keys.shard_of(contact_id)),
            "sk": keys.member_sk(contact_id),
            "contact_id": contact_id,
        }

    def event(self, e: EventRecord) -> dict[str, Any]:
        campaign_id = self.campaign_of_stat[e.stat_id]
        shard = keys.shard_of(e.contact_id)
        item: dict[str, Any] = {
            "pk": keys.activity_events_pk(self.tenant, e.stat_id, shard),
            "sk": keys.event_sk(e.contact_id, e.at, e.event_id),
            "event_id": e.event_id,
            "type": e.type.value,
            "stat_id": e.stat_id,
            "campaign_id": campaign_id,
            "contact_id": e.contact_id,
            "email": e.email,
            "at": iso_ms(e.at),
            "ip": e.ip,
            "user_agent": e.user_agent,
            "url": e.url,
        }
        if e.type in (EventType.OPEN, EventType.CLICK):
            item["gsi1pk"] = keys.tracking_gsi1pk(self.tenant, campaign_id, e.type.value, shard)
            item["gsi1sk"] = keys.tracking_gsi1sk(e.at, e.event_id)
            item["gsi2pk"] = keys.email_gsi2pk(self.tenant, e.email)
            item["gsi2sk"] = keys.email_gsi2sk(e.type.value.upper(), e.at, e.event_id)
        return item

    def recipient(
        self, campaign_id: str, contact_id: str, email: str, status: str, changed_at: datetime
    ) -> None:
        pk = keys.recipients_pk(self.tenant, campaign_id, keys.shard_of(contact_id))
        self.put(
            [
                {
                    "pk": pk,
                    "sk": keys.member_sk(contact_id),
                    "contact_id": contact_id,
                    "email": email,
                    "status": status,
                    "changed_at": iso_ms(changed_at),
                    "status_key": f"{iso_ms(changed_at)}#{status}",
                    "gsi3pk": pk,
                    "gsi3sk": keys.status_gsi3sk(changed_at, contact_id),
                }
            ]
        )


def reader(tenant: str = TENANT, **options: Any) -> MarketingReader:
    return MarketingReader(tenant, **options)


def email_of(contact_id: str) -> str:
    return f"user{contact_id}@example.com"


# ---------------------------------------------------------------- a send with activity
# Digit-only ids of several lengths: "5" sorts before "51" (the sort key `C#5#` < `C#51#`),
# which is also their plain string order, so the expected order is `sorted(contact_ids)`.
CONTACT_IDS = sorted(
    {str(n) for n in [5, 51, 50, 507, 5070, 7, 70, 700, 8, 9, 19, 199]} | {str(n) for n in range(100, 130)}
)
WINDOW_START = datetime(2025, 3, 2, tzinfo=UTC)
WINDOW_END = datetime(2025, 3, 4, tzinfo=UTC)


def activity_events(stat_id: str = "981", seed: int = 7) -> list[EventRecord]:
    rng = random.Random(seed)
    events: list[EventRecord] = []
    counter = 0

    def add(contact_id: str, kind: EventType, at: datetime) -> None:
        nonlocal counter
        counter += 1
        events.append(
            EventRecord(
                event_id=f"{stat_id}-e{counter:05d}",
                type=kind,
                stat_id=stat_id,
                contact_id=contact_id,
                email=email_of(contact_id),
                at=at,
                ip=f"198.51.100.{counter % 250}" if counter % 3 else None,
                user_agent="Mozilla/5.0" if counter % 4 else None,
                url=f"https://example.com/p/{counter}" if kind is EventType.CLICK else None,
            )
        )

    for contact_id in CONTACT_IDS:
        add(contact_id, EventType.SEND, T0)
        add(contact_id, EventType.DELIVERY, T0 + timedelta(seconds=5))
        if contact_id.endswith("9"):
            continue  # delivered, never opened
        for _ in range(rng.randint(0, 3)):
            add(contact_id, EventType.OPEN, T0 + timedelta(milliseconds=rng.randint(0, 5 * 86_400_000)))
        for _ in range(rng.randint(0, 2)):
            add(contact_id, EventType.CLICK, T0 + timedelta(milliseconds=rng.randint(0, 5 * 86_400_000)))
    # Exactly on the window's edges: the start is in, the end is out.
    add("5", EventType.OPEN, WINDOW_START)
    add("51", EventType.CLICK, WINDOW_END)
    add("50", EventType.OPEN, WINDOW_END - timedelta(milliseconds=1))
    add("7", EventType.CLICK, WINDOW_START - timedelta(milliseconds=1))
    return events


def expected_activity(
    events: list[EventRecord],
    start: datetime | None = None,
    end: datetime | None = None,
    kinds: frozenset[str] = frozenset({"open", "click"}),
) -> list[dict[str, Any]]:
    by_contact: dict[str, list[EventRecord]] = {}
    for e in events:
        if e.type.value not in kinds:
            continue
        if (start is not None and e.at < start) or (end is not None and e.at >= end):
            continue
        by_contact.setdefault(e.contact_id, []).append(e)
    records = []
    for contact_id in sorted(by_contact):
        mine = sorted(by_contact[contact_id], key=lambda e: (e.at, e.event_id))
        records.append(
            {
                "contact_id": contact_id,
                "email": email_of(contact_id),
                "opens": [
                    {"at": iso_ms(e.at), "ip": e.ip, "user_agent": e.user_agent}
                    for e in mine
                    if e.type == EventType.OPEN
                ],
                "clicks": [
                    {"at": iso_ms(e.at), "url": e.url, "ip": e.ip, "user_agent": e.user_agent}
                    for e in mine
                    if e.type == EventType.CLICK
                ],
            }
        )
    return records


def dumped(rows: Iterable[Any]) -> list[dict[str, Any]]:
    return [row.model_dump(mode="json") for row in rows]


@pytest.fixture
def send(aws_stack: Settings) -> list[EventRecord]:
    seed = Seed(aws_stack, TENANT)
    events = activity_events("981") + activity_events("982", seed=8)
    seed.records(
        [
            CampaignRecord(campaign_id="c-1", name="Spring", subject="Hi"),
            SendRecord(stat_id="981", campaign_id="c-1", sent_at=T0),
            SendRecord(stat_id="982", campaign_id="c-1", sent_at=T0),
            *events,
        ]
    )
    return [e for e in events if e.stat_id == "981"]


def test_campaign_activity_is_one_record_per_active_contact_in_contact_order(send: list[EventRecord]) -> None:
    got = dumped(reader().campaign_activity("981"))
    expected = expected_activity(send)
    assert got == expected
    assert [r["contact_id"] for r in got][:3] == ["100", "101", "102"]
    assert "59" not in {r["contact_id"] for r in got}  # delivered, never opened
    assert len(got) > 25


def test_campaign_activity_window_is_start_inclusive_end_exclusive(send: list[EventRecord]) -> None:
    got = dumped(reader().campaign_activity("981", start=WINDOW_START, end=WINDOW_END))
    assert got == expected_activity(send, WINDOW_START, WINDOW_END)
    by_contact = {r["contact_id"]: r for r in got}
    assert iso_ms(WINDOW_START) in [o["at"] for o in by_contact["5"]["opens"]]
    assert iso_ms(WINDOW_END - timedelta(milliseconds=1)) in [o["at"] for o in by_contact["50"]["opens"]]
    assert iso_ms(WINDOW_END) not in [c["at"] for c in by_contact.get("51", {"clicks": []})["clicks"]]
    # Half-open windows.
    assert dumped(reader().campaign_activity("981", start=WINDOW_START)) == expected_activity(
        send, WINDOW_START
    )
    assert dumped(reader().campaign_activity("981", end=WINDOW_END)) == expected_activity(
        send, None, WINDOW_END
    )


def test_campaign_activity_events_filter(send: list[EventRecord]) -> None:
    clicks = dumped(reader().campaign_activity("981", events={"click"}))
    assert clicks == expected_activity(send, kinds=frozenset({"click"}))
    assert all(r["opens"] == [] and r["clicks"] for r in clicks)
    opens = dumped(reader().campaign_activity("981", events=[EventType.OPEN]))
    assert opens == expected_activity(send, kinds=frozenset({"open"}))


@pytest.mark.parametrize("window", [(None, None), (WINDOW_START, WINDOW_END)])
def test_campaign_activity_resumes_exactly_after_a_contact(
    send: list[EventRecord], window: tuple[datetime | None, datetime | None]
) -> None:
    start, end = window
    full = dumped(reader().campaign_activity("981", start=start, end=end))
    for cut in [0, 1, 2, len(full) // 2, len(full) - 2, len(full) - 1]:
        last = full[cut]["contact_id"]
        resumed = dumped(reader().campaign_activity("981", start=start, end=end, after_contact=last))
        assert resumed == full[cut + 1 :], last
    # "5" is a prefix of "50", "51" and "507": resuming after it must not skip them.
    after_five = [
        r["contact_id"]
        for r in dumped(reader().campaign_activity("981", start=start, end=end, after_contact="5"))
    ]
    assert after_five == [r["contact_id"] for r in full if r["contact_id"] > "5"]
    assert after_five[0] == "50"


def test_campaign_activity_pages_through_small_pages_and_reads_every_shard(
    send: list[EventRecord], aws_stack: Settings
) -> None:
    paged = reader(page_size=3)
    got = dumped(paged.campaign_activity("981"))
    assert got == expected_activity(send)
    events_in_send = len(send) + 1  # +1: a partition's last full page is followed by an empty one
    assert paged.query_count >= events_in_send // 3
    # The events really are spread over the shards' partitions.
    client = boto3.client("dynamodb")
    used = [
        shard
        for shard in range(keys.SHARDS)
        if client.query(
            TableName=aws_stack.marketing_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": keys.activity_events_pk(TENANT, "981", shard)}},
            Select="COUNT",
        )["Count"]
    ]
    assert len(used) >= 12
    assert {keys.shard_of(c) for c in CONTACT_IDS} == set(used)


def test_campaign_activity_stops_cleanly_when_the_consumer_stops_early(send: list[EventRecord]) -> None:
    stream = reader(page_size=2).campaign_activity("981")
    first = [next(stream) for _ in range(3)]
    stream.close()  # shuts the shard readers down without reading the rest
    assert dumped(first) == expected_activity(send)[:3]


def test_campaign_activity_rejects_bad_input(aws_stack: Settings) -> None:
    r = reader()
    with pytest.raises(ValidationFailed, match="events"):
        r.campaign_activity("981", events=set())
    with pytest.raises(ValidationFailed, match="events"):
        r.campaign_activity("981", events={"open", "bounce"})
    with pytest.raises(ValidationFailed, match="time zone"):
        r.campaign_activity("981", start=datetime(2025, 3, 1))
    with pytest.raises(ValidationFailed, match="end"):
        r.campaign_activity("981", start=WINDOW_END, end=WINDOW_START)
    with pytest.raises(ValidationFailed, match="stat_id"):
        r.campaign_activity("")
    assert list(r.campaign_activity("no-such-send")) == []


def test_send_and_campaign_lookups(send: list[EventRecord]) -> None:
    r = reader()
    found = r.send("981")
    assert found is not None
    assert (found.stat_id, found.campaign_id, found.sent_at) == ("981", "c-1", T0)
    assert r.send("404") is None
    campaign = r.campaign("c-1")
    assert campaign is not None
    assert (campaign.name, campaign.subject) == ("Spring", "Hi")
    assert r.campaign("nope") is None


def test_another_tenant_sees_none_of_it(send: list[EventRecord], aws_stack: Settings) -> None:
    Seed(aws_stack, TENANT).records(
        [
            FieldRecord(field_id="1", name="First Name"),
            ContactRecord(contact_id="5", email="user5@example.com", segments=["seg-1"]),
            SurveyResponseRecord(response_id="r", survey_id="s", email="user5@example.com", at=T0),
        ]
    )
    Seed(aws_stack, TENANT).recipient("c-1", "5", "user5@example.com", "delivered", T0)
    assert list(reader().campaign_activity("981"))  # tenant A has data...
    other = reader(OTHER_TENANT)
    assert other.send("981") is None
    assert other.campaign("c-1") is None
    assert other.fields() == {}
    assert other.segment_exists("seg-1") is False
    assert list(other.campaign_activity("981")) == []
    assert list(other.segment_contacts(["seg-1"])) == []
    assert list(other.campaign_delivery("c-1")) == []
    data = other.contact_data("user5@example.com")
    assert [list(data.messages), list(data.opens), list(data.clicks), list(data.survey_responses)] == [
        [],
        [],
        [],
        [],
    ]
    assert other.tracking_page("c-1", "open").items == []


# ---------------------------------------------------------------- segment_contacts
SEGMENTS = ["seg-1", "seg-2", "seg-3"]


def segment_population(count: int = 260, seed: int = 3) -> list[ContactRecord]:
    rng = random.Random(seed)
    statuses = list(ContactStatus)
    contacts = []
    for n in range(count):
        contact_id = str(1000 + n * 7)
        contacts.append(
            ContactRecord(
                contact_id=contact_id,
                email=email_of(contact_id),
                status=rng.choice(statuses),
                created_at=T0 - timedelta(days=n),
                custom_fields={"First Name": f"Ann {n}", "Score": n} if n % 5 else {},
                tags=sorted(rng.sample(["vip", "new", "eu"], rng.randint(0, 2))),
                segments=sorted(rng.sample(SEGMENTS, rng.randint(0, 3))),
            )
        )
    return contacts


def expected_contacts(
    contacts: list[ContactRecord], segments: set[str], status: str | None
) -> list[dict[str, Any]]:
    chosen = [
        c for c in contacts if segments & set(c.segments) and (status is None or c.status.value == status)
    ]
    return [
        {
            "contact_id": c.contact_id,
            "email": c.email,
            "status": c.status.value,
            "created_at": iso_ms(c.created_at) if c.created_at else None,
            "custom_fields": c.custom_fields,
            "tags": c.tags,
            "segments": c.segments,
        }
        for c in sorted(chosen, key=lambda c: c.contact_id)
    ]


@pytest.fixture
def population(aws_stack: Settings) -> list[ContactRecord]:
    contacts = segment_population()
    Seed(aws_stack, TENANT).records(contacts)
    return contacts


@pytest.mark.parametrize(
    ("segments", "status"),
    [
        (["seg-1"], None),
        (["seg-1", "seg-2"], None),
        (SEGMENTS, "active"),
        (["seg-2", "seg-3"], "unsubscribed"),
    ],
)
def test_segment_contacts_union_dedupe_and_status(
    population: list[ContactRecord], segments: list[str], status: str | None
) -> None:
    r = reader(page_size=7)
    got = dumped(r.segment_contacts(segments, status=status))
    expected = expected_contacts(population, set(segments), status)
    assert got == expected
    assert len({c["contact_id"] for c in got}) == len(got)
    if len(segments) > 1:  # the union really had overlaps to remove
        assert sum(len(set(segments) & set(c.segments)) for c in population) > len(
            expected_contacts(population, set(segments), None)
        )
    assert r.query_count > len(segments) * keys.SHARDS  # paged members + batched profiles


def test_segment_contacts_any_status_and_resume(population: list[ContactRecord]) -> None:
    full = dumped(reader().segment_contacts(["seg-1", "seg-3"], status="any"))
    assert full == expected_contacts(population, {"seg-1", "seg-3"}, None)
    assert len(full) > 150  # more than one BatchGetItem of profiles
    for cut in [0, 99, 100, len(full) - 2]:
        resumed = dumped(reader().segment_contacts(["seg-1", "seg-3"], after_contact=full[cut]["contact_id"]))
        assert resumed == full[cut + 1 :]


def test_segment_contacts_resume_keeps_ids_that_extend_the_cursor(aws_stack: Settings) -> None:
    contacts = [
        ContactRecord(contact_id=c, email=email_of(c), segments=["s"]) for c in ["5", "5!", "50", "6"]
    ]
    Seed(aws_stack, TENANT).records(contacts)
    assert [c.contact_id for c in reader().segment_contacts(["s"])] == ["5", "5!", "50", "6"]
    assert [c.contact_id for c in reader().segment_contacts(["s"], after_contact="5")] == ["5!", "50", "6"]


def test_segment_contacts_skips_stale_members_and_missing_profiles(aws_stack: Settings) -> None:
    seed = Seed(aws_stack, TENANT)
    seed.records([ContactRecord(contact_id="1", email="a@example.com", segments=["seg-1"])])
    seed.records([ContactRecord(contact_id="2", email="b@example.com", segments=["seg-2"])])
    seed.put([seed.member("seg-1", "2"), seed.member("seg-1", "3")])  # 2 left seg-1; 3 has no profile
    assert [c.contact_id for c in reader().segment_contacts(["seg-1"])] == ["1"]


def test_segment_contacts_retries_unprocessed_keys(
    population: list[ContactRecord], monkeypatch: pytest.MonkeyPatch
) -> None:
    r = reader()
    real: Any = r._db.batch_get_item
    calls: list[int] = []

    def throttled(**kwargs: Any) -> Any:
        """The first answer of every batch leaves half its keys unprocessed, as DynamoDB may."""
        table, request = next(iter(kwargs["RequestItems"].items()))
        calls.append(len(request["Keys"]))
        if len(calls) % 2 == 0 or len(request["Keys"]) < 2:
            return real(**kwargs)
        half = len(request["Keys"]) // 2
        answered = real(RequestItems={table: {**request, "Keys": request["Keys"][:half]}})
        answered["UnprocessedKeys"] = {table: {**request, "Keys": request["Keys"][half:]}}
        return answered

    monkeypatch.setattr(r._db, "batch_get_item", throttled)
    monkeypatch.setattr("mailexports.marketing.batches.time.sleep", lambda _: None)
    got = dumped(r.segment_contacts(SEGMENTS))
    assert got == expected_contacts(population, set(SEGMENTS), None)
    assert max(calls) == 100  # batches of BatchGetItem's maximum
    assert len(calls) >= 2 * (len(got) // 100)


def test_segment_contacts_rejects_bad_input(aws_stack: Settings) -> None:
    with pytest.raises(ValidationFailed, match="segment_ids"):
        reader().segment_contacts([])
    with pytest.raises(ValidationFailed, match="status"):
        reader().segment_contacts(["seg-1"], status="sleeping")


def test_segment_exists_and_fields(population: list[ContactRecord], aws_stack: Settings) -> None:
    Seed(aws_stack, TENANT).records(
        [FieldRecord(field_id="1", name="First Name"), FieldRecord(field_id="2", name="Score")]
    )
    r = reader()
    assert r.segment_exists("seg-2") is True
    assert r.segment_exists("seg-404") is False
    assert r.fields() == {"1": "First Name", "2": "Score"}


def test_custom_field_values_come_back_as_plain_json(aws_stack: Settings) -> None:
    seed = Seed(aws_stack, TENANT)
    seed.records([ContactRecord(contact_id="1", email="a@example.com", segments=["s"])])
    seed.table.update_item(
        Key={"pk": keys.contact_pk(TENANT, "1"), "sk": keys.PROFILE},
        UpdateExpression="SET custom_fields = :f",
        ExpressionAttributeValues={
            ":f": {"Score": 3, "Ratio": Decimal("1.5"), "Opted": True, "Nick": None, "Kids": ["a", 2]}
        },
    )
    [contact] = reader().segment_contacts(["s"])
    assert contact.model_dump(mode="json")["custom_fields"] == {
        "Score": 3,
        "Ratio": 1.5,
        "Opted": True,
        "Nick": None,
        "Kids": ["a", 2],
    }


# ---------------------------------------------------------------- campaign_delivery
def delivery_statuses(events: list[EventRecord]) -> dict[str, tuple[str, datetime, str]]:
    """Each contact's latest delivery-kind event: (status, changed_at, email)."""
    latest: dict[str, EventRecord] = {}
    for e in events:
        if e.type not in DELIVERY_STATUS_OF:
            continue
        current = latest.get(e.contact_id)
        if current is None or (e.at, e.event_id) > (current.at, current.event_id):
            latest[e.contact_id] = e
    return {c: (DELIVERY_STATUS_OF[e.type], e.at, e.email) for c, e in latest.items()}


@pytest.fixture
def recipients(aws_stack: Settings) -> dict[str, tuple[str, datetime, str]]:
    rng = random.Random(11)
    events = []
    for n in range(80):
        contact_id = str(200 + n)
        kinds = [EventType.SEND, EventType.DELIVERY, rng.choice(list(DELIVERY_STATUS_OF))]
        for i, kind in enumerate(kinds[: rng.randint(1, 3)]):
            at = T0 + timedelta(minutes=rng.randint(0, 600) + 1000 * i)
            events.append(
                EventRecord(
                    event_id=f"d{n}-{i}",
                    type=kind,
                    stat_id="981",
                    contact_id=contact_id,
                    email=email_of(contact_id),
                    at=at,
                )
            )
    statuses = delivery_statuses(events)
    seed = Seed(aws_stack, TENANT)
    for contact_id, (status, changed_at, email) in statuses.items():
        seed.recipient("c-1", contact_id, email, status, changed_at)
    seed.recipient("c-2", "200", email_of("200"), "sent", T0)  # another campaign
    seed.records(
        [
            FieldRecord(field_id="1", name="First Name"),
            FieldRecord(field_id="2", name="City"),
            *[
                ContactRecord(
                    contact_id=c,
                    email=email_of(c),
                    custom_fields={"First Name": f"N{c}"} if int(c) % 2 else {},
                )
                for c in statuses
            ],
        ]
    )
    return statuses


def expected_delivery(
    statuses: dict[str, tuple[str, datetime, str]], since: datetime | None = None
) -> list[dict[str, Any]]:
    rows = sorted(
        (changed_at, contact_id, status, email)
        for contact_id, (status, changed_at, email) in statuses.items()
        if since is None or changed_at >= since
    )
    return [
        {"email": email, "contact_id": c, "status": status, "changed_at": iso_ms(at), "fields": {}}
        for at, c, status, email in rows
    ]


def test_campaign_delivery_in_change_order_with_inclusive_since(
    recipients: dict[str, tuple[str, datetime, str]],
) -> None:
    full = dumped(reader(page_size=5).campaign_delivery("c-1"))
    assert full == expected_delivery(recipients)
    assert len(full) == 80
    assert len({keys.shard_of(c) for c in recipients}) >= 12  # the recipients span most shards
    boundary = datetime.fromisoformat(full[40]["changed_at"])
    since = dumped(reader().campaign_delivery("c-1", changed_since=boundary))
    assert since == expected_delivery(recipients, boundary)
    assert since[0]["changed_at"] == iso_ms(boundary)  # inclusive
    assert dumped(reader().campaign_delivery("c-2")) == [
        {
            "email": email_of("200"),
            "contact_id": "200",
            "status": "sent",
            "changed_at": iso_ms(T0),
            "fields": {},
        }
    ]


def test_campaign_delivery_resumes_after_a_cursor(recipients: dict[str, tuple[str, datetime, str]]) -> None:
    r = reader()
    full = list(r.campaign_delivery("c-1"))
    boundary = full[30].changed_at
    since = list(r.campaign_delivery("c-1", changed_since=boundary))
    for cut in [0, 10, 50, len(full) - 2]:
        resumed = list(r.campaign_delivery("c-1", after=full[cut].cursor))
        assert resumed == full[cut + 1 :]
    # A cursor combined with changed_since: whichever bound is later wins.
    assert list(r.campaign_delivery("c-1", changed_since=boundary, after=full[5].cursor)) == since
    assert list(r.campaign_delivery("c-1", changed_since=boundary, after=since[3].cursor)) == since[4:]


def test_campaign_delivery_adds_the_asked_for_fields(
    recipients: dict[str, tuple[str, datetime, str]],
) -> None:
    r = reader()
    got = list(r.campaign_delivery("c-1", field_ids=["1", "2", "99"]))
    assert [g.contact_id for g in got] == [row["contact_id"] for row in expected_delivery(recipients)]
    for row in got:
        first = f"N{row.contact_id}" if int(row.contact_id) % 2 else None
        assert row.fields == {"1": first, "2": None, "99": None}


def test_campaign_delivery_rejects_naive_times(aws_stack: Settings) -> None:
    with pytest.raises(ValidationFailed, match="changed_since"):
        reader().campaign_delivery("c-1", changed_since=datetime(2025, 1, 1))
    with pytest.raises(ValidationFailed, match="after"):
        reader().campaign_delivery("c-1", after=(datetime(2025, 1, 1), "5"))


# ---------------------------------------------------------------- contact_data
def test_contact_data_has_every_kind_in_time_order(send: list[EventRecord], aws_stack: Settings) -> None:
    email = email_of("5")
    s3 = boto3.client("s3")
    big_mime = "From: news@example.com\r\nSubject: Big\r\n\r\n" + "x" * 50_000
    s3.put_object(Bucket=aws_stack.data_bucket, Key="mime/m-2", Body=big_mime.encode())
    seed = Seed(aws_stack, TENANT)
    seed.records(
        [
            MessageRecord(
                message_id="m-1",
                stat_id="981",
                contact_id="5",
                email=email,
                sent_at=T0 + timedelta(days=1),
                mime="B",
            ),
            MessageRecord(message_id="m-0", stat_id="982", contact_id="5", email=email, sent_at=T0, mime="A"),
            MessageRecord(
                message_id="m-x", stat_id="981", contact_id="51", email=email_of("51"), sent_at=T0, mime="X"
            ),
            SurveyResponseRecord(
                response_id="r-2", survey_id="s", email=email, at=T0 + timedelta(hours=2), answers={"q": "no"}
            ),
            SurveyResponseRecord(
                response_id="r-1", survey_id="s", email=email, at=T0, answers={"q1": "yes", "n": 3}
            ),
        ]
    )
    item = next(
        seed.items(
            MessageRecord(
                message_id="m-2",
                stat_id="981",
                contact_id="5",
                email=email,
                sent_at=T0 + timedelta(days=2),
                mime="-",
            )
        )
    )
    del item["mime"]
    seed.put([{**item, "mime_s3_key": "mime/m-2"}])

    data = reader().contact_data("  User5@Example.com ")
    assert data.email == email
    messages = [(m.message_id, m.mime) for m in data.messages]
    assert messages == [("m-0", "A"), ("m-1", "B"), ("m-2", big_mime)]
    everyone = [e for e in activity_events("981") + activity_events("982", seed=8) if e.contact_id == "5"]
    for kind, got in (("open", data.opens), ("click", data.clicks)):
        expected = sorted((iso_ms(e.at), e.event_id) for e in everyone if e.type.value == kind)
        rows = list(got)
        assert [(iso_ms(r.at), r.event_id) for r in rows] == expected
        assert {r.email for r in rows} <= {email}
        assert {r.type for r in rows} <= {kind}
    assert [(r.response_id, r.answers) for r in data.survey_responses] == [
        ("r-1", {"q1": "yes", "n": 3}),
        ("r-2", {"q": "no"}),
    ]


def test_contact_data_rejects_a_non_address(aws_stack: Settings) -> None:
    with pytest.raises(ValidationFailed, match="email"):
        reader().contact_data("not an address")


# ---------------------------------------------------------------- tracking listing
def expected_tracking(
    events: list[EventRecord], kind: str, since: datetime | None = None
) -> list[tuple[str, str]]:
    chosen = [e for e in events if e.type.value == kind and (since is None or e.at >= since)]
    return sorted(((iso_ms(e.at), e.event_id) for e in chosen), reverse=True)


def all_pages(
    r: MarketingReader, kind: str, limit: int, since: datetime | None = None
) -> list[list[tuple[str, str]]]:
    pages = []
    cursor = None
    while True:
        page = r.tracking_page("c-1", kind, created_since=since, limit=limit, cursor=cursor)
        pages.append([(iso_ms(i.at), i.event_id) for i in page.items])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


@pytest.fixture
def campaign_events(send: list[EventRecord]) -> list[EventRecord]:
    """Both sends of campaign c-1: the listing is per campaign."""
    return activity_events("981") + activity_events("982", seed=8)


def assert_pages_concatenate(
    pages: list[list[tuple[str, str]]], expected: list[tuple[str, str]], limit: int
) -> None:
    assert [row for page in pages for row in page] == expected
    assert all(len(page) == limit for page in pages[:-1])
    assert 0 < len(pages[-1]) <= limit  # never a cursor that leads to an empty page
    assert len(pages) == -(-len(expected) // limit)


@pytest.mark.parametrize("limit", [20, 500])
@pytest.mark.parametrize("kind", ["open", "click"])
def test_tracking_pages_concatenate_to_the_newest_first_list(
    campaign_events: list[EventRecord], limit: int, kind: str
) -> None:
    expected = expected_tracking(campaign_events, kind)
    assert len(expected) > 50
    assert_pages_concatenate(all_pages(reader(), kind, limit), expected, limit)


@pytest.mark.parametrize("limit", [1, 2, 3, 4])
def test_tracking_small_pages_with_simultaneous_events(aws_stack: Settings, limit: int) -> None:
    """Many events in the same millisecond on different shards: ties go by event id."""
    seed = Seed(aws_stack, TENANT)
    seed.records([SendRecord(stat_id="s1", campaign_id="c-1", sent_at=T0)])
    events = [
        EventRecord(
            event_id=f"ev{n:02d}",
            type=EventType.OPEN,
            stat_id="s1",
            contact_id=str(n % 9),
            email=email_of(str(n % 9)),
            at=T0 + timedelta(seconds=n // 4),
        )
        for n in range(23)
    ]
    seed.records(events)
    assert len({keys.shard_of(e.contact_id) for e in events}) > 4
    assert_pages_concatenate(all_pages(reader(), "open", limit), expected_tracking(events, "open"), limit)


def test_tracking_page_items_and_created_since(campaign_events: list[EventRecord]) -> None:
    since = WINDOW_START  # an open of contact 5 is exactly at it
    pages = all_pages(reader(), "open", 40, since)
    flat = [row for page in pages for row in page]
    assert flat == expected_tracking(campaign_events, "open", since)
    assert flat[-1][0] == iso_ms(since)
    page = reader().tracking_page("c-1", "click", limit=2)
    newest = max((e for e in campaign_events if e.type == EventType.CLICK), key=lambda e: (e.at, e.event_id))
    assert page.items[0].model_dump(mode="json") == {
        "event_id": newest.event_id,
        "campaign_id": "c-1",
        "stat_id": newest.stat_id,
        "contact_id": newest.contact_id,
        "email": newest.email,
        "at": iso_ms(newest.at),
        "url": newest.url,
        "ip": newest.ip,
        "user_agent": newest.user_agent,
    }


def test_tracking_page_exact_multiple_ends_without_a_cursor(aws_stack: Settings) -> None:
    seed = Seed(aws_stack, TENANT)
    seed.records([SendRecord(stat_id="9", campaign_id="c-9", sent_at=T0)])
    seed.records(
        EventRecord(
            event_id=f"o{n}",
            type=EventType.OPEN,
            stat_id="9",
            contact_id=str(n),
            email=email_of(str(n)),
            at=T0 + timedelta(seconds=n),
        )
        for n in range(6)
    )
    r = reader()
    first = r.tracking_page("c-9", "open", limit=3)
    assert [i.event_id for i in first.items] == ["o5", "o4", "o3"]
    assert first.next_cursor is not None
    second = r.tracking_page("c-9", "open", limit=3, cursor=first.next_cursor)
    assert [i.event_id for i in second.items] == ["o2", "o1", "o0"]
    assert second.next_cursor is None
    assert r.tracking_page("c-9", "open", limit=6).next_cursor is None
    # A created_since later than the cursor: nothing left, and no error.
    late = r.tracking_page("c-9", "open", cursor=first.next_cursor, created_since=T0 + timedelta(seconds=4))
    assert late.items == []
    assert late.next_cursor is None


@pytest.mark.parametrize(("activity", "limit", "field"), [("view", 10, "activity")])
def test_tracking_page_rejects_bad_arguments(
    aws_stack: Settings, activity: str, limit: int, field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        reader().tracking_page("c-1", activity, limit=limit)
    assert caught.value.details[0]["field"] == field


# ---------------------------------------------------------------- through the real writer
def test_every_pattern_reads_what_marketing_writer_wrote(aws_stack: Settings) -> None:
    """The same expectations, with the data written by MarketingWriter instead of `Seed`."""
    events = activity_events("981")
    contacts = segment_population(count=60)
    recipients = [  # profiles for half of the send's recipients (no segments)
        ContactRecord(contact_id=c, email=email_of(c), custom_fields={"First Name": f"N{c}"})
        for c in CONTACT_IDS[::2]
    ]
    by_id = {c.contact_id: c for c in recipients}
    email = events[0].email
    big_mime = "From: news@example.com\r\nSubject: Big\r\n\r\n" + "y" * 400_000  # goes to S3
    records: list[Any] = [
        FieldRecord(field_id="1", name="First Name"),
        CampaignRecord(campaign_id="c-1", name="Spring", subject="Hi"),
        SendRecord(stat_id="981", campaign_id="c-1", sent_at=T0),
        *contacts,
        *recipients,
        *events,
        MessageRecord(message_id="m-1", stat_id="981", contact_id="x", email=email, sent_at=T0, mime="small"),
        MessageRecord(
            message_id="m-2", stat_id="981", contact_id="x", email=email, sent_at=T0, mime=big_mime
        ),
        SurveyResponseRecord(response_id="r-1", survey_id="s", email=email, at=T0, answers={"q": 1}),
    ]
    MarketingWriter(TENANT).write(records)
    r = reader()

    assert dumped(r.campaign_activity("981")) == expected_activity(events)
    window = dumped(r.campaign_activity("981", start=WINDOW_START, end=WINDOW_END, events={"open"}))
    assert window == expected_activity(events, WINDOW_START, WINDOW_END, frozenset({"open"}))
    assert dumped(r.segment_contacts(["seg-1", "seg-2"], status="active")) == expected_contacts(
        contacts, {"seg-1", "seg-2"}, "active"
    )
    statuses = delivery_statuses(events)
    assert dumped(r.campaign_delivery("c-1")) == expected_delivery(statuses)
    fields = {row.contact_id: row.fields for row in r.campaign_delivery("c-1", field_ids=["1"])}
    assert fields == {
        c: {"1": by_id[c].custom_fields.get("First Name") if c in by_id else None} for c in statuses
    }
    data = r.contact_data(email)
    assert [(m.message_id, m.mime) for m in data.messages] == [("m-1", "small"), ("m-2", big_mime)]
    assert [o.event_id for o in data.opens] == [
        e.event_id
        for e in sorted(events, key=lambda e: (e.at, e.event_id))
        if e.email == email and e.type == EventType.OPEN
    ]
    assert [s.answers for s in data.survey_responses] == [{"q": 1}]
    assert_pages_concatenate(all_pages(r, "click", 25), expected_tracking(events, "click"), 25)
