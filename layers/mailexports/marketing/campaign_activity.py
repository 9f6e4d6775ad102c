"""Access pattern `campaign_activity`: per contact, the opens and clicks of one send."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Collection, Generator, Iterable, Sequence
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

from mailexports.errors import ValidationFailed
from mailexports.marketing import arguments, codec, keys
from mailexports.marketing.arguments import ENGAGEMENT
from mailexports.marketing.arrivals import ArrivalWindow
from mailexports.marketing.codec import WireItem
from mailexports.marketing.shards import ShardReader, with_pk
from mailexports.marketing.views import Click, ContactActivity, Open
from mailexports.marketing.vocabulary import EventType


class _EventRow(NamedTuple):
    sk: str
    contact_id: str
    email: str
    type: str
    at: str
    ip: str | None
    user_agent: str | None
    url: str | None


def _event_row(item: WireItem) -> _EventRow:
    return _EventRow(
        codec.required(item, "sk"),
        codec.required(item, "contact_id"),
        codec.required(item, "email"),
        codec.required(item, "type"),
        codec.required(item, "at"),
        codec.string(item, "ip"),
        codec.string(item, "user_agent"),
        codec.string(item, "url"),
    )


def campaign_activity(
    reader: ShardReader,
    stat_id: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    events: Collection[str] = ENGAGEMENT,
    after_contact: str | None = None,
    arrived: ArrivalWindow | None = None,
    shards: Sequence[int] | None = None,
) -> Generator[ContactActivity]:
    """One record per contact with opens/clicks of send `stat_id` in `[start, end)`.

    Contacts come in the events' sort-key order, by `{contact_id}#` (which is the
    contact ids' order, except that an id sorts after its extensions by characters
    below "#": "5!" before "5"); each contact's opens and clicks in time order. Pass the last
    contact written as `after_contact` to resume: the stream continues exactly
    where the uninterrupted one would have.

    Why the activity partitions and not an index by time: the record is per
    contact, and the activity partitions are sorted by contact, so each contact's
    activity arrives together and is emitted as soon as it is complete, with
    nothing held back. Reading an index by time would need every contact of the
    window in memory (or a second pass) before the first record could be written.
    The price is that the window and the type are a FilterExpression: DynamoDB
    reads, and bills, the activity outside the window (and clicks when only opens
    are asked for), but it does not return it. The send's other events live in
    partitions of their own (keys.delivery_events_pk), so they are never read
    here. An export reads a send once, so that read is cheaper than maintaining
    and storing another index on every event. The window is compared at millisecond
    precision, the store's.

    `arrived` limits the export to what reached the service in that window. With
    `arrived.since` (an incremental export) the read is gsi4, by arrival, on each
    shard: a record holds only the contact's events that arrived in the window,
    and the window's events are grouped by contact in memory (an incremental
    window is one schedule interval of arrivals, not the send).

    `shards` reads only those shards (a fan-out slice): the same merge restricted to
    them, so the slice's own cursor resumes it exactly. A contact lives in one shard.
    """
    partitions = arguments.shards(shards)
    arguments.identifier(stat_id, "stat_id")
    low, high = arguments.utc(start, "start"), arguments.utc(end, "end")
    if low is not None and high is not None and high < low:
        raise ValidationFailed("end must not be before start", [{"field": "end", "issue": "before start"}])
    wanted = {str(e) for e in events}
    if not wanted or not wanted <= ENGAGEMENT:
        raise ValidationFailed(
            "events must be a non-empty subset of open, click",
            [{"field": "events", "issue": f"got {sorted(wanted)}"}],
        )
    projection, names = codec.projection("sk", "contact_id", "email", "type", "at", "ip", "user_agent", "url")
    values: dict[str, Any] = {}
    conditions = []
    for index, kind in enumerate(sorted(wanted)):
        values[f":type{index}"] = {"S": kind}
    conditions.append(f"#type IN ({', '.join(f':type{i}' for i in range(len(wanted)))})")
    if low is not None:
        values[":start"] = {"S": low}
        conditions.append("#at >= :start")
    if high is not None:
        values[":end"] = {"S": high}
        conditions.append("#at < :end")
    after = (
        keys.after_contact(arguments.identifier(after_contact, "after_contact")) if after_contact else None
    )
    if arrived is not None and arrived.since is not None:
        values[":since"], values[":until"] = ({"S": bound} for bound in arrived.bounds())
        request = {
            "IndexName": "gsi4",
            "KeyConditionExpression": "gsi4pk = :pk AND gsi4sk BETWEEN :since AND :until",
            "FilterExpression": " AND ".join(conditions),
            "ProjectionExpression": projection,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        return _arrived_activity(reader, stat_id, request, after, partitions)
    if arrived is not None:
        conditions.append(arrived.before_until(names, values))
    key_condition = "pk = :pk"
    if after is not None:
        values[":after"] = {"S": after}
        key_condition += " AND sk > :after"
    request = {
        "KeyConditionExpression": key_condition,
        "FilterExpression": " AND ".join(conditions),
        "ProjectionExpression": projection,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    return _campaign_activity(reader, stat_id, request, partitions)


def _campaign_activity(
    reader: ShardReader, stat_id: str, request: dict[str, Any], partitions: Sequence[int]
) -> Generator[ContactActivity]:
    with reader.workers() as pool:
        shards = [
            reader.rows(
                pool, with_pk(request, keys.activity_events_pk(reader.tenant, stat_id, shard)), _event_row
            )
            for shard in partitions
        ]
        merged = heapq.merge(*shards, key=itemgetter(0))
        for contact_id, rows in itertools.groupby(merged, key=attrgetter("contact_id")):
            yield _contact_activity(contact_id, rows)


def _arrived_activity(
    reader: ShardReader, stat_id: str, request: dict[str, Any], after: str | None, partitions: Sequence[int]
) -> Generator[ContactActivity]:
    """The window's arrivals, grouped by contact, in the same contact order as a full export.

    A window's events are fixed once it is read (events are written once, and every
    write stamped before the watermark has landed), so a resumed read sees the same."""
    by_contact: dict[str, list[_EventRow]] = {}
    with reader.workers() as pool:
        shards = [
            reader.rows(
                pool, with_pk(request, keys.activity_events_pk(reader.tenant, stat_id, shard)), _event_row
            )
            for shard in partitions
        ]
        for row in itertools.chain.from_iterable(shards):
            by_contact.setdefault(row.contact_id, []).append(row)
    # `C#{id}#` is the events' own sort-key order; `after` is `C#{id}$`.
    for contact_key, contact_id in sorted((f"C#{c}#", c) for c in by_contact):
        if after is None or contact_key > after:
            yield _contact_activity(contact_id, sorted(by_contact.pop(contact_id)))


def _contact_activity(contact_id: str, rows: Iterable[_EventRow]) -> ContactActivity:
    opens: list[Open] = []
    clicks: list[Click] = []
    email = ""
    for row in rows:
        email = row.email
        if row.type == EventType.OPEN:
            opens.append(Open(at=row.at, ip=row.ip, user_agent=row.user_agent))
        else:
            clicks.append(Click(at=row.at, url=row.url, ip=row.ip, user_agent=row.user_agent))
    return ContactActivity(contact_id=contact_id, email=email, opens=opens, clicks=clicks)
