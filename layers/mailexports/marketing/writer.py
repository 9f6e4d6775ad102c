"""Writes import records into one tenant's marketing data, in the key layout of `keys.py`.

Every write is idempotent: items are keyed by the records' own ids and carry no
import-time attributes, so writing the same records twice leaves every item as
it was. A recipient's delivery status is the latest of its delivery events
whatever order they arrive in: a conditional update keeps the newer
`status_key` (`{at}#{event_id}`).

Throughput comes from parallelism, not from bigger requests: BatchWriteItem
chunks of 25 and the status updates run on a thread pool (boto3 clients are
thread-safe), and throttling is backed off and retried, never dropped.
"""

from __future__ import annotations

import functools
import itertools
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from mailexports import aws
from mailexports.config import get_settings
from mailexports.errors import DomainError
from mailexports.marketing import keys
from mailexports.marketing.records import (
    DELIVERY_STATUS_OF,
    CampaignRecord,
    ContactRecord,
    EventRecord,
    EventType,
    FieldRecord,
    ImportRecord,
    MessageRecord,
    SendRecord,
    SurveyResponseRecord,
    TagRecord,
    iso_ms,
)

# Sort keys of single-item partitions that keys.py names only in its table.
MESSAGE_SK = "MSG"
SURVEY_SK = "RESPONSE"

# A message whose item would outgrow this keeps its MIME in S3 (DynamoDB's item limit is 400 KB).
MIME_INLINE_LIMIT = 350_000
# Largest item written; a little under 400 KB because the size here is DynamoDB's formula, estimated.
MAX_ITEM_BYTES = 400_000
MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024
# DynamoDB numbers: 38 significant digits, magnitudes 1e-130 to 1e126.
_MAX_NUMBER_DIGITS = 38

BATCH_WRITE_LIMIT = 25
BATCH_GET_LIMIT = 100
# Records handled together: contacts read, events collapsed and requests issued per chunk.
CHUNK_RECORDS = 2000

_THROTTLING = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
_TRACKED_ACTIVITY = {EventType.OPEN: "open", EventType.CLICK: "click"}

Item = dict[str, Any]
_T = TypeVar("_T")


class UnknownSend(DomainError):
    """An event or message names a `stat_id` that no send record introduced."""

    status = 422
    code = "unknown_send"


class UnstorableRecord(DomainError):
    """A record that DynamoDB cannot hold (a number out of range, an item over 400 KB)."""

    status = 422
    code = "unstorable_record"


class WriteFailed(DomainError):
    """DynamoDB kept refusing (throttling) past every retry: nothing was dropped silently."""

    status = 503
    code = "write_failed"


@dataclass
class WriteStats:
    """What one or more `write` calls did."""

    records: Counter[str] = field(default_factory=Counter)  # records received, per kind
    items_written: int = 0  # put requests (the same item written twice counts once per write)
    items_deleted: int = 0  # segment memberships a re-imported contact left
    mime_objects: int = 0  # MIME bodies kept in S3 instead of the item
    status_updates: int = 0  # recipient statuses changed
    status_unchanged: int = 0  # delivery events older than (or equal to) the stored status
    retries: int = 0  # requests repeated after throttling or unprocessed items

    @property
    def total_records(self) -> int:
        return sum(self.records.values())

    def add(self, other: WriteStats) -> WriteStats:
        self.records.update(other.records)
        self.items_written += other.items_written
        self.items_deleted += other.items_deleted
        self.mime_objects += other.mime_objects
        self.status_updates += other.status_updates
        self.status_unchanged += other.status_unchanged
        self.retries += other.retries
        return self


# ---------------------------------------------------------------- items


def _drop_none(**attributes: Any) -> Item:
    return {name: value for name, value in attributes.items() if value is not None}


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def field_item(tenant_id: str, record: FieldRecord) -> Item:
    return {
        "pk": keys.fields_pk(tenant_id),
        "sk": keys.field_sk(record.field_id),
        "field_id": record.field_id,
        "name": record.name,
    }


def tag_item(tenant_id: str, record: TagRecord) -> Item:
    return {"pk": keys.tags_pk(tenant_id), "sk": keys.tag_sk(record.tag), "tag": record.tag}


