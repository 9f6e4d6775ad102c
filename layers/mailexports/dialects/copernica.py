"""Copernica REST v3 (seed 003): `POST /copernica/v3/email/{email}/datarequest` and
`GET /copernica/v3/datarequest/{id}` (and its `/status` and `/data`), authenticated by
the `access_token` parameter.

- The POST starts a `contact_data` export of the address. `report` (optional, in the
  query or the JSON body) is an email address, which gets the file attached when small
  enough and linked otherwise (the notifier's email), or a web address, which gets an
  HTTP POST of the JSON data itself (copernica_webhook.py).
- The POST answers `201` with the identifier in `X-Created` (where Copernica's own
  PHP class reads the id of what a POST created), in `Location` and in the body.
  The identifier is the task's UUID written as its decimal number: that class only
  accepts digits (`X-Created:\\s?(\\d+)`). The GETs take either spelling.
- `GET .../{id}` (the seed page) answers the file `{"info": {"type": "email", "id": ...},
  "data": [[...], ...]}` once ready, `"data": "Data not available (yet)"` before; an
  expired request is gone (404).
- `GET .../{id}/status` (the vendor's rest-get-datarequest-status page) always answers
  200 `{"status": "available" | "pending" | "not available"}`, with `available` (bytes
  collected so far) and `content-type` while there is or will be data; an identifier we
  know nothing about (unknown, another account's, expired, failed) is "not available",
  as the vendor's page says.
- `GET .../{id}/data` (rest-get-datarequest-data) answers the file, and 404 until it is
  ready (the vendor's page).

Every JSON answer has the content type `application/json` exactly: the PHP class only
decodes a GET's answer when `CURLINFO_CONTENT_TYPE == 'application/json'`.

Errors are `{"error": {"message": ...}}`; status 400 for everything the caller got
wrong (Copernica's PHP class treats only 400 as a failed POST), 404 for an unknown or
expired identifier, 410 for a request that failed or was cancelled.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from pydantic import ValidationError

from mailexports.api.http import api_base_url, json_response
from mailexports.api.status import status_of
from mailexports.auth import bearer_or_api_key
from mailexports.dialects.common import (
    authenticate,
    check_notify,
    describe,
    headers_of,
    last,
    path_parameter,
    request_params,
    submit,
    task_id,
)
from mailexports.dialects.copernica_webhook import file_text, info
from mailexports.dialects.dialect import Dialect
from mailexports.dialects.names import COPERNICA
from mailexports.errors import DomainError, NotFound, RateLimited, ValidationFailed
from mailexports.exports.requests import ContactDataParams, ExportRequest, ExportType, NotifyTarget
from mailexports.exports.task import ExportTask, TaskStatus
from mailexports.exports.task_store import DynamoTaskStore
from mailexports.exports.task_view import effective_status, presigned_url
from mailexports.tenants.models import Tenant

PREFIX = "/copernica/"
DATA_REQUEST = "/copernica/v3/email/<email>/datarequest"
DATA_REQUEST_STATUS = "/copernica/v3/datarequest/<identifier>"
DATA_REQUEST_PROGRESS = "/copernica/v3/datarequest/<identifier>/status"
DATA_REQUEST_DATA = "/copernica/v3/datarequest/<identifier>/data"
JSON = content_types.APPLICATION_JSON
NOT_YET = "Data not available (yet)"
# A file is answered inline up to this size once JSON-escaped (Lambda answers at most
# 6 MB); a bigger one is a redirect to its signed S3 URL.
INLINE_MAX_BYTES = 5_500_000

submit_router = Router()
status_router = Router()


class DataRequestGone(DomainError):
    """The data request failed or was cancelled: there will never be data for it."""

    code = "gone"


def public_id(task_uuid: str) -> str:
    """The identifier a Copernica client sees: the task's UUID as a decimal number."""
    return str(uuid.UUID(task_uuid).int)


def task_uuid_of(identifier: str) -> str | None:
    text = identifier.strip()
    if text.isdigit() and len(text) <= 39:
        number = int(text)
        return str(uuid.UUID(int=number)) if number < 2**128 else None
    return task_id(text)


def _tenant(event: BaseProxyEvent) -> Tenant:
    query = event.query_string_parameters or {}
    return authenticate(query.get("access_token") or bearer_or_api_key(headers_of(event)), "access_token")


def _report(value: str | None) -> NotifyTarget | None:
    text = (value or "").strip()
    if not text:
        return None
    if "://" in text:
        target = NotifyTarget(type="webhook", value=text)
    elif "@" in text:
        target = NotifyTarget(type="email", value=text)
    else:
        raise ValidationFailed(
            "report must be an email address or a web address (https://...)",
            [{"field": "report", "issue": f"got {text!r}"}],
        )
    check_notify(target, "report")
    return target


