"""Arrival stamps: when a record reached the service, for exact incremental exports.

An event's `at` is when it happened; its `arrived_at` is when the writer stored it,
by the writer's own clock (read once per chunk for opens and clicks). Incremental
exports (`since_task`) select by arrival, so an event that reaches us a day late,
with an old `at`, lands in the next incremental file instead of being lost behind a
window that has already been exported.

The stamp is written once per event. Events already stored are filtered out first
by one consistent BatchGetItem per 100 keys (a re-import, a retried ingest batch:
their first stamp stays, and they cost reads, not writes); the new ones go in by
BatchWriteItem, stamped with a time read *before* that check. Two writers racing
on one new event can both find it absent and both write it; the one landing last
leaves its stamp. Its check ran before the first write landed (within d1 of the
first stamp) and its own write lands within d2 of its stamp, read before that
check: so the final stamp is in place by the first stamp + d1 + d2 (plus skew s
and index lag g). An export reads at least L after its watermark, so it sees only
final stamps provided s + d1 + d2 + g < L (docs/data-model.md, "Arrival and
watermarks"). A conditional put per event would make it s + d + g, at 25 times
the requests.

A recipient status carries the stamp of the change that set it (its conditional
put only succeeds for a newer delivery event, see `MarketingWriter`).

Opens, clicks and recipient statuses get gsi4 keys: the partition key is the
item's own (sharded) partition, the sort key `{arrived_at}#...`, so a window of
arrivals is one Query per shard.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from mailexports.marketing import codec, keys
from mailexports.marketing.batches import BATCH_GET_KEYS, batch_get
from mailexports.marketing.codec import Item
from mailexports.marketing.vocabulary import EventType, iso_ms
from mailexports.marketing.writes import gives_up

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ARRIVED_AT: Final = "arrived_at"
# The events exported by arrival. Delivery-kind events (send, delivery, bounces, ...) are
# read by arrival through the recipient status they change, which carries its own stamp;
# their own items stay plain, so they keep the cheaper BatchWriteItem.
STAMPED_EVENTS: Final = frozenset({EventType.OPEN, EventType.CLICK})

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def stamp_event(item: Item, arrived: datetime) -> Item:
    """An open or click item with its arrival and its gsi4 keys."""
    stamp = iso_ms(arrived)
    return {
        **item,
        ARRIVED_AT: stamp,
        "gsi4pk": item["pk"],
        "gsi4sk": keys.arrival_gsi4sk(stamp, item["contact_id"], item["event_id"]),
    }


def stamp_recipient(item: Item, arrived: datetime) -> Item:
    stamp = iso_ms(arrived)
    return {
        **item,
        ARRIVED_AT: stamp,
        "gsi4pk": item["pk"],
        "gsi4sk": keys.arrival_gsi4sk(stamp, item["contact_id"]),
    }


def stored_keys(
    db: DynamoDBClient, table: str, wanted: Sequence[tuple[str, str]], *, attempts: int
) -> set[tuple[str, str]]:
    """Which of up to 100 (pk, sk) keys are stored already (strongly consistent)."""
    assert len(wanted) <= BATCH_GET_KEYS
    request = {
        "Keys": [codec.key(pk, sk) for pk, sk in wanted],
        "ProjectionExpression": "pk, sk",
        "ConsistentRead": True,
    }
    with gives_up("BatchGetItem"):
        items, _ = batch_get(db, table, request, attempts=attempts)
    return {(codec.required(item, "pk"), codec.required(item, "sk")) for item in items}


@dataclass(frozen=True, slots=True)
class ArrivalWindow:
    """What an export reads, by arrival: `[since, until)`; `since` None means from the beginning.

    Items stored before arrival stamps existed have none and count as arrived at the
    beginning: a full export holds them, an incremental one never does."""

    until: datetime
    since: datetime | None = None

    def bounds(self) -> tuple[str, str]:
        """For `gsi4sk BETWEEN :since AND :until` (see `keys.arrival_gsi4sk`)."""
        assert self.since is not None
        until = iso_ms(self.until)
        return min(iso_ms(self.since), until), until  # DynamoDB refuses BETWEEN high AND low

    def before_until(self, names: dict[str, str], values: dict[str, Any]) -> str:
        """A FilterExpression term: arrived before `until` (or never stamped)."""
        names["#arrived_at"] = ARRIVED_AT
        values[":arrived_until"] = {"S": iso_ms(self.until)}
        return "(attribute_not_exists(#arrived_at) OR #arrived_at < :arrived_until)"
