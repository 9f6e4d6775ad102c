"""Access pattern `contact_data`: everything about one address but its profile, each
kind one gsi2 Query (`{kind}#...` under the address), in time order."""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from concurrent.futures import Future
from typing import Any, Final, NamedTuple

from mailexports import aws
from mailexports.config import get_settings
from mailexports.marketing import arguments, codec, keys
from mailexports.marketing.codec import WireItem
from mailexports.marketing.shards import ShardReader
from mailexports.marketing.views import ContactData, EmailEvent, Message, SurveyResponse
from mailexports.marketing.vocabulary import EventType

_MIMES_IN_FLIGHT: Final = 8  # S3 bodies fetched ahead of the consumer


class _MessageRow(NamedTuple):
    message: dict[str, str]
    mime: str | None
    mime_s3_key: str | None


def _message_row(item: WireItem) -> _MessageRow:
    message = {
        "message_id": codec.required(item, "message_id"),
        "stat_id": codec.required(item, "stat_id"),
        "contact_id": codec.required(item, "contact_id"),
        "email": codec.required(item, "email"),
        "sent_at": codec.required(item, "sent_at"),
    }
    mime, s3_key = codec.string(item, "mime"), codec.string(item, "mime_s3_key")
    if mime is None and s3_key is None:
        raise ValueError(f"message {message['message_id']} has neither mime nor mime_s3_key")
    return _MessageRow(message, mime, s3_key)


def _message(row: _MessageRow, body: Future[str] | None) -> Message:
    mime = row.mime if body is None else body.result()
    return Message.model_validate({**row.message, "mime": mime})


def _email_event(item: WireItem) -> EmailEvent:
    return EmailEvent(
        event_id=codec.required(item, "event_id"),
        type=codec.required(item, "type"),
        stat_id=codec.required(item, "stat_id"),
        campaign_id=codec.string(item, "campaign_id"),
        contact_id=codec.required(item, "contact_id"),
        email=codec.required(item, "email"),
        at=codec.required(item, "at"),
        ip=codec.string(item, "ip"),
        user_agent=codec.string(item, "user_agent"),
        url=codec.string(item, "url"),
    )


def _survey_response(item: WireItem) -> SurveyResponse:
    return SurveyResponse(
        response_id=codec.required(item, "response_id"),
        survey_id=codec.required(item, "survey_id"),
        email=codec.required(item, "email"),
        at=codec.required(item, "at"),
        answers=codec.plain_attr(item, "answers", {}),
    )


def _by_email(reader: ShardReader, email: str, kind: str) -> dict[str, Any]:
    return {
        "IndexName": "gsi2",
        "KeyConditionExpression": "gsi2pk = :pk AND begins_with(gsi2sk, :kind)",
        "ExpressionAttributeValues": {
            ":pk": {"S": keys.email_gsi2pk(reader.tenant, email)},
            ":kind": {"S": f"{kind}#"},
        },
    }


def contact_data(reader: ShardReader, email: str, data_bucket: str | None) -> ContactData:
    """Messages (full MIME), opens, clicks and survey responses of one address."""
    address = arguments.email(email)
    return ContactData(
        email=address,
        messages=contact_messages(reader, address, data_bucket),
        opens=contact_events(reader, address, "open"),
        clicks=contact_events(reader, address, "click"),
        survey_responses=contact_survey_responses(reader, address),
    )


def contact_messages(reader: ShardReader, email: str, data_bucket: str | None) -> Generator[Message]:
    """Messages sent to `email`, oldest first, each with its full MIME (from S3 when
    stored there, a few bodies fetched ahead)."""
    request = _by_email(reader, arguments.email(email), "MSG")
    bucket = data_bucket or get_settings().data_bucket
    return _contact_messages(reader, request, bucket)


def _contact_messages(reader: ShardReader, request: dict[str, Any], bucket: str) -> Generator[Message]:
    with reader.workers() as pool:
        ahead: deque[tuple[_MessageRow, Future[str] | None]] = deque()
        for row in reader.rows(pool, request, _message_row):
            body = None if row.mime is not None else pool.submit(_mime, bucket, row.mime_s3_key or "")
            ahead.append((row, body))
            if len(ahead) > _MIMES_IN_FLIGHT:
                yield _message(*ahead.popleft())
        while ahead:
            yield _message(*ahead.popleft())


def _mime(bucket: str, key: str) -> str:
    body = aws.s3().get_object(Bucket=bucket, Key=key)["Body"].read()
    return body.decode("utf-8")


def contact_events(reader: ShardReader, email: str, activity: str) -> Generator[EmailEvent]:
    """The opens (or clicks) of `email`, oldest first."""
    kind = "OPEN" if arguments.activity(activity) == EventType.OPEN else "CLICK"
    return reader.iterate(_by_email(reader, arguments.email(email), kind), _email_event)


def contact_survey_responses(reader: ShardReader, email: str) -> Generator[SurveyResponse]:
    return reader.iterate(_by_email(reader, arguments.email(email), "SURVEY"), _survey_response)
