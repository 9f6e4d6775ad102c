"""API Gateway REST API (payload 1.0) Lambda proxy integration: request -> event, result -> response.

Field by field what API Gateway sends: `path` as received (still percent-encoded),
`pathParameters` and query parameters URL-decoded, single-value maps holding the last
value of a repeated name, `null` (not `{}`) where there is nothing, the body as text
unless it is binary (then base64 with `isBase64Encoded`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from mailexports_dev.local.resources import ACCOUNT
from mailexports_dev.local.template import ApiRoute

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_BINARY_TYPES = ("application/octet-stream", "application/gzip", "application/x-gzip", "application/zip",
                 "application/pdf", "image/", "audio/", "video/", "font/")  # fmt: skip


@dataclass(frozen=True)
class HttpRequest:
    method: str
    raw_path: str  # percent-encoded, without the query string
    query: str  # raw query string, without "?"
    headers: list[tuple[str, str]]  # as received: names in their case, repeats kept
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"
    scheme: str = "http"  # of the listener it came in on (the stack listens with and without TLS)
    server_port: int | None = None  # that listener's port; None: the gateway's

    def header(self, name: str) -> str | None:
        found = [value for key, value in self.headers if key.lower() == name.lower()]
        return found[-1] if found else None


@dataclass(frozen=True)
class GatewayInfo:
    """What identifies the emulated API: its stage, id and the local port it listens on."""

    stage: str
    api_id: str = "localapi01"
    port: int = 3000


def build_proxy_event(
    request: HttpRequest,
    route: ApiRoute,
    path_parameters: Mapping[str, str],
    gateway: GatewayInfo,
    *,
    request_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The event Lambda receives from an API Gateway REST API proxy integration."""
    now = time.time() if now is None else now
    request_id = request_id or str(uuid.uuid4())
    headers = _forwarding_headers(request, gateway, now)
    queries = parse_qsl(request.query, keep_blank_values=True)
    body, is_base64 = _event_body(request)
    host = request.header("Host") or f"127.0.0.1:{request.server_port or gateway.port}"
    return {
        "resource": route.path,
        "path": request.raw_path,
        "httpMethod": request.method,
        "headers": _last_values(headers),
        "multiValueHeaders": _all_values(headers),
        "queryStringParameters": _last_values(queries),
        "multiValueQueryStringParameters": _all_values(queries),
        "pathParameters": dict(path_parameters) or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": gateway.api_id,
            "resourceId": _resource_id(route.path),
            "resourcePath": route.path,
            "httpMethod": request.method,
            "extendedRequestId": base64.b32encode(uuid.uuid4().bytes)[:16].decode().rstrip("="),
            "requestId": request_id,
            "requestTime": _request_time(now),
            "requestTimeEpoch": int(now * 1000),
            "path": f"/{gateway.stage}{request.raw_path}",
            "stage": gateway.stage,
            "protocol": request.protocol,
            "domainName": host,
            "domainPrefix": host.split(":")[0].split(".")[0],
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": request.source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": request.header("User-Agent"),
                "user": None,
            },
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _forwarding_headers(request: HttpRequest, gateway: GatewayInfo, now: float) -> list[tuple[str, str]]:
    """Request headers plus the X-Forwarded-* and trace headers API Gateway adds.

    X-Forwarded-Proto/Port describe the local listener the request came in on (http or
    https, its port) so a handler that builds links from them produces links that work locally.
    """
    added = {"x-forwarded-for", "x-forwarded-port", "x-forwarded-proto", "x-amzn-trace-id"}
    headers = [(name, value) for name, value in request.headers if name.lower() not in added]
    forwarded_for = request.header("X-Forwarded-For")
    trace_id = f"Root=1-{int(now):08x}-{uuid.uuid4().hex[:24]}"
    return [
        *headers,
        ("X-Amzn-Trace-Id", trace_id),
        ("X-Forwarded-For", f"{forwarded_for}, {request.source_ip}" if forwarded_for else request.source_ip),
        ("X-Forwarded-Port", str(request.server_port or gateway.port)),
        ("X-Forwarded-Proto", request.scheme),
    ]


