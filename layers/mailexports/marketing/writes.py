"""What a write is made of: one chunk's planned requests, the stats, the errors (from
`mailexports.errors`, where every domain error lives, so the status tables reach them cheaply)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from mailexports.errors import UnknownSend, UnstorableRecord, WriteFailed
from mailexports.marketing import codec
from mailexports.marketing.batches import BatchIncomplete
from mailexports.marketing.codec import MAX_ITEM_BYTES, Item, serialize_item

if TYPE_CHECKING:  # the readers share these helpers and never build the import models
    from mailexports.marketing.records import EventRecord

__all__ = ["Chunk", "UnknownSend", "UnstorableRecord", "WriteFailed", "WriteStats", "gives_up"]

# What botocore reports once its own retries of a throttled request are spent.
_THROTTLING = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)


@dataclass
class WriteStats:
    """What one or more `write` calls did."""

    records: Counter[str] = field(default_factory=Counter)  # records received, per kind
    items_written: int = 0  # put requests (the same item written twice counts once per write)
    items_deleted: int = 0  # segment memberships a re-imported contact left
    mime_objects: int = 0  # MIME bodies kept in S3 instead of the item
    status_updates: int = 0  # recipient statuses changed
    status_unchanged: int = 0  # delivery events older than (or equal to) the stored status
    # Opens and clicks the existence check found stored (re-imported, retried): not rewritten,
    # arrival kept. Two writers racing on a new one both find it absent and both count it written.
    events_already_stored: int = 0
    retries: int = 0  # batches re-sent for their unprocessed items (botocore's retries are its own)

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
        self.events_already_stored += other.events_already_stored
        self.retries += other.retries
        return self


@dataclass
class Chunk:
    """One chunk's requests, keyed by (pk, sk) so a key appears once (last record wins)."""

    requests: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    mime: dict[str, str] = field(default_factory=dict)  # S3 key -> MIME
    latest_status: dict[tuple[str, str], EventRecord] = field(default_factory=dict)
    events: dict[tuple[str, str], Item] = field(default_factory=dict)  # put only if not stored yet
    stats: WriteStats = field(default_factory=WriteStats)

    def put(self, item: Item) -> None:
        wire, size = serialize_item(item)
        if size > MAX_ITEM_BYTES:
            raise UnstorableRecord(f"item {item['pk']} {item['sk']} is {size:,} bytes; the limit is 400 KB")
        self.requests[(item["pk"], item["sk"])] = {"PutRequest": {"Item": wire}}

    def put_event(self, item: Item) -> None:
        _, size = serialize_item(item)
        if size > MAX_ITEM_BYTES:
            raise UnstorableRecord(f"item {item['pk']} {item['sk']} is {size:,} bytes; the limit is 400 KB")
        self.events[(item["pk"], item["sk"])] = item

    def delete(self, key: Item) -> None:
        self.requests[(key["pk"], key["sk"])] = {"DeleteRequest": {"Key": codec.key(key["pk"], key["sk"])}}


@contextmanager
def gives_up(request: str) -> Iterator[None]:
    """DynamoDB refusing past botocore's retries (or `batches.py`'s re-sends) as WriteFailed."""
    try:
        yield
    except BatchIncomplete as error:
        raise WriteFailed(f"{error}; nothing was skipped silently") from None
    except ClientError as error:
        if error.response["Error"]["Code"] not in _THROTTLING:
            raise
        raise WriteFailed(
            f"DynamoDB kept throttling {request} past every retry; nothing was skipped silently"
        ) from None
