"""Amazon SES event-publishing records as models, and their envelopes (SNS, EventBridge).

SES publishes to the configuration set's SNS topic; SNS delivers to SQS without raw
message delivery, so an SQS body is an SNS notification whose `Message` is the SES
event JSON. An EventBridge-delivered event (`source: aws.ses`, the SES event in
`detail`) is accepted too, so the ingest also works behind an EventBridge rule.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel, to_pascal

from mailexports.errors import ValidationFailed

SesEventType = Literal[
    "Send",
    "Delivery",
    "Open",
    "Click",
    "Bounce",
    "Complaint",
    "Reject",
    "DeliveryDelay",
    "Subscription",
    "Rendering Failure",
]


class MalformedSesEvent(ValidationFailed):
    """The record can never be ingested as it is: not JSON, not SNS/SES, or missing our tags."""

    code = "malformed_ses_event"


# ---------------------------------------------------------------- envelopes


class SnsNotification(BaseModel):
    """The SNS envelope of a non-raw SNS -> SQS delivery (only the fields we use)."""

    model_config = ConfigDict(frozen=True, extra="ignore", alias_generator=to_pascal)

    type: Literal["Notification"]
    message_id: str
    topic_arn: str
    message: str
    timestamp: AwareDatetime


class EventBridgeSesEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    source: Literal["aws.ses"]
    id: str
    detail: dict[str, Any]


# ---------------------------------------------------------------- the SES event


class _SesModel(BaseModel):
    # SES adds fields over time; ignore what we do not read.
    model_config = ConfigDict(frozen=True, extra="ignore", alias_generator=to_camel, populate_by_name=True)


class SesMail(_SesModel):
    timestamp: AwareDatetime
    message_id: str = Field(min_length=1)
    source: str = ""
    destination: list[str] = Field(default_factory=list)
    tags: dict[str, list[str]] = Field(default_factory=dict)


class SesRecipient(_SesModel):
    email_address: str


class SesBounce(_SesModel):
    bounce_type: Literal["Permanent", "Transient", "Undetermined"]
    bounce_sub_type: str = ""
    bounced_recipients: list[SesRecipient] = Field(default_factory=list)
    timestamp: AwareDatetime


class SesComplaint(_SesModel):
    complained_recipients: list[SesRecipient] = Field(default_factory=list)
    timestamp: AwareDatetime
    complaint_feedback_type: str | None = None


class SesDelivery(_SesModel):
    timestamp: AwareDatetime
    recipients: list[str] = Field(default_factory=list)


class SesOpen(_SesModel):
    timestamp: AwareDatetime
    ip_address: str | None = None
    user_agent: str | None = None


class SesClick(_SesModel):
    timestamp: AwareDatetime
    link: str = Field(min_length=1)
    ip_address: str | None = None
    user_agent: str | None = None
    link_tags: dict[str, list[str]] = Field(default_factory=dict)


class SesReject(_SesModel):
    reason: str = ""


class SesTopicStatus(_SesModel):
    topic_name: str
    subscription_status: str  # "OptIn" or "OptOut"


class SesTopicPreferences(_SesModel):
    unsubscribe_all: bool = False
    topic_subscription_status: list[SesTopicStatus] = Field(default_factory=list)


class SesSubscription(_SesModel):
    timestamp: AwareDatetime
    contact_list: str = ""
    source: str = ""
    new_topic_preferences: SesTopicPreferences = Field(default_factory=SesTopicPreferences)
    old_topic_preferences: SesTopicPreferences | None = None


class SesDeliveryDelay(_SesModel):
    timestamp: AwareDatetime | None = None
    delay_type: str = ""


class SesRenderingFailure(_SesModel):
    error_message: str = ""
    template_name: str = ""


class SesEvent(_SesModel):
    event_type: SesEventType
    mail: SesMail
    send: dict[str, Any] | None = None
    delivery: SesDelivery | None = None
    open: SesOpen | None = None
    click: SesClick | None = None
    bounce: SesBounce | None = None
    complaint: SesComplaint | None = None
    reject: SesReject | None = None
    delivery_delay: SesDeliveryDelay | None = None
    subscription: SesSubscription | None = None
    failure: SesRenderingFailure | None = None


def describe(error: ValidationError, where: str) -> str:
    """Field paths and messages only: the input values may hold addresses (PII)."""
    problems = [
        f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
        for e in error.errors(include_url=False, include_input=False, include_context=False)
    ]
    return f"{where}: " + "; ".join(problems[:5])


def parse_body(body: str) -> SesEvent:
    """The SES event inside one SQS message body; raises `MalformedSesEvent` saying what is wrong."""
    try:
        envelope = json.loads(body)
    except ValueError as error:
        raise MalformedSesEvent(f"SQS body is not JSON ({error.__class__.__name__})") from None
    if not isinstance(envelope, dict):
        raise MalformedSesEvent("SQS body is not a JSON object")
    if "Type" in envelope:
        notification = _validated(SnsNotification, envelope, "SNS envelope")
        return _validated(SesEvent, notification.message, "SES event in the SNS Message")
    if envelope.get("source") == "aws.ses":
        bridged = _validated(EventBridgeSesEvent, envelope, "EventBridge envelope")
        return _validated(SesEvent, bridged.detail, "SES event in the EventBridge detail")
    raise MalformedSesEvent("SQS body is neither an SNS notification nor an EventBridge SES event")


def _validated[M: BaseModel](model: type[M], data: str | dict[str, Any], where: str) -> M:
    try:
        return model.model_validate_json(data) if isinstance(data, str) else model.model_validate(data)
    except ValidationError as error:
        raise MalformedSesEvent(describe(error, where)) from None
