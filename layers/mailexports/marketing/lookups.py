"""Single-partition look-ups: a send, a campaign, the tenant's custom fields."""

from __future__ import annotations

from typing import Any

from mailexports.marketing import arguments, codec, keys
from mailexports.marketing.shards import ShardReader
from mailexports.marketing.views import Campaign, Send


def send(reader: ShardReader, stat_id: str) -> Send | None:
    item = reader.get(keys.stat_pk(reader.tenant, arguments.identifier(stat_id, "stat_id")), keys.META)
    if item is None:
        return None
    return Send(
        stat_id=codec.required(item, "stat_id"),
        campaign_id=codec.required(item, "campaign_id"),
        sent_at=codec.required(item, "sent_at"),
    )


def campaign(reader: ShardReader, campaign_id: str) -> Campaign | None:
    pk = keys.campaign_pk(reader.tenant, arguments.identifier(campaign_id, "campaign_id"))
    item = reader.get(pk, keys.META)
    if item is None:
        return None
    return Campaign(
        campaign_id=codec.required(item, "campaign_id"),
        name=codec.string(item, "name") or "",
        subject=codec.string(item, "subject") or "",
    )


def fields(reader: ShardReader) -> dict[str, str]:
    """The tenant's custom fields, field_id -> name."""
    request = {
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": keys.fields_pk(reader.tenant)}},
    }
    found: dict[str, str] = {}
    start: dict[str, Any] | None = None
    while True:
        items, start = reader.query(request, start)
        found.update((codec.required(i, "field_id"), codec.required(i, "name")) for i in items)
        if start is None:
            return found
