"""Pinpointe (seeds 000 and 001): `POST /pinpointe` (or any path under it, such as the
vendor's `.../apijson.php`) with `username`, `usertoken`, `requesttype`, `requestmethod`
and `details`, as JSON or as the vendor's `<xmlrequest>` (pinpointe_wire.py).

- `Newsletters` / `GetNewsletterContactDataSummaryAsync` -> a `campaign_activity`
  export of `details.stat`, `startdate`/`enddate` (YYYYMMDD, midnight UTC, end exclusive).
- `Segments` (or `seg`, as the seed's table spells it) / `GetSegmentSubscribersAsync`
  -> a `segment_contacts` export; its file is `{"status": "SUCCESS",
  "data": {"subscribers": [...], "count": N}}` (pinpointe_file.py).
- `details.notify` is required: `email` or `webhook`. The webhook receives the job,
  its status and the link to the JSON file (pinpointe_webhook.py).

Answers at the top level, as the vendor's JSON interface and its clients have it (the
seed's "response element" is the root of the XML answer): `{"status": "SUCCESS",
"data": <job id>}`; a refusal HTTP 400 `{"status": "ERROR", "errormessage": ...}`; a
failed login HTTP 401 `{"status": "FAILED", ...}` (pinpointe_wire.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ValidationError

from mailexports.auth import Authenticator
from mailexports.dialects.common import check_notify, describe, submit
from mailexports.dialects.dialect import Dialect
from mailexports.dialects.names import PINPOINTE
from mailexports.dialects.pinpointe_webhook import METHOD_NAMES
from mailexports.dialects.pinpointe_wire import Wire, body_bytes, failure, parse_body, success, wire_of
from mailexports.errors import DomainError, Unauthorized, ValidationFailed, error_details
from mailexports.exports.requests import (
    CampaignActivityParams,
    ExportRequest,
    ExportType,
    NotifyTarget,
    SegmentContactsParams,
)
from mailexports.tenants.models import Tenant

PATH = "/pinpointe"
# Every path under PATH too: clients are configured with the vendor's endpoint URL
# (`.../apijson.php`, `.../xml.php`). Powertools matches a route as a regex on the real path.
ANY_PATH_UNDER = PATH + "/.+"

submit_router = Router()


@dataclass(frozen=True)
class Method:
    requesttype: str
    requestmethod: str
    export_type: ExportType
    details: Callable[[dict[str, Any]], BaseModel]


def _error(message: str, field: str, issue: str) -> ValidationFailed:
    return ValidationFailed(message, [{"field": field, "issue": issue}])


# ---------------------------------------------------------------- details parsing
def _text_id(value: object, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _error(f"{field} must be a string", field, "not a string")
    text = str(value).strip()
    if not text:
        raise _error(f"{field} must not be empty", field, "empty")
    return text


def _yyyymmdd(details: dict[str, Any], name: str) -> date | None:
    field = f"details.{name}"
    value = details.get(name)
    if value is None or value == "":
        return None
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    try:
        if not re.fullmatch(r"\d{8}", text):
            raise ValueError
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise _error(
            f"{field} must be a date in the YYYYMMDD format, such as 20250101",
            field,
            f"got {value!r}",
        ) from None


def _notify(details: dict[str, Any]) -> NotifyTarget:
    notify = details.get("notify")
    if notify is None:
        raise _error(
            "details.notify is required (type email or webhook, and value)", "details.notify", "missing"
        )
    if not isinstance(notify, dict):
        raise _error(
            "details.notify must be an object with type and value", "details.notify", "not an object"
        )
    kind = notify.get("type")
    if not isinstance(kind, str) or kind.strip().lower() not in ("email", "webhook"):
        raise _error("details.notify.type must be email or webhook", "details.notify.type", f"got {kind!r}")
    value = notify.get("value")
    if not isinstance(value, str) or not value.strip():
        what = "an email address" if kind.strip().lower() == "email" else "a webhook URL"
        raise _error(f"details.notify.value is required: {what}", "details.notify.value", "missing")
    target = NotifyTarget(type=kind.strip().lower(), value=value.strip())
    check_notify(target, "details.notify.value")
    return target


def _params[P: BaseModel](model: type[P], values: dict[str, Any], names: Mapping[str, str]) -> P:
    """Build canonical params; anything they still refuse is reported in Pinpointe's names."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        details = error_details(error)
        for detail in details:
            head, _, rest = detail["field"].partition(".")
            detail["field"] = names.get(head, head) + (f".{rest}" if rest else "")
        raise ValidationFailed(describe(ValidationFailed("invalid details", details)), details) from None


def _newsletter_details(details: dict[str, Any]) -> CampaignActivityParams:
    if details.get("stat") in (None, ""):
        raise _error("details.stat is required: the stat ID of the campaign send", "details.stat", "missing")
    stat = _text_id(details["stat"], "details.stat")
    start, end = _yyyymmdd(details, "startdate"), _yyyymmdd(details, "enddate")
    if start and end and end <= start:
        raise _error(
            "details.enddate must be after details.startdate (the interval ends at midnight of enddate)",
            "details.enddate",
            "not after startdate",
        )
    return _params(
        CampaignActivityParams,
        {"stat_id": stat, "start_date": start, "end_date": end},
        {"stat_id": "details.stat", "start_date": "details.startdate", "end_date": "details.enddate"},
    )


_STATUSES = ("any", "active", "inactive", "bounced", "unsubscribed")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no", ""})