def contact_item(tenant_id: str, record: ContactRecord) -> Item:
    return _drop_none(
        pk=keys.contact_pk(tenant_id, record.contact_id),
        sk=keys.PROFILE,
        contact_id=record.contact_id,
        email=record.email,
        status=record.status.value,
        created_at=iso_ms(record.created_at) if record.created_at else None,
        custom_fields=record.custom_fields,
        tags=_unique(record.tags),
        segments=_unique(record.segments),
    )


def segment_member_key(tenant_id: str, segment_id: str, contact_id: str) -> Item:
    return {
        "pk": keys.segment_pk(tenant_id, segment_id, keys.shard_of(contact_id)),
        "sk": keys.member_sk(contact_id),
    }


def segment_member_items(tenant_id: str, record: ContactRecord) -> list[Item]:
    return [
        {**segment_member_key(tenant_id, segment, record.contact_id), "contact_id": record.contact_id}
        for segment in _unique(record.segments)
    ]


def campaign_item(tenant_id: str, record: CampaignRecord) -> Item:
    return {
        "pk": keys.campaign_pk(tenant_id, record.campaign_id),
        "sk": keys.META,
        "campaign_id": record.campaign_id,
        "name": record.name,
        "subject": record.subject,
    }


def send_items(tenant_id: str, record: SendRecord) -> list[Item]:
    """The send under its campaign (a campaign's sends) and under its stat id (stat -> campaign)."""
    attributes = {
        "stat_id": record.stat_id,
        "campaign_id": record.campaign_id,
        "sent_at": iso_ms(record.sent_at),
    }
    return [
        {
            "pk": keys.campaign_pk(tenant_id, record.campaign_id),
            "sk": keys.send_sk(record.stat_id),
            **attributes,
        },
        {"pk": keys.stat_pk(tenant_id, record.stat_id), "sk": keys.META, **attributes},
    ]


def message_item(tenant_id: str, record: MessageRecord, campaign_id: str) -> Item:
    """The message with its MIME inline; `MarketingWriter` swaps in `mime_s3_key` when too big."""
    return {
        "pk": keys.message_pk(tenant_id, record.message_id),
        "sk": MESSAGE_SK,
        "message_id": record.message_id,
        "stat_id": record.stat_id,
        "campaign_id": campaign_id,
        "contact_id": record.contact_id,
        "email": record.email,
        "sent_at": iso_ms(record.sent_at),
        "mime": record.mime,
        "gsi2pk": keys.email_gsi2pk(tenant_id, record.email),
        "gsi2sk": keys.email_gsi2sk("MSG", record.sent_at, record.message_id),
    }


def mime_object_key(tenant_id: str, message_id: str) -> str:
    return f"{tenant_id}/mime/{message_id}.eml"


def event_item(tenant_id: str, record: EventRecord, campaign_id: str) -> Item:
    shard = keys.shard_of(record.contact_id)
    item = _drop_none(
        pk=keys.events_pk(tenant_id, record.stat_id, shard),
        sk=keys.event_sk(record.contact_id, record.at, record.event_id),
        event_id=record.event_id,
        type=record.type.value,
        stat_id=record.stat_id,
        campaign_id=campaign_id,
        contact_id=record.contact_id,
        email=record.email,
        at=iso_ms(record.at),
        ip=record.ip,
        user_agent=record.user_agent,
        url=record.url,
    )
    activity = _TRACKED_ACTIVITY.get(record.type)
    if activity is not None:
        item["gsi1pk"] = keys.tracking_gsi1pk(tenant_id, campaign_id, activity, shard)
        item["gsi1sk"] = keys.tracking_gsi1sk(record.at, record.event_id)
        item["gsi2pk"] = keys.email_gsi2pk(tenant_id, record.email)
        item["gsi2sk"] = keys.email_gsi2sk(activity.upper(), record.at, record.event_id)
    return item


def survey_item(tenant_id: str, record: SurveyResponseRecord) -> Item:
    return {
        "pk": keys.survey_pk(tenant_id, record.response_id),
        "sk": SURVEY_SK,
        "response_id": record.response_id,
        "survey_id": record.survey_id,
        "email": record.email,
        "at": iso_ms(record.at),
        "answers": record.answers,
        "gsi2pk": keys.email_gsi2pk(tenant_id, record.email),
        "gsi2sk": keys.email_gsi2sk("SURVEY", record.at, record.response_id),
    }


def status_key(record: EventRecord) -> str:
    """Orders a recipient's delivery events: time first, the event id breaks ties."""
    return f"{iso_ms(record.at)}#{record.event_id}"