def _last_values(pairs: list[tuple[str, str]]) -> dict[str, str] | None:
    return dict(pairs) or None


def _all_values(pairs: list[tuple[str, str]]) -> dict[str, list[str]] | None:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped or None


def _event_body(request: HttpRequest) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    content_type = (request.header("Content-Type") or "").lower()
    binary = request.header("Content-Encoding") is not None or content_type.startswith(_BINARY_TYPES)
    if not binary:
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode("ascii"), True


def _resource_id(path: str) -> str:
    """Stable per resource (path), like API Gateway's resource ids."""
    return hashlib.sha256(path.encode()).hexdigest()[:6]


def _request_time(now: float) -> str:
    t = time.gmtime(now)
    clock = f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{clock} +0000"


# ---------------------------------------------------------------- responses

_RESPONSE_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
MAX_RESPONSE_BYTES = 6 * 1024 * 1024  # Lambda's synchronous response limit


class MalformedProxyResponse(Exception):
    """The handler's result is not a valid proxy response (API Gateway answers 502)."""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        found = [value for key, value in self.headers if key.lower() == name.lower()]
        return found[-1] if found else None


def gateway_error(status: int, body: str, error_type: str, request_id: str) -> HttpResponse:
    """An error API Gateway itself produces (the body spelled exactly as API Gateway spells it)."""
    return HttpResponse(
        status,
        [
            ("Content-Type", "application/json"),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", error_type),
        ],
        body.encode(),
    )


def missing_authentication_token(request_id: str) -> HttpResponse:
    return gateway_error(
        403, '{"message":"Missing Authentication Token"}', "MissingAuthenticationTokenException", request_id
    )


def internal_server_error(request_id: str) -> HttpResponse:
    return gateway_error(
        502, '{"message": "Internal server error"}', "InternalServerErrorException", request_id
    )


def response_from_proxy_result(result: Any, request_id: str) -> HttpResponse:
    """Turn the handler's proxy response into the HTTP response API Gateway sends."""
    if not isinstance(result, dict):
        raise MalformedProxyResponse(f"the handler returned {type(result).__name__}, not an object")
    unknown = set(result) - _RESPONSE_KEYS
    if unknown:
        raise MalformedProxyResponse(f"unexpected keys in the proxy response: {sorted(unknown)}")
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedProxyResponse(f"statusCode must be an HTTP status code, got {status!r}")
    headers = _merge_headers(result.get("headers"), result.get("multiValueHeaders"))
    body = _response_body(result.get("body"), result.get("isBase64Encoded", False))
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))  # API Gateway's default
    headers.append(("x-amzn-RequestId", request_id))
    return HttpResponse(status, headers, body)


def _merge_headers(single: Any, multi: Any) -> list[tuple[str, str]]:
    """Both maps merged; a name/value pair present in both is sent once (API Gateway's rule)."""
    if single is not None and not isinstance(single, dict):
        raise MalformedProxyResponse("headers must be an object")
    if multi is not None and not isinstance(multi, dict):
        raise MalformedProxyResponse("multiValueHeaders must be an object")
    merged: list[tuple[str, str]] = []
    for name, values in (multi or {}).items():
        if not isinstance(values, list):
            raise MalformedProxyResponse(f"multiValueHeaders[{name!r}] must be a list")
        merged.extend((name, _header_value(name, value)) for value in values)
    seen = {(name.lower(), value) for name, value in merged}
    for name, value in (single or {}).items():
        text = _header_value(name, value)
        if (name.lower(), text) not in seen:
            merged.append((name, text))
    return merged


def _header_value(name: str, value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        raise MalformedProxyResponse(f"header {name!r} must be a string, got {value!r}")
    return str(value)


def _response_body(body: Any, is_base64: Any) -> bytes:
    if body is None:
        return b""
    if not isinstance(body, str):
        raise MalformedProxyResponse(f"body must be a string, got {type(body).__name__}")
    if is_base64:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as error:
            raise MalformedProxyResponse(f"isBase64Encoded but the body is not base64: {error}") from None
    return body.encode("utf-8")


def json_size(result: Any) -> int:
    return len(json.dumps(result).encode())
