"""Writes import records into one tenant's marketing data (items.py builds them).

Every write is idempotent: items are keyed by the records' own ids, so writing
the same records twice leaves every item as it was. The one import-time
attribute, the arrival stamp of an open, click or status change (`arrivals.py`),
is written once: opens and clicks already stored are skipped (one consistent
BatchGetItem per 100), the new ones go in by BatchWriteItem with one stamp per
chunk; other events by BatchWriteItem, unstamped (their arrival is the status
change they make). A recipient's delivery status is the latest of its delivery events
whatever order they arrive in: a conditional update keeps the newer
`status_key` (`{at}#{event_id}`).

Throughput comes from parallelism, not from bigger requests: BatchWriteItem
chunks of 25 and the status updates run on a thread pool (boto3 clients are
thread-safe). Throttled requests are retried by botocore (its retry mode is set
once in `mailexports.aws`), unprocessed batch items by `batches.py`; what is still
refused after that fails the write loudly, never dropped.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Final, TypeVar

from mailexports import aws
from mailexports.conditional_writes import condition_held
from mailexports.config import get_settings
from mailexports.marketing import arrivals, codec, keys
from mailexports.marketing.batches import (
    BATCH_GET_KEYS,
    BATCH_WRITE_ITEMS,
    batch_get,
    batch_write,
)
from mailexports.marketing.codec import Item, serialize_item
from mailexports.marketing.items import (
    MIME_INLINE_LIMIT,
    items_of,
    mime_object_key,
    recipient_item,
    record_problem,
    segment_member_key,
    status_key,
)
from mailexports.marketing.records import (
    DELIVERY_STATUS_OF,
    ContactRecord,
    EventRecord,
    ImportRecord,
    MessageRecord,
    SendRecord,
)
from mailexports.marketing.writes import (
    Chunk,
    UnknownSend,
    UnstorableRecord,
    WriteFailed,
    WriteStats,
    gives_up,
)

__all__ = [
    "MIME_INLINE_LIMIT",
    "MarketingWriter",
    "UnknownSend",
    "UnstorableRecord",
    "WriteFailed",
    "WriteStats",
    "record_problem",
]

# Records handled together: contacts read, events collapsed and requests issued per chunk.
CHUNK_RECORDS: Final = 2000
# Requests in flight at once: each mostly waits on DynamoDB's latency, which threads overlap.
# Measured by bench_import against DynamoDB's latency (README, "Import vs raw batch writes"):
# in the region 8, 16 and 32 are alike, the client's own CPU (botocore) being the limit; five
# times farther (`mailexports load` from outside the region) 32 writes 2.5x the rate of 8.
# More threads never push DynamoDB past that CPU limit; each is a pooled connection (<= 64).
WRITER_THREADS: Final = 32

_T = TypeVar("_T")


class MarketingWriter:
    """Writes one tenant's import records to the marketing table (and big MIME bodies to S3)."""

    def __init__(
        self,
        tenant_id: str,
        *,
        table_name: str | None = None,
        data_bucket: str | None = None,
        max_workers: int = WRITER_THREADS,
        chunk_records: int = CHUNK_RECORDS,
        max_attempts: int = 15,
        clock: arrivals.Clock | None = None,
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
        # Arrival stamps: this writer's clock (by default `arrivals.utc_now`), read as each request is sent.
        self._clock = clock or arrivals.utc_now
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
            with gives_up("GetItem"):
                response = self._client.get_item(
                    TableName=self.table_name,
                    Key=codec.key(keys.stat_pk(self.tenant_id, stat_id), keys.META),
                    ProjectionExpression="campaign_id",
                    ConsistentRead=True,
                )
            item = response.get("Item")
            if item is None:
                return None
            campaign_id = codec.required(item, "campaign_id")
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
        chunk = Chunk()
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
            for b in itertools.batched(requests, BATCH_WRITE_ITEMS, strict=False)
        ]
        updates = [
            pool.submit(self._update_status, campaign_id, event)
            for (campaign_id, _), event in chunk.latest_status.items()
        ]
        new_events = self._new_events(chunk, pool)
        writes += [
            pool.submit(self._batch_write, list(b))
            for b in itertools.batched(new_events, BATCH_WRITE_ITEMS, strict=False)
        ]
        chunk.stats.retries += sum(self._wait(writes))
        chunk.stats.items_written += len(new_events)
        chunk.stats.events_already_stored += len(chunk.events) - len(new_events)
        for changed in self._wait(updates):
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

    def _plan(self, record: ImportRecord, campaigns: Mapping[str, str], chunk: Chunk) -> None:
        campaign_id = (
            campaigns.get(record.stat_id, "") if isinstance(record, EventRecord | MessageRecord) else ""
        )
        try:
            items = items_of(self.tenant_id, record, campaign_id)
            if isinstance(record, MessageRecord):
                items = [self._placed_mime(items[0], record, chunk)]
            for item in items:
                if isinstance(record, EventRecord) and record.type in arrivals.STAMPED_EVENTS:
                    chunk.put_event(item)
                else:
                    chunk.put(item)
        except ValueError as error:
            raise UnstorableRecord(f"{record.kind} cannot be stored: {error}") from None
        if isinstance(record, EventRecord) and record.type in DELIVERY_STATUS_OF:
            # Only the latest delivery event per recipient in the chunk needs a request.
            slot = (campaign_id, record.contact_id)
            current = chunk.latest_status.get(slot)
            if current is None or status_key(record) > status_key(current):
                chunk.latest_status[slot] = record

    def _placed_mime(self, item: Item, record: MessageRecord, chunk: Chunk) -> Item:
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
        batches = itertools.batched(contacts, BATCH_GET_KEYS, strict=False)
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
        request = {
            "Keys": [
                codec.key(keys.contact_pk(self.tenant_id, c.contact_id), keys.PROFILE) for c in contacts
            ],
            "ProjectionExpression": "#id, #segments",
            "ExpressionAttributeNames": {"#id": "contact_id", "#segments": "segments"},
            # A contact written by the previous chunk must be seen.
            "ConsistentRead": True,
        }
        with gives_up("BatchGetItem"):
            items, _ = batch_get(self._client, self.table_name, request, attempts=self._max_attempts)
        return {
            codec.required(item, "contact_id"): set(codec.plain_attr(item, "segments", [])) for item in items
        }

    def _put_mime(self, object_key: str, mime: str) -> None:
        self._s3.put_object(
            Bucket=self.data_bucket, Key=object_key, Body=mime.encode(), ContentType="message/rfc822"
        )

    def _batch_write(self, requests: list[dict[str, Any]]) -> int:
        """Write up to 25 requests; returns how often unprocessed ones were re-sent."""
        with gives_up("BatchWriteItem"):
            return batch_write(self._client, self.table_name, requests, attempts=self._max_attempts)

    def _new_events(self, chunk: Chunk, pool: ThreadPoolExecutor) -> list[dict[str, Any]]:
        """Put requests for the chunk's events not stored yet, stamped with their arrival.

        The stamp is read before the existence check, never after: a writer racing another
        on the same new event then leaves a stamp taken before the other's write landed
        (`arrivals.py` says why that keeps incremental exports exact).
        """
        arrived = self._clock()
        batches = itertools.batched(chunk.events, BATCH_GET_KEYS, strict=False)
        known: set[tuple[str, str]] = set()
        for found in self._wait(
            pool.submit(arrivals.stored_keys, self._client, self.table_name, b, attempts=self._max_attempts)
            for b in batches
        ):
            known |= found
        return [
            {"PutRequest": {"Item": serialize_item(arrivals.stamp_event(item, arrived))[0]}}
            for key, item in chunk.events.items()
            if key not in known
        ]

    def _update_status(self, campaign_id: str, event: EventRecord) -> bool:
        """Make this event the recipient's status unless a later one is stored; True if it did.

        A conditional PutItem rather than UpdateItem: the item is exactly these attributes,
        the cost in DynamoDB is the same, and moto (local stack, tests) runs it several times faster.
        """
        item = arrivals.stamp_recipient(recipient_item(self.tenant_id, campaign_id, event), self._clock())
        wire, _ = serialize_item(item)

        def put() -> None:
            with gives_up("PutItem"):
                self._client.put_item(
                    TableName=self.table_name,
                    Item=wire,
                    ConditionExpression="attribute_not_exists(#key) OR #key < :key",
                    ExpressionAttributeNames={"#key": "status_key"},
                    ExpressionAttributeValues={":key": wire["status_key"]},
                )

        return condition_held(put)  # False: a later (or this same) event is already stored

    @staticmethod
    def _wait(futures: Iterable[Future[_T]]) -> list[_T]:
        """Results in submission order; the first failure propagates (after every request ended)."""
        futures = list(futures)
        errors = [f.exception() for f in futures]
        for error in errors:
            if error is not None:
                raise error
        return [f.result() for f in futures]