def _segment_ids(details: dict[str, Any]) -> list[str]:
    raw = details.get("segmentid")
    if raw is None or raw == "" or raw == []:
        raise _error("details.segmentid is required: at least one segment ID", "details.segmentid", "missing")
    items = raw if isinstance(raw, list) else [raw]
    ids = [_text_id(item, f"details.segmentid.{i}") for i, item in enumerate(items)]
    return list(dict.fromkeys(ids))  # the same segment named twice is one segment


def _membership(details: dict[str, Any]) -> bool:
    value = details.get("include_membership")
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower() if isinstance(value, str | int) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _error(
        "details.include_membership must be true, 1 or yes (or false, 0 or no)",
        "details.include_membership",
        f"got {value!r}",
    )


def _custom_fields(details: dict[str, Any]) -> list[str] | str:
    value = details.get("customfields")
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else [value]
    names = []
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            raise _error(
                "details.customfields must be custom field names, or all",
                f"details.customfields.{i}",
                "not a name",
            )
        names.append(item.strip())
    if any(name.lower() == "all" for name in names):
        return "all"
    return list(dict.fromkeys(names))


def _segment_details(details: dict[str, Any]) -> SegmentContactsParams:
    segment_ids = _segment_ids(details)
    status = details.get("status")
    status = "any" if status is None or status == "" else status
    if not isinstance(status, str) or status.strip().lower() not in _STATUSES:
        raise _error(
            f"details.status must be one of {'|'.join(_STATUSES)}", "details.status", f"got {status!r}"
        )
    return _params(
        SegmentContactsParams,
        {
            "segment_ids": segment_ids,
            "status": status.strip().lower(),
            "include_membership": _membership(details),
            "custom_fields": _custom_fields(details),
        },
        {
            "segment_ids": "details.segmentid",
            "status": "details.status",
            "include_membership": "details.include_membership",
            "custom_fields": "details.customfields",
        },
    )


def _method_for(export_type: ExportType, details: Callable[[dict[str, Any]], BaseModel]) -> Method:
    name = METHOD_NAMES[export_type]  # the webhook names the job the same way
    return Method(name.requesttype, name.requestmethod, export_type, details)


NEWSLETTERS = _method_for(ExportType.CAMPAIGN_ACTIVITY, _newsletter_details)
SEGMENTS = _method_for(ExportType.SEGMENT_CONTACTS, _segment_details)
# requesttype (case-insensitive) -> the method it offers; the seed spells Segments `seg` too.
_REQUEST_TYPES = {"newsletters": NEWSLETTERS, "segments": SEGMENTS, "seg": SEGMENTS}
# Where the core's field names are Pinpointe's.
_NAMES = {"params.stat_id": "details.stat", "params.segment_ids": "details.segmentid"}


def _method(body: dict[str, Any]) -> Method:
    requesttype, requestmethod = body.get("requesttype"), body.get("requestmethod")
    if not isinstance(requesttype, str) or not requesttype.strip():
        raise _error("requesttype is required (Newsletters or Segments)", "requesttype", "missing")
    method = _REQUEST_TYPES.get(requesttype.strip().lower())
    if method is None:
        raise _error(
            f"unknown requesttype {requesttype!r}; use Newsletters or Segments", "requesttype", "unknown"
        )
    if not isinstance(requestmethod, str) or not requestmethod.strip():
        raise _error(
            f"requestmethod is required ({method.requestmethod} for {method.requesttype})",
            "requestmethod",
            "missing",
        )
    if requestmethod.strip().lower() != method.requestmethod.lower():
        raise _error(
            f"unknown requestmethod {requestmethod!r} for requesttype {requesttype}; "
            f"use {method.requestmethod}",
            "requestmethod",
            "unknown",
        )
    return method


def _tenant(body: dict[str, Any]) -> Tenant:
    username, usertoken = body.get("username"), body.get("usertoken")
    if not isinstance(username, str) or not username.strip():
        raise Unauthorized("username is required", [{"field": "username", "issue": "missing"}])
    if not isinstance(usertoken, str) or not usertoken.strip():
        raise Unauthorized("usertoken is required", [{"field": "usertoken", "issue": "missing"}])
    try:
        return Authenticator().tenant_for_user(username, usertoken)
    except Unauthorized:
        raise Unauthorized("invalid username or usertoken") from None


def parse_request(body: object) -> tuple[Method, dict[str, Any]]:
    if not isinstance(body, dict):
        raise ValidationFailed("the request body must be a JSON object or an <xmlrequest>")
    method = _method(body)
    details = body.get("details")
    if details is None:
        raise _error("details is required", "details", "missing")
    if not isinstance(details, dict):
        raise _error("details must be an object", "details", "not an object")
    return method, details


# ---------------------------------------------------------------- the route
@submit_router.post(PATH)
@submit_router.post(ANY_PATH_UNDER)
def pinpointe() -> Response[str]:
    event = submit_router.current_event
    raw = body_bytes(event)
    wire = wire_of(event, raw)  # errors too are answered in the form the request came in
    try:
        body = parse_body(raw, wire)
        if not isinstance(body, dict):
            raise ValidationFailed("the request body must be a JSON object")
        tenant = _tenant(body)  # who is asking, before saying anything about the request
        method, details = parse_request(body)
        params = method.details(details)
        notify = _notify(details)
        request = ExportRequest(type=method.export_type, params=params, notify=notify)
        task = submit(event, tenant, request, dialect=PINPOINTE, names=_NAMES)
    except DomainError as error:
        return failure(error, wire)
    return success(task.task_uuid, wire)


def pinpointe_error(error: DomainError) -> Response[str]:
    """Refusals raised outside the route (no such route or method): JSON, the default wire."""
    return failure(error, Wire.JSON)


DIALECT = Dialect(
    name=PINPOINTE,
    path_prefix=PATH,
    render_error=pinpointe_error,
    submit_routers=(submit_router,),
)