def recipient_item(tenant_id: str, campaign_id: str, record: EventRecord) -> Item:
    """A campaign recipient's delivery status as of this (delivery-kind) event."""
    pk = keys.recipients_pk(tenant_id, campaign_id, keys.shard_of(record.contact_id))
    return {
        "pk": pk,
        "sk": keys.member_sk(record.contact_id),
        "contact_id": record.contact_id,
        "email": record.email,
        "status": DELIVERY_STATUS_OF[record.type],
        "changed_at": iso_ms(record.at),
        "status_key": status_key(record),
        "gsi3pk": pk,
        "gsi3sk": keys.status_gsi3sk(record.at, record.contact_id),
    }


def items_of(tenant_id: str, record: ImportRecord, campaign_id: str = "") -> list[Item]:
    """The items a record puts (recipient status and left segments are handled by the writer)."""
    match record:
        case FieldRecord():
            return [field_item(tenant_id, record)]
        case TagRecord():
            return [tag_item(tenant_id, record)]
        case ContactRecord():
            return [contact_item(tenant_id, record), *segment_member_items(tenant_id, record)]
        case CampaignRecord():
            return [campaign_item(tenant_id, record)]
        case SendRecord():
            return send_items(tenant_id, record)
        case MessageRecord():
            return [message_item(tenant_id, record, campaign_id)]
        case EventRecord():
            return [event_item(tenant_id, record, campaign_id)]
        case SurveyResponseRecord():
            return [survey_item(tenant_id, record)]


# ---------------------------------------------------------------- serialization


def _number(value: int | float) -> tuple[dict[str, Any], int]:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value} is not a number DynamoDB can store")
    number = Decimal(repr(value) if isinstance(value, float) else value)
    # Count significant digits by hand: Decimal.normalize() would round to the context's 28.
    digits = len("".join(map(str, number.as_tuple().digits)).strip("0")) or 1
    if digits > _MAX_NUMBER_DIGITS or (number and not -130 <= number.adjusted() <= 125):
        raise ValueError(f"{value} has more precision or magnitude than DynamoDB numbers (38 digits)")
    return {"N": str(value) if isinstance(value, int) else repr(value)}, digits // 2 + 2


def to_attribute_value(value: Any) -> tuple[dict[str, Any], int]:
    """A Python/JSON value as a DynamoDB AttributeValue, with its size by DynamoDB's formula."""
    if isinstance(value, str):
        return {"S": value}, len(value.encode())
    if isinstance(value, bool):  # before int: bool is an int
        return {"BOOL": value}, 1
    if isinstance(value, int | float):
        return _number(value)
    if value is None:
        return {"NULL": True}, 1
    if isinstance(value, Mapping):
        entries, size = {}, 3
        for name, inner in value.items():
            entries[str(name)], inner_size = to_attribute_value(inner)
            size += len(str(name).encode()) + inner_size + 1
        return {"M": entries}, size
    if isinstance(value, list | tuple):
        elements, size = [], 3
        for inner in value:
            element, inner_size = to_attribute_value(inner)
            elements.append(element)
            size += inner_size + 1
        return {"L": elements}, size
    raise ValueError(f"cannot store a {type(value).__name__}")


def serialize_item(item: Item) -> tuple[dict[str, Any], int]:
    """The item in DynamoDB's wire form and its size; `ValueError` names an attribute it cannot hold."""
    wire, total = {}, 0
    for name, value in item.items():
        try:
            wire[name], size = to_attribute_value(value)
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None
        total += len(name.encode()) + size
    for name in ("sk", "gsi1sk", "gsi2sk", "gsi3sk"):
        if name in item and len(item[name].encode()) > MAX_SORT_KEY_BYTES:
            raise ValueError(f"ids too long: the {name} key would exceed {MAX_SORT_KEY_BYTES} bytes")
    for name in ("pk", "gsi1pk", "gsi2pk", "gsi3pk"):
        if name in item and len(item[name].encode()) > MAX_PARTITION_KEY_BYTES:
            raise ValueError(f"ids too long: the {name} key would exceed {MAX_PARTITION_KEY_BYTES} bytes")
    return wire, total


