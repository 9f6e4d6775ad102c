"""How each Amazon SES event (ses_messages.py parses them) becomes a marketing `EventRecord`.

docs/ses-ingest.md has the mapping table and the tags the sender must set.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr

from pydantic import ValidationError

from mailexports.ingest.ses_messages import (
    MalformedSesEvent,
    SesEvent,
    SesMail,
    SesSubscription,
    SesTopicPreferences,
    describe,
    parse_body,
)
from mailexports.marketing.records import EventRecord
from mailexports.marketing.vocabulary import EventType, iso_ms

__all__ = [
    "MalformedSesEvent",
    "MappedEvent",
    "SkippedEvent",
    "event_id_for",
    "is_opt_out",
    "parse_body",
    "to_event_record",
]

# Message tags the sender sets on every campaign message (SES SendEmail `EmailTags`).
TENANT_TAG = "mx-tenant"
STAT_TAG = "mx-stat"
CONTACT_TAG = "mx-contact"

EVENT_ID_PREFIX = "ses-"

_TAG_VALUE = re.compile(r"[A-Za-z0-9_-]{1,256}")

# ---------------------------------------------------------------- mapping


@dataclass(frozen=True)
class MappedEvent:
    tenant_id: str
    record: EventRecord


@dataclass(frozen=True)
class SkippedEvent:
    """Not an error: an SES event with no counterpart in the marketing data."""

    reason: str


@dataclass(frozen=True)
class _Facts:
    type: EventType
    at: datetime
    recipient: str
    ip: str | None = None
    user_agent: str | None = None
    url: str | None = None


def event_id_for(ses_message_id: str, event_type: str, at: datetime, recipient: str, link: str | None) -> str:
    """Deterministic, so a redelivered (or re-published) SES event is written once."""
    key = json.dumps([ses_message_id, event_type, iso_ms(at), recipient.lower(), link or ""])
    return EVENT_ID_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:24]


def to_event_record(event: SesEvent) -> MappedEvent | SkippedEvent:
    """Map one SES event; raises `MalformedSesEvent` when it lacks what the mapping needs."""
    skip = _skip_reason(event)
    if skip is not None:
        return SkippedEvent(skip)
    tenant_id, stat_id, contact_id = _our_tags(event.mail)
    facts = _facts(event)
    try:
        record = EventRecord(
            event_id=event_id_for(
                event.mail.message_id, event.event_type, facts.at, facts.recipient, facts.url
            ),
            type=facts.type,
            stat_id=stat_id,
            contact_id=contact_id,
            email=facts.recipient,
            at=facts.at,
            ip=facts.ip,
            user_agent=facts.user_agent,
            url=facts.url,
        )
    except ValidationError as error:
        raise MalformedSesEvent(describe(error, "event record")) from None
    return MappedEvent(tenant_id=tenant_id, record=record)


def _skip_reason(event: SesEvent) -> str | None:
    match event.event_type:
        case "DeliveryDelay":
            return "DeliveryDelay: SES keeps retrying; the Delivery or Bounce that follows is recorded"
        case "Rendering Failure":
            return "Rendering Failure: the message was never sent, so no recipient status changes"
        case "Subscription" if event.subscription is not None and not is_opt_out(event.subscription):
            return "Subscription: a preference change that opts out of nothing"
    return None


def is_opt_out(subscription: SesSubscription) -> bool:
    """True when this change unsubscribes from everything or opts out of a topic not opted out before."""
    new = subscription.new_topic_preferences
    old = subscription.old_topic_preferences or SesTopicPreferences()
    if new.unsubscribe_all and not old.unsubscribe_all:
        return True
    was_out = {t.topic_name for t in old.topic_subscription_status if t.subscription_status == "OptOut"}
    return any(
        t.subscription_status == "OptOut" and t.topic_name not in was_out
        for t in new.topic_subscription_status
    )


def _our_tags(mail: SesMail) -> tuple[str, str, str]:
    values: list[str] = []
    missing: list[str] = []
    for name in (TENANT_TAG, STAT_TAG, CONTACT_TAG):
        found = mail.tags.get(name) or []
        if not found:
            missing.append(name)
        elif not _TAG_VALUE.fullmatch(found[0]):
            # SES itself allows no other characters; this also keeps ids free of key separators.
            raise MalformedSesEvent(f"message tag {name} is not 1-256 of A-Z a-z 0-9 _ -")
        else:
            values.append(found[0])
    if missing:
        raise MalformedSesEvent(f"message tags missing: {', '.join(missing)} (the sender must set them)")
    tenant_id, stat_id, contact_id = values
    return tenant_id, stat_id, contact_id


def _facts(event: SesEvent) -> _Facts:
    mail = event.mail
    match event.event_type:
        case "Send":
            return _Facts(EventType.SEND, mail.timestamp, _first_destination(mail))
        case "Reject":
            return _Facts(EventType.REJECT, mail.timestamp, _first_destination(mail))
        case "Delivery":
            delivery = _require(event.delivery, "delivery", event.event_type)
            recipient = _address(delivery.recipients[0]) if delivery.recipients else _first_destination(mail)
            return _Facts(EventType.DELIVERY, delivery.timestamp, recipient)
        case "Open":
            opened = _require(event.open, "open", event.event_type)
            return _Facts(
                EventType.OPEN,
                opened.timestamp,
                _first_destination(mail),
                ip=opened.ip_address,
                user_agent=opened.user_agent,
            )
        case "Click":
            click = _require(event.click, "click", event.event_type)
            return _Facts(
                EventType.CLICK,
                click.timestamp,
                _first_destination(mail),
                ip=click.ip_address,
                user_agent=click.user_agent,
                url=click.link,
            )
        case "Bounce":
            bounce = _require(event.bounce, "bounce", event.event_type)
            # Undetermined: SES could not classify it, so the address may well be fine;
            # a soft bounce never marks a contact undeliverable on a guess.
            kind = EventType.HARD_BOUNCE if bounce.bounce_type == "Permanent" else EventType.SOFT_BOUNCE
            recipients = bounce.bounced_recipients
            recipient = _address(recipients[0].email_address) if recipients else _first_destination(mail)
            return _Facts(kind, bounce.timestamp, recipient)
        case "Complaint":
            complaint = _require(event.complaint, "complaint", event.event_type)
            recipients = complaint.complained_recipients
            recipient = _address(recipients[0].email_address) if recipients else _first_destination(mail)
            return _Facts(EventType.COMPLAINT, complaint.timestamp, recipient)
        case "Subscription":
            subscription = _require(event.subscription, "subscription", event.event_type)
            return _Facts(EventType.UNSUBSCRIBE, subscription.timestamp, _first_destination(mail))
    raise MalformedSesEvent(f"eventType {event.event_type!r} has no mapping")  # pragma: no cover


def _require[T](value: T | None, key: str, event_type: str) -> T:
    if value is None:
        raise MalformedSesEvent(f"{event_type} event without its {key!r} object")
    return value


def _first_destination(mail: SesMail) -> str:
    if not mail.destination:
        raise MalformedSesEvent("mail.destination is empty: no recipient to attribute the event to")
    return _address(mail.destination[0])


def _address(value: str) -> str:
    """`Name <a@b.example>` or `a@b.example` -> `a@b.example` (EventRecord validates it)."""
    return parseaddr(value)[1] or value
