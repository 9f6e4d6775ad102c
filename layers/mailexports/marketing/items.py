"""Item builders: each import record as the items it puts, in the key layout of `keys.py`.

Items carry the records' own ids and no import-time attributes, so writing the
same records twice leaves every item as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from mailexports.marketing import keys
from mailexports.marketing.codec import MAX_ITEM_BYTES, Item, serialize_item
from mailexports.marketing.records import (
    DELIVERY_STATUS_OF,
    CampaignRecord,
    ContactRecord,
    EventRecord,
    FieldRecord,
    ImportRecord,
    MessageRecord,
    SendRecord,
    SurveyResponseRecord,
    TagRecord,
)
from mailexports.marketing.vocabulary import EventType, iso_ms

# Sort keys of single-item partitions that keys.py names only in its table.
MESSAGE_SK: Final = "MSG"
SURVEY_SK: Final = "RESPONSE"

# A message whose item would outgrow this keeps its MIME in S3 (DynamoDB's item limit is 400 KB).
MIME_INLINE_LIMIT: Final = 350_000

_TRACKED_ACTIVITY = {EventType.OPEN: "open", EventType.CLICK: "click"}


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
    activity = _TRACKED_ACTIVITY.get(record.type)
    partition = keys.delivery_events_pk if activity is None else keys.activity_events_pk
    item = _drop_none(
        pk=partition(tenant_id, record.stat_id, shard),
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
