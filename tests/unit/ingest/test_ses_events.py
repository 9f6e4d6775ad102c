"""SES event records -> EventRecord: parsing the envelopes, the mapping table, what is refused."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mailexports.ingest.ses_events import (
    MalformedSesEvent,
    MappedEvent,
    SkippedEvent,
    parse_body,
    to_event_record,
)
from mailexports.marketing.records import EventType

EVENTS = Path(__file__).resolve().parents[3] / "events" / "ses"
TENANT = "0b5c7e9a-2f41-4d63-8a15-6c3e9f2d7b40"


def sample_body(name: str, index: int = 0) -> str:
    body: str = json.loads((EVENTS / f"{name}.json").read_text())["Records"][index]["body"]
    return body


def sample_ses(name: str) -> dict[str, Any]:
    """The SES event JSON inside a sample's SNS envelope, to vary in a test."""
    ses: dict[str, Any] = json.loads(json.loads(sample_body(name))["Message"])
    return ses


def wrap(ses: dict[str, Any]) -> str:
    """An SNS notification body carrying `ses`, as SNS delivers it to SQS (no raw delivery)."""
    envelope = json.loads(sample_body("open"))
    envelope["Message"] = json.dumps(ses)
    return json.dumps(envelope)


def mapped(body: str) -> MappedEvent:
    result = to_event_record(parse_body(body))
    assert isinstance(result, MappedEvent), result
    return result


def malformed(body: str) -> str:
    with pytest.raises(MalformedSesEvent) as caught:
        to_event_record(parse_body(body))
    return caught.value.message


@pytest.mark.parametrize(
    ("sample", "kind", "email", "at"),
    [
        ("send", EventType.SEND, "abc@example.com", "2025-03-01T09:00:01.000Z"),
        ("delivery", EventType.DELIVERY, "abc@example.com", "2025-03-01T09:00:03.512Z"),
        ("open", EventType.OPEN, "abc@example.com", "2025-03-01T10:11:12.345Z"),
        ("click", EventType.CLICK, "abc@example.com", "2025-03-01T10:12:00.120Z"),
        ("complaint", EventType.COMPLAINT, "abc@example.com", "2025-03-01T10:20:00.000Z"),
        ("subscription", EventType.UNSUBSCRIBE, "abc@example.com", "2025-03-01T10:25:00.000Z"),
        ("bounce", EventType.HARD_BOUNCE, "no-such-user@example.net", "2025-03-01T09:00:02.669Z"),
        ("bounce-transient", EventType.SOFT_BOUNCE, "dave@example.org", "2025-03-01T11:00:02.000Z"),
        ("reject", EventType.REJECT, "carol@example.org", "2025-03-01T09:00:01.400Z"),
        ("eventbridge-open", EventType.OPEN, "abc@example.com", "2025-03-01T10:11:12.345Z"),
    ],
)
def test_each_sample_maps_to_its_event_type(sample: str, kind: EventType, email: str, at: str) -> None:
    result = mapped(sample_body(sample))
    record = result.record
    assert result.tenant_id == TENANT
    assert record.type is kind
    assert record.stat_id == "981"
    assert record.email == email
    assert record.at == datetime.fromisoformat(at)
    assert record.at.tzinfo is UTC
    assert record.event_id.startswith("ses-")
    assert len(record.event_id) == len("ses-") + 24


def test_open_and_click_carry_ip_user_agent_and_url() -> None:
    opened = mapped(sample_body("open")).record
    assert (opened.ip, opened.url) == ("198.51.100.7", None)
    assert opened.user_agent is not None
    assert opened.user_agent.startswith("Mozilla/5.0")
    clicked = mapped(sample_body("click")).record
    assert (clicked.ip, clicked.url) == ("198.51.100.7", "https://shop.example.com/sale")
    assert clicked.user_agent == opened.user_agent
    assert mapped(sample_body("delivery")).record.ip is None


@pytest.mark.parametrize(
    ("sample", "reason"), [("delivery-delay", "DeliveryDelay"), ("rendering-failure", "Rendering Failure")]
)
def test_delays_and_rendering_failures_are_skipped_with_a_reason(sample: str, reason: str) -> None:
    result = to_event_record(parse_body(sample_body(sample)))
    assert isinstance(result, SkippedEvent)
    assert result.reason.startswith(reason)


def test_undetermined_bounce_is_a_soft_bounce() -> None:
    ses = sample_ses("bounce")
    ses["bounce"]["bounceType"] = "Undetermined"
    assert mapped(wrap(ses)).record.type is EventType.SOFT_BOUNCE


def test_bounce_without_bounced_recipients_falls_back_to_the_destination() -> None:
    ses = sample_ses("bounce")
    ses["bounce"]["bouncedRecipients"] = []
    assert mapped(wrap(ses)).record.email == "no-such-user@example.net"


def test_complaint_takes_the_complained_recipient() -> None:
    ses = sample_ses("complaint")
    ses["complaint"]["complainedRecipients"] = [{"emailAddress": "Ann <ANN@Example.com>"}]
    assert mapped(wrap(ses)).record.email == "ann@example.com"


def test_a_display_name_destination_yields_the_bare_address() -> None:
    ses = sample_ses("send")
    ses["mail"]["destination"] = ['"Abc, Def" <Abc@Example.com>']
    assert mapped(wrap(ses)).record.email == "abc@example.com"


# ---------------------------------------------------------------- subscription


