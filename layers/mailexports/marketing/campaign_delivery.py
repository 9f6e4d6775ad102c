"""Access pattern `campaign_delivery`: a campaign's recipients by delivery-status change."""

from __future__ import annotations

import heapq
from collections.abc import Generator, Iterator, Sequence
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

from mailexports.marketing import arguments, codec, keys, lookups
from mailexports.marketing.arrivals import ArrivalWindow
from mailexports.marketing.codec import WireItem
from mailexports.marketing.profiles import with_profiles
from mailexports.marketing.shards import ShardReader, with_pk
from mailexports.marketing.views import RecipientStatus


class _RecipientRow(NamedTuple):
    key: str  # the index sort key read (gsi3sk or gsi4sk): the merge order
    contact_id: str
    email: str
    status: str
    changed_at: str


def _recipient_row(item: WireItem) -> _RecipientRow:
    return _RecipientRow(
        codec.string(item, "gsi3sk") or codec.required(item, "gsi4sk"),
        codec.required(item, "contact_id"),
        codec.required(item, "email"),
        codec.required(item, "status"),
        codec.required(item, "changed_at"),
    )


def _recipient(row: _RecipientRow, fields: dict[str, Any]) -> RecipientStatus:
    return RecipientStatus(
        email=row.email,
        contact_id=row.contact_id,
        status=row.status,
        changed_at=row.changed_at,
        fields=fields,
    )


def campaign_delivery(
    reader: ShardReader,
    campaign_id: str,
    *,
    changed_since: datetime | None = None,
    after: tuple[datetime, str] | None = None,
    field_ids: Sequence[str] = (),
    arrived: ArrivalWindow | None = None,
    shards: Sequence[int] | None = None,
) -> Generator[RecipientStatus]:
    """Every recipient of the campaign whose delivery status changed at or after
    `changed_since` (inclusive), in (changed_at, contact_id) order, from the gsi3
    index of each recipients shard in parallel.

    `after` resumes after a record already written (its `.cursor`). With
    `field_ids`, each record carries `fields` {field_id: value or None}, read from
    the contacts' profiles in batches (the field names from `fields()`).
    A status that changes during the read moves the recipient later in the index;
    it is then seen with its newer status when the read gets there.
    With `arrived`, only statuses whose change arrived before `arrived.until`
    (`delivery_arrived` reads a window with a start). `shards`: only those (a fan-out slice).
    """
    partitions = arguments.shards(shards)
    arguments.identifier(campaign_id, "campaign_id")
    since = arguments.utc(changed_since, "changed_since")
    values: dict[str, Any] = {}
    key_condition = "gsi3pk = :pk"
    lower_bound = None
    if after is not None:
        after_at, after_contact = after
        arguments.utc(after_at, "after")
        lower_bound = keys.status_gsi3sk(after_at, arguments.identifier(after_contact, "after"))
    if lower_bound is not None and (since is None or lower_bound >= since):
        # Everything past the cursor is also at or past changed_since.
        values[":from"] = {"S": lower_bound}
        key_condition += " AND gsi3sk > :from"
    elif since is not None:
        values[":from"] = {"S": since}
        key_condition += " AND gsi3sk >= :from"
    projection, names = codec.projection("gsi3sk", "contact_id", "email", "status", "changed_at")
    request = {
        "IndexName": "gsi3",
        "KeyConditionExpression": key_condition,
        **({"FilterExpression": arrived.before_until(names, values)} if arrived else {}),
        "ProjectionExpression": projection,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    wanted_fields = list(dict.fromkeys(arguments.identifier(f, "field_ids") for f in field_ids))
    return (
        recipient
        for _, recipient in _campaign_delivery(reader, campaign_id, request, wanted_fields, partitions)
    )


def delivery_arrived(
    reader: ShardReader,
    campaign_id: str,
    arrived: ArrivalWindow,
    *,
    changed_since: datetime | None = None,
    after: str | None = None,
    field_ids: Sequence[str] = (),
    shards: Sequence[int] | None = None,
) -> Generator[tuple[str, RecipientStatus]]:
    """The recipients whose status changed (the change reached us) in `[arrived.since,
    arrived.until)`, each with its current status, in arrival order from gsi4, each with
    its cursor (`after` resumes past one). A status changed again after `until` is not
    here: the next window holds it. `shards`: only those (a fan-out slice)."""
    partitions = arguments.shards(shards)
    arguments.identifier(campaign_id, "campaign_id")
    since = arguments.utc(changed_since, "changed_since")
    low, high = arrived.bounds()
    values: dict[str, Any] = {":from": {"S": max(low, after or "")}, ":until": {"S": high}}
    projection, names = codec.projection("gsi4sk", "contact_id", "email", "status", "changed_at")
    request: dict[str, Any] = {
        "IndexName": "gsi4",
        "KeyConditionExpression": "gsi4pk = :pk AND gsi4sk BETWEEN :from AND :until",
        "ProjectionExpression": projection,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    if since is not None:
        values[":since"] = {"S": since}
        request["FilterExpression"] = "#changed_at >= :since"
    wanted_fields = list(dict.fromkeys(arguments.identifier(f, "field_ids") for f in field_ids))
    for recipient in _campaign_delivery(reader, campaign_id, request, wanted_fields, partitions):
        if after is None or recipient[0] > after:  # BETWEEN includes the cursor's own row
            yield recipient


def _campaign_delivery(
    reader: ShardReader,
    campaign_id: str,
    request: dict[str, Any],
    field_ids: list[str],
    partitions: Sequence[int],
) -> Generator[tuple[str, RecipientStatus]]:
    names = lookups.fields(reader) if field_ids else {}
    with reader.workers() as pool:
        shards = [
            reader.rows(
                pool, with_pk(request, keys.recipients_pk(reader.tenant, campaign_id, shard)), _recipient_row
            )
            for shard in partitions
        ]
        merged: Iterator[_RecipientRow] = heapq.merge(*shards, key=itemgetter(0))
        if not field_ids:
            for row in merged:
                yield row.key, _recipient(row, {})
            return
        # Fetch only the asked-for fields of each profile: nested projection paths.
        paths = [names[f] for f in field_ids if f in names]
        for row, profile in with_profiles(
            reader, pool, merged, attrgetter("contact_id"), ("contact_id",), paths
        ):
            custom = codec.plain_attr(profile, "custom_fields", {}) if profile else {}
            fields = {f: custom.get(names[f]) if f in names else None for f in field_ids}
            yield row.key, _recipient(row, fields)