@submit_router.post(DATA_REQUEST)
def create_data_request(email: str) -> Response[str]:
    event = submit_router.current_event
    tenant = _tenant(event)
    # API Gateway hands the path parameter over URL-decoded; the route match is still encoded.
    address = (path_parameter(event, "email") or unquote(email)).strip()
    try:
        params = ContactDataParams(email=address)
    except ValidationError:
        raise ValidationFailed(
            f"{address!r} is not an email address", [{"field": "email", "issue": "not an email address"}]
        ) from None
    report = _report(last(request_params(event), "report"))
    request = ExportRequest(type=ExportType.CONTACT_DATA, params=params, notify=report)
    task = submit(event, tenant, request, dialect=COPERNICA, names={"params.email": "email"})
    identifier = public_id(task.task_uuid)
    location = f"{api_base_url(event)}/copernica/v3/datarequest/{identifier}"
    return json_response(201, {"id": identifier}, {"X-Created": identifier, "Location": location})


def _data_request(identifier: str) -> tuple[str, ExportTask | None]:
    """The identifier as the caller wrote it, and the caller's data request it names (or None)."""
    event = status_router.current_event
    tenant = _tenant(event)
    shown = unquote(identifier)
    task_uuid = task_uuid_of(shown)
    if task_uuid is None:
        return shown, None
    try:
        task = DynamoTaskStore().get(task_uuid, tenant.tenant_id)
    except NotFound:
        return shown, None  # another tenant's identifier is indistinguishable from an unknown one
    return shown, task if task.task_type is ExportType.CONTACT_DATA else None


def _gone_or_expired(task: ExportTask, shown: str) -> DomainError:
    """Why a request that is neither pending nor completed has no data."""
    status = effective_status(task)
    if status is TaskStatus.EXPIRED:
        return NotFound(f"data request {shown} has expired; its data is no longer available")
    what = "failed" if status is TaskStatus.FAILED else "was cancelled"
    reason = f": {task.error.message}" if task.error else ""
    return DataRequestGone(f"data request {shown} {what}{reason}")


@status_router.get(DATA_REQUEST_STATUS)
def data_request(identifier: str) -> Response[str]:
    shown, task = _data_request(identifier)
    if task is None:
        raise NotFound(f"no data request {shown}")
    status = effective_status(task)
    if status in (TaskStatus.NEW, TaskStatus.PROCESSING):
        return json_response(200, {"info": info(task.params["email"]), "data": NOT_YET})
    if status is not TaskStatus.COMPLETED or not task.files:
        raise _gone_or_expired(task, shown)
    return _file_response(task)


@status_router.get(DATA_REQUEST_PROGRESS)
def data_request_status(identifier: str) -> Response[str]:
    _, task = _data_request(identifier)
    return json_response(200, progress(task))


@status_router.get(DATA_REQUEST_DATA)
def data_request_data(identifier: str) -> Response[str]:
    shown, task = _data_request(identifier)
    if task is None:
        raise NotFound(f"no data request {shown}")
    status = effective_status(task)
    if status in (TaskStatus.NEW, TaskStatus.PROCESSING):
        raise NotFound(f"the data of data request {shown} is not available yet")
    if status is not TaskStatus.COMPLETED or not task.files:
        raise _gone_or_expired(task, shown)
    return _file_response(task)


def progress(task: ExportTask | None) -> dict[str, Any]:
    """The vendor's status document: `available` counts the bytes of the file collected so
    far (data requests are never compressed, so it is also what `/data` will answer)."""
    status = effective_status(task) if task is not None else None
    if task is not None and status in (TaskStatus.NEW, TaskStatus.PROCESSING):
        return {"status": "pending", "available": task.progress.bytes, "content-type": JSON}
    if task is not None and status is TaskStatus.COMPLETED and task.files:
        return {"status": "available", "available": task.files[0].bytes, "content-type": JSON}
    return {"status": "not available"}


def _file_response(task: ExportTask) -> Response[str]:
    """The file inline, or a redirect to it when Lambda could not answer it whole."""
    text = file_text(task, INLINE_MAX_BYTES)
    if text is None or len(json.dumps(text)) > INLINE_MAX_BYTES:
        # An empty body, not None: Powertools validates the answer against `Response[str]`.
        headers = {"Location": presigned_url(task.files[0]), "Cache-Control": "no-store"}
        return Response(status_code=302, headers=headers, body="")
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=text)


# 400 for everything the caller got wrong (the only failure Copernica's PHP class knows).
STATUS: dict[type[DomainError], int] = {
    DomainError: 400,
    NotFound: 404,
    DataRequestGone: 410,
    RateLimited: 429,  # over the submit rate
}


def copernica_error(error: DomainError) -> Response[str]:
    return json_response(status_of(error, STATUS), {"error": {"message": describe(error)}})


DIALECT = Dialect(
    name=COPERNICA,
    path_prefix=PREFIX,
    render_error=copernica_error,
    submit_routers=(submit_router,),
    status_routers=(status_router,),
)