def _subscription(new: dict[str, Any], old: dict[str, Any] | None) -> str:
    ses = sample_ses("subscription")
    ses["subscription"]["newTopicPreferences"] = new
    if old is None:
        del ses["subscription"]["oldTopicPreferences"]
    else:
        ses["subscription"]["oldTopicPreferences"] = old
    return wrap(ses)


def _topics(**status: str) -> list[dict[str, str]]:
    return [{"topicName": name, "subscriptionStatus": value} for name, value in status.items()]


def test_unsubscribe_all_is_an_unsubscribe() -> None:
    body = _subscription({"unsubscribeAll": True}, None)
    assert mapped(body).record.type is EventType.UNSUBSCRIBE


def test_opting_out_of_one_topic_is_an_unsubscribe() -> None:
    body = _subscription(
        {"unsubscribeAll": False, "topicSubscriptionStatus": _topics(news="OptOut", sale="OptIn")},
        {"unsubscribeAll": False, "topicSubscriptionStatus": _topics(news="OptIn", sale="OptIn")},
    )
    assert mapped(body).record.type is EventType.UNSUBSCRIBE


def test_opting_in_while_another_topic_stays_opted_out_is_skipped() -> None:
    body = _subscription(
        {"unsubscribeAll": False, "topicSubscriptionStatus": _topics(news="OptOut", sale="OptIn")},
        {"unsubscribeAll": False, "topicSubscriptionStatus": _topics(news="OptOut", sale="OptOut")},
    )
    result = to_event_record(parse_body(body))
    assert isinstance(result, SkippedEvent)
    assert "opts out of nothing" in result.reason


# ---------------------------------------------------------------- event ids


def test_the_event_id_is_the_same_for_every_delivery_of_one_ses_event() -> None:
    first = mapped(sample_body("open")).record.event_id
    assert mapped(sample_body("open")).record.event_id == first
    # Another SNS message id (SES published twice) and another envelope: still the same event.
    envelope = json.loads(sample_body("open"))
    envelope["MessageId"] = "00000000-0000-4000-8000-000000000000"
    assert mapped(json.dumps(envelope)).record.event_id == first
    assert mapped(sample_body("eventbridge-open")).record.event_id == first


def test_distinct_events_get_distinct_ids() -> None:
    opened = sample_ses("open")
    later = copy.deepcopy(opened)
    later["open"]["timestamp"] = "2025-03-01T10:11:12.346Z"
    clicked = sample_ses("click")
    elsewhere = copy.deepcopy(clicked)
    elsewhere["click"]["link"] = "https://shop.example.com/other"
    other_message = copy.deepcopy(opened)
    other_message["mail"]["messageId"] = "another-ses-message-id"
    ids = {mapped(wrap(ses)).record.event_id for ses in (opened, later, clicked, elsewhere, other_message)}
    assert len(ids) == 5


# ---------------------------------------------------------------- malformed records


def test_a_body_that_is_not_json_is_malformed() -> None:
    assert malformed("this is not JSON") == "SQS body is not JSON (JSONDecodeError)"
    assert malformed("[1, 2]") == "SQS body is not a JSON object"
    assert "neither an SNS notification" in malformed('{"hello": "world"}')


def test_an_sns_subscription_confirmation_is_malformed() -> None:
    assert malformed(sample_body("malformed", 2)).startswith(
        "SNS envelope: Type: Input should be 'Notification'"
    )


def test_an_sns_message_that_is_not_an_ses_event_is_malformed() -> None:
    assert malformed(sample_body("malformed", 3)).startswith(
        "SES event in the SNS Message: (root): Invalid JSON"
    )
    reason = malformed(sample_body("malformed", 4))
    assert "eventType: Field required" in reason
    assert "mail: Field required" in reason


def test_an_unknown_event_type_is_malformed() -> None:
    ses = sample_ses("open")
    ses["eventType"] = "Teleport"
    assert "eventType: Input should be 'Send'" in malformed(wrap(ses))


def test_a_type_without_its_object_is_malformed() -> None:
    assert malformed(sample_body("malformed", 5)) == "Bounce event without its 'bounce' object"


def test_missing_tags_are_named() -> None:
    assert malformed(sample_body("malformed", 6)) == (
        "message tags missing: mx-tenant, mx-stat, mx-contact (the sender must set them)"
    )
    ses = sample_ses("open")
    del ses["mail"]["tags"]["mx-contact"]
    assert malformed(wrap(ses)) == "message tags missing: mx-contact (the sender must set them)"


@pytest.mark.parametrize("value", ["", "51#2025", "a b", "x" * 257])
def test_a_tag_value_ses_could_not_have_sent_is_malformed(value: str) -> None:
    ses = sample_ses("open")
    ses["mail"]["tags"]["mx-contact"] = [value]
    assert malformed(wrap(ses)) == "message tag mx-contact is not 1-256 of A-Z a-z 0-9 _ -"


def test_no_recipient_is_malformed() -> None:
    ses = sample_ses("open")
    ses["mail"]["destination"] = []
    assert "mail.destination is empty" in malformed(wrap(ses))


def test_reasons_never_echo_the_address() -> None:
    ses = sample_ses("open")
    ses["mail"]["destination"] = ["secret-person-at-example.com"]
    reason = malformed(wrap(ses))
    assert reason == "event record: email: Value error, not an email address"
    assert "secret-person" not in reason


def test_a_bad_timestamp_is_malformed() -> None:
    ses = sample_ses("open")
    ses["open"]["timestamp"] = "yesterday"
    assert malformed(wrap(ses)).startswith("SES event in the SNS Message: open.timestamp: Input should be")
