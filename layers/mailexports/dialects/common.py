"""What the compatibility dialects share: reading vendor parameters, credentials,
notify targets, and submitting through the one canonical core.

A dialect raises the same DomainErrors as the canonical API, with `details`
naming the vendor's own fields; its registered renderer (api/errors.py) words
them the vendor's way.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl

from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from mailexports.api.bodies import body_text, parse_json
from mailexports.api.http import api_base_url
from mailexports.auth import Authenticator
from mailexports.errors import DomainError, Unauthorized, UnknownReference, ValidationFailed
from mailexports.exports.requests import ExportRequest, NotifyTarget
from mailexports.exports.submit import ExportSubmitter
from mailexports.exports.submit_rate import SubmitRate
from mailexports.exports.task import ExportTask
from mailexports.notify.targets import validate_notify_target
from mailexports.tenants.models import Tenant

Params = dict[str, list[str]]


def headers_of(event: BaseProxyEvent) -> dict[str, str]:
    return {k.lower(): v for k, v in (event.headers or {}).items()}


def request_params(event: BaseProxyEvent) -> Params:
    """Every value of every parameter, from the query string and (for a POST) the body:
    a form (urlencoded or multipart) or a JSON object. Body values come after query values."""
    params: Params = {}
    multi = event.multi_value_query_string_parameters or {}
    single = event.query_string_parameters or {}
    for name, values in (multi or {k: [v] for k, v in single.items()}).items():
        params.setdefault(name, []).extend(values)
    for name, value in _body_params(event):
        params.setdefault(name, []).append(value)
    return params


def _body_params(event: BaseProxyEvent) -> list[tuple[str, str]]:
    raw = body_text(event)
    if not raw or not raw.strip():
        return []
    content_type = headers_of(event).get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        return _multipart(headers_of(event)["content-type"], raw)
    if content_type.startswith("application/json") or raw.lstrip()[:1] in ("{", "["):
        # JSON sent without its content type (curl -d '{...}') is still JSON, never a form.
        return _json_params(raw)
    # Forms are what HTTP clients send by default (curl -d, requests' data=, PHP's http_build_query).
    return parse_qsl(raw, keep_blank_values=True)


def _json_params(raw: str) -> list[tuple[str, str]]:
    body = parse_json(raw)
    if isinstance(body, list) and not body:
        return []  # PHP's json_encode(array()) of "no parameters"
    if not isinstance(body, dict):
        raise ValidationFailed("the request body must be a JSON object")
    pairs: list[tuple[str, str]] = []
    for name, value in body.items():
        for item in value if isinstance(value, list) else [value]:
            if item is not None:
                pairs.append((name, _text(item)))
    return pairs


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _multipart(content_type: str, raw: str) -> list[tuple[str, str]]:
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + raw.encode("utf-8", "surrogateescape"))
    pairs: list[tuple[str, str]] = []
    for part in message.iter_parts() if message.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            pairs.append((name, payload.decode("utf-8", "replace")))
    return pairs


def last(params: Params, name: str) -> str | None:
    """The parameter's value (the last one when repeated, as API Gateway does)."""
    values = params.get(name)
    return values[-1] if values else None


_INDEXED = re.compile(r"^(?P<name>[^\[\]]+)\[(?P<index>\d*)\]$")


def list_param(params: Params, name: str) -> list[str]:
    """`name[]=1&name[]=2`, PHP's `name[0]=1&name[1]=2`, or `name=1,2`, in order."""
    values: list[str] = []
    indexed: list[tuple[int, int, str]] = []
    for key, items in params.items():
        match = _INDEXED.match(key)
        if key == name:
            values += [part for item in items for part in item.split(",")]
        elif match and match["name"] == name:
            position = int(match["index"]) if match["index"] else -1
            indexed += [(position, len(indexed), item) for item in items]
    values += [item for _, _, item in sorted(indexed, key=lambda entry: (entry[0], entry[1]))]
    return [value.strip() for value in values if value.strip()]


def authenticate(key: str | None, name: str) -> Tenant:
    """The tenant whose API key the vendor's credential parameter `name` carries."""
    if key is None or not key.strip():
        raise Unauthorized(f"{name} is required", [{"field": name, "issue": "missing"}])
    try:
        return Authenticator().tenant_for_key(key)
    except Unauthorized:
        raise Unauthorized(f"invalid {name}", [{"field": name, "issue": "not a valid key"}]) from None


def check_notify(target: NotifyTarget, field: str) -> None:
    """Refuse, before anything is written, a target that could never be notified."""
    try:
        validate_notify_target(target)
    except ValidationFailed as error:
        issue = error.details[0]["issue"] if error.details else error.message
        raise ValidationFailed(
            f"{field} is not usable: {issue}", [{"field": field, "issue": issue}]
        ) from None


def renamed(error: DomainError, names: Mapping[str, str]) -> DomainError:
    """`error` with canonical field paths (`params.stat_id`) spelled the dialect's way."""
    details = []
    for detail in error.details:
        field = str(detail.get("field", ""))
        for canonical, dialect in names.items():
            if field == canonical or field.startswith(canonical + "."):
                field = dialect + field[len(canonical) :]
                break
        details.append({**detail, "field": field})
    return type(error)(error.message, details)


def submit(
    event: BaseProxyEvent,
    tenant: Tenant,
    request: ExportRequest,
    *,
    dialect: str,
    names: Mapping[str, str],
) -> ExportTask:
    """Submit through the canonical core; unknown references come back in the dialect's names.
    A tenant over its submit rate is refused (RateLimited), as on the canonical API."""
    try:
        task, _ = ExportSubmitter(rate=SubmitRate()).submit(
            tenant.tenant_id, request, api_base_url=api_base_url(event), dialect=dialect
        )
    except UnknownReference as error:
        named = renamed(error, names)
        message = "; ".join(f"{d['field']}: {d['issue']}" for d in named.details) or error.message
        raise UnknownReference(message, named.details) from None
    return task


def describe(error: DomainError) -> str:
    """One line saying what is wrong: the message, then whatever the details add to it."""
    extra = []
    for detail in error.details:
        field, issue = str(detail.get("field", "")), str(detail.get("issue", ""))
        if not issue or issue in error.message:
            continue
        if field and field in error.message:
            if issue.startswith("got "):  # the offending value is worth repeating
                extra.append(issue)
            continue
        extra.append(f"{field}: {issue}" if field else issue)
    return f"{error.message} ({'; '.join(extra)})" if extra else error.message


def task_id(text: str) -> str | None:
    """The canonical spelling of a task id, or None when `text` cannot be one (so a
    malformed id is an ordinary "not found", never a store error)."""
    try:
        return str(uuid.UUID(text.strip()))
    except ValueError:
        return None


def path_parameter(event: BaseProxyEvent, name: str) -> str | None:
    """A path parameter as API Gateway hands it over: URL-decoded (the route match is not)."""
    value = (event.raw_event.get("pathParameters") or {}).get(name)
    return value if isinstance(value, str) else None