def record_problem(tenant_id: str, record: ImportRecord) -> str | None:
    """Why DynamoDB could not hold this record, or None: lets a loader reject it before writing anything.

    A message's MIME never counts (a big one goes to S3). Campaign ids only appear in
    partition keys, whose 2048 bytes no id of 256 characters can fill, so a stand-in is used.
    """
    for item in items_of(tenant_id, record, campaign_id="-"):
        if isinstance(record, MessageRecord):
            item = {**item, "mime_s3_key": mime_object_key(tenant_id, record.message_id)}
            del item["mime"]
        try:
            _, size = serialize_item(item)
        except ValueError as error:
            return str(error)
        if size > MAX_ITEM_BYTES:
            return f"the {record.kind} is {size:,} bytes stored; DynamoDB holds at most 400 KB per item"
    return None


# ---------------------------------------------------------------- the writer


@dataclass
class _Chunk:
    """One chunk's requests, keyed by (pk, sk) so a key appears once (last record wins)."""

    requests: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    mime: dict[str, str] = field(default_factory=dict)  # S3 key -> MIME
    latest_status: dict[tuple[str, str], EventRecord] = field(default_factory=dict)
    stats: WriteStats = field(default_factory=WriteStats)

    def put(self, item: Item) -> None:
        wire, size = serialize_item(item)
        if size > MAX_ITEM_BYTES:
            raise UnstorableRecord(f"item {item['pk']} {item['sk']} is {size:,} bytes; the limit is 400 KB")
        self.requests[(item["pk"], item["sk"])] = {"PutRequest": {"Item": wire}}

    def delete(self, key: Item) -> None:
        self.requests[(key["pk"], key["sk"])] = {
            "DeleteRequest": {"Key": {"pk": {"S": key["pk"]}, "sk": {"S": key["sk"]}}}
        }


class MarketingWriter:
    """Writes one tenant's import records to the marketing table (and big MIME bodies to S3)."""

    def __init__(
        self,
        tenant_id: str,
        *,
        table_name: str | None = None,
        data_bucket: str | None = None,
        max_workers: int = 8,
        chunk_records: int = CHUNK_RECORDS,
        max_attempts: int = 15,
    ) -> None:
        if not tenant_id:
            raise ValueError("tenant_id must not be empty")
        if table_name is None or data_bucket is None:
            settings = get_settings()
            table_name = table_name or settings.marketing_table
            data_bucket = data_bucket or settings.data_bucket
        self.tenant_id = tenant_id
        self.table_name = table_name
        self.data_bucket = data_bucket
        self._max_workers = max_workers
        self._chunk_records = chunk_records
        self._max_attempts = max_attempts
        self._client = aws.dynamodb()
        self._s3 = aws.s3()
        self._campaign_of_stat: dict[str, str] = {}

    # ---- stat -> campaign

    def remember_sends(self, campaign_of_stat: Mapping[str, str]) -> None:
        """Teach the writer sends it has not written yet (a loader's first pass found them)."""
        self._campaign_of_stat.update(campaign_of_stat)

    def campaign_of(self, stat_id: str) -> str | None:
        """The campaign of a send, from what this writer has seen, else the stored send."""
        campaign_id = self._campaign_of_stat.get(stat_id)
        if campaign_id is None:
            response = self._retrying(
                lambda: self._client.get_item(
                    TableName=self.table_name,
                    Key={"pk": {"S": keys.stat_pk(self.tenant_id, stat_id)}, "sk": {"S": keys.META}},
                    ProjectionExpression="campaign_id",
                    ConsistentRead=True,
                )
            )
            item = response.get("Item")
            if item is None:
                return None
            campaign_id = item["campaign_id"]["S"]
            self._campaign_of_stat[stat_id] = campaign_id
        return campaign_id

    # ---- writing

    def write(self, records: Iterable[ImportRecord]) -> WriteStats:
        """Write the records (any number: they are taken `chunk_records` at a time); idempotent.

        Raises `UnknownSend` before writing a chunk in which an event or message names a
        stat id with no send, and `UnstorableRecord` for a record DynamoDB cannot hold.
        """
        stats = WriteStats()
        with ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="marketing-writer") as pool:
            for batch in itertools.batched(records, self._chunk_records, strict=False):
                stats.add(self._write_chunk(batch, pool))
        return stats

    def _write_chunk(self, records: Sequence[ImportRecord], pool: ThreadPoolExecutor) -> WriteStats:
        chunk = _Chunk()
        chunk.stats.records.update(record.kind for record in records)
        sent_here = {r.stat_id: r.campaign_id for r in records if isinstance(r, SendRecord)}
        campaigns = self._resolve_campaigns(records, sent_here)
        contacts = {r.contact_id: r for r in records if isinstance(r, ContactRecord)}
        left = self._segments_left(list(contacts.values()), pool)
        for record in records:
            if isinstance(record, ContactRecord) and contacts[record.contact_id] is not record:
                continue  # a later line of the chunk re-imports this contact: only the last counts
            self._plan(record, campaigns, chunk)
        for contact_id, segments in left.items():
            for segment in segments:
                chunk.delete(segment_member_key(self.tenant_id, segment, contact_id))
                chunk.stats.items_deleted += 1

        # MIME first, so a stored pointer never names a missing object.
        self._wait(pool.submit(self._put_mime, key, mime) for key, mime in chunk.mime.items())
        chunk.stats.mime_objects += len(chunk.mime)

        requests = list(chunk.requests.values())
        chunk.stats.items_written += sum("PutRequest" in r for r in requests)
        writes = [
            pool.submit(self._batch_write, list(b))
            for b in itertools.batched(requests, BATCH_WRITE_LIMIT, strict=False)
        ]
        updates = [
            pool.submit(self._update_status, campaign_id, event)
            for (campaign_id, _), event in chunk.latest_status.items()
        ]
        chunk.stats.retries += sum(self._wait(writes))
        for changed, retries in self._wait(updates):
            chunk.stats.retries += retries
            if changed:
                chunk.stats.status_updates += 1
            else:
                chunk.stats.status_unchanged += 1
        self._campaign_of_stat.update(sent_here)  # only now: those sends are stored
        return chunk.stats

    def _resolve_campaigns(
        self, records: Sequence[ImportRecord], sent_here: Mapping[str, str]
    ) -> dict[str, str]:
        stat_ids = {r.stat_id for r in records if isinstance(r, EventRecord | MessageRecord)}
        campaigns, unknown = {}, []
        for stat_id in sorted(stat_ids):
            campaign_id = sent_here.get(stat_id) or self.campaign_of(stat_id)
            if campaign_id is None:
                unknown.append(stat_id)
            else:
                campaigns[stat_id] = campaign_id
        if unknown:
            raise UnknownSend(
                f"no send record for stat_id {', '.join(unknown)}: import its send line first",
                details=[{"field": "stat_id", "value": stat_id} for stat_id in unknown],
            )
        return campaigns

    def _plan(self, record: ImportRecord, campaigns: Mapping[str, str], chunk: _Chunk) -> None:
        campaign_id = (
            campaigns.get(record.stat_id, "") if isinstance(record, EventRecord | MessageRecord) else ""
        )
        try:
            items = items_of(self.tenant_id, record, campaign_id)
            if isinstance(record, MessageRecord):
                items = [self._placed_mime(items[0], record, chunk)]
            for item in items:
                chunk.put(item)
        except ValueError as error:
            raise UnstorableRecord(f"{record.kind} cannot be stored: {error}") from None
        if isinstance(record, EventRecord) and record.type in DELIVERY_STATUS_OF:
            # Only the latest delivery event per recipient in the chunk needs a request.
            slot = (campaign_id, record.contact_id)
            current = chunk.latest_status.get(slot)
            if current is None or status_key(record) > status_key(current):
                chunk.latest_status[slot] = record

    def _placed_mime(self, item: Item, record: MessageRecord, chunk: _Chunk) -> Item:
        _, size = serialize_item(item)
        if size <= MIME_INLINE_LIMIT:
            return item
        object_key = mime_object_key(self.tenant_id, record.message_id)
        chunk.mime[object_key] = record.mime
        outside = {name: value for name, value in item.items() if name != "mime"}
        outside["mime_s3_key"] = object_key
        return outside

    def _segments_left(self, contacts: list[ContactRecord], pool: ThreadPoolExecutor) -> dict[str, set[str]]:
        """Segments each re-imported contact belonged to and no longer does (stored minus new)."""
        batches = itertools.batched(contacts, BATCH_GET_LIMIT, strict=False)
        stored: dict[str, set[str]] = {}
        for found in self._wait(pool.submit(self._stored_segments, list(b)) for b in batches):
            stored.update(found)
        left = {}
        for contact in contacts:
            gone = stored.get(contact.contact_id, set()) - set(contact.segments)
            if gone:
                left[contact.contact_id] = gone
        return left

    def _stored_segments(self, contacts: list[ContactRecord]) -> dict[str, set[str]]:
        pending: Any = {
            self.table_name: {
                "Keys": [
                    {"pk": {"S": keys.contact_pk(self.tenant_id, c.contact_id)}, "sk": {"S": keys.PROFILE}}
                    for c in contacts
                ],
                "ProjectionExpression": "#id, #segments",
                "ExpressionAttributeNames": {"#id": "contact_id", "#segments": "segments"},
                # A contact written by the previous chunk must be seen.
                "ConsistentRead": True,
            }
        }
        stored: dict[str, set[str]] = {}
        attempt = 0
        while pending:
            response = self._retrying(functools.partial(self._client.batch_get_item, RequestItems=pending))
            for item in response.get("Responses", {}).get(self.table_name, []):
                segments = item.get("segments", {}).get("L", [])
                stored[item["contact_id"]["S"]] = {s["S"] for s in segments}
            pending = response.get("UnprocessedKeys") or None
            if pending:
                attempt = self._back_off(attempt, "BatchGetItem kept leaving keys unprocessed")
        return stored

    def _put_mime(self, object_key: str, mime: str) -> None:
        self._s3.put_object(
            Bucket=self.data_bucket, Key=object_key, Body=mime.encode(), ContentType="message/rfc822"
        )

    def _batch_write(self, requests: list[dict[str, Any]]) -> int:
        """Write up to 25 requests, re-sending unprocessed ones with backoff; returns the retries."""
        pending: Any = {self.table_name: requests}
        attempt = 0
        while pending:
            try:
                response = self._client.batch_write_item(RequestItems=pending)
            except ClientError as error:
                if error.response["Error"]["Code"] not in _THROTTLING:
                    raise
                attempt = self._back_off(attempt, "DynamoDB kept throttling BatchWriteItem")
                continue
            pending = response.get("UnprocessedItems") or None
            if pending:
                attempt = self._back_off(attempt, "BatchWriteItem kept leaving items unprocessed")
        return attempt

    def _update_status(self, campaign_id: str, event: EventRecord) -> tuple[bool, int]:
        """Make this event the recipient's status unless a later one is stored: (changed, retries).

        A conditional PutItem rather than UpdateItem: the item is exactly these attributes,
        the cost in DynamoDB is the same, and moto (local stack, tests) runs it several times faster.
        """
        wire, _ = serialize_item(recipient_item(self.tenant_id, campaign_id, event))
        attempt = 0
        while True:
            try:
                self._client.put_item(
                    TableName=self.table_name,
                    Item=wire,
                    ConditionExpression="attribute_not_exists(#key) OR #key < :key",
                    ExpressionAttributeNames={"#key": "status_key"},
                    ExpressionAttributeValues={":key": wire["status_key"]},
                )
                return True, attempt
            except ClientError as error:
                code = error.response["Error"]["Code"]
                if code == "ConditionalCheckFailedException":
                    return False, attempt  # a later (or this same) event is already stored
                if code not in _THROTTLING:
                    raise
                attempt = self._back_off(attempt, "DynamoDB kept throttling PutItem")

    # ---- retries

    def _retrying(self, call: Callable[[], _T]) -> _T:
        attempt = 0
        while True:
            try:
                return call()
            except ClientError as error:
                if error.response["Error"]["Code"] not in _THROTTLING:
                    raise
                attempt = self._back_off(attempt, "DynamoDB kept throttling")

    def _back_off(self, attempt: int, failure: str) -> int:
        """Sleep before retry `attempt + 1` (exponential, full jitter); give up loudly at the limit."""
        if attempt + 1 >= self._max_attempts:
            raise WriteFailed(f"{failure} after {self._max_attempts} attempts; nothing was skipped silently")
        time.sleep(random.uniform(0, min(5.0, 0.05 * 2**attempt)))
        return attempt + 1

    @staticmethod
    def _wait(futures: Iterable[Future[_T]]) -> list[_T]:
        """Results in submission order; the first failure propagates (after every request ended)."""
        futures = list(futures)
        errors = [f.exception() for f in futures]
        for error in errors:
            if error is not None:
                raise error
        return [f.result() for f in futures]
