"""The API Gateway REST (payload 1.0) proxy event, field by field, and the proxy response."""

from __future__ import annotations

import base64
import calendar
import re

import pytest

from mailexports_dev.local.proxy_event import (
    GatewayInfo,
    HttpRequest,
    MalformedProxyResponse,
    build_proxy_event,
    response_from_proxy_result,
)
from mailexports_dev.local.template import ApiRoute

ROUTE = ApiRoute("GET", "/v1/campaigns/{campaign_id}/tracking/{activity}")
GATEWAY = GatewayInfo(stage="dev", api_id="abc123defg", port=3000)
NOW = calendar.timegm((2025, 3, 1, 10, 11, 12)) + 0.345


def _request(**overrides: object) -> HttpRequest:
    fields: dict[str, object] = {
        "method": "GET",
        "raw_path": "/v1/campaigns/c%2F1/tracking/opens",
        "query": "",
        "headers": [("Host", "127.0.0.1:3000"), ("User-Agent", "curl/8.5"), ("Accept", "*/*")],
        "body": b"",
        "source_ip": "127.0.0.1",
    }
    fields.update(overrides)
    return HttpRequest(**fields)  # type: ignore[arg-type]


def test_top_level_fields_of_a_get_without_query_or_body() -> None:
    params = {"campaign_id": "c/1", "activity": "opens"}
    event = build_proxy_event(_request(), ROUTE, params, GATEWAY, request_id="req-1", now=NOW)
    assert event["resource"] == ROUTE.path
    assert event["path"] == "/v1/campaigns/c%2F1/tracking/opens"  # as received, like REST APIs
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"campaign_id": "c/1", "activity": "opens"}
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["stageVariables"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False


def test_request_context() -> None:
    event = build_proxy_event(_request(), ROUTE, {}, GATEWAY, request_id="req-1", now=NOW)
    context = event["requestContext"]
    assert context["accountId"] == "123456789012"
    assert context["apiId"] == "abc123defg"
    assert context["stage"] == "dev"
    assert context["requestId"] == "req-1"
    assert context["requestTime"] == "01/Mar/2025:10:11:12 +0000"
    assert context["requestTimeEpoch"] == int(NOW * 1000)
    assert context["resourcePath"] == ROUTE.path
    assert context["httpMethod"] == "GET"
    assert context["path"] == "/dev/v1/campaigns/c%2F1/tracking/opens"
    assert context["protocol"] == "HTTP/1.1"
    assert context["domainName"] == "127.0.0.1:3000"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "curl/8.5"
    assert re.fullmatch(r"[0-9a-f]{6}", context["resourceId"])
    same_resource = build_proxy_event(_request(), ROUTE, {}, GATEWAY, now=NOW)["requestContext"]
    assert same_resource["resourceId"] == context["resourceId"]
    assert same_resource["requestId"] != "req-1"
    # Without a pathParameters map, API Gateway sends null, not {}.
    assert event["pathParameters"] is None


def test_repeated_headers_keep_the_last_value_in_headers_and_all_in_multi_value_headers() -> None:
    request = _request(
        headers=[("Host", "h"), ("X-Tag", "a"), ("X-Tag", "b"), ("X-Forwarded-For", "203.0.113.9")]
    )
    event = build_proxy_event(request, ROUTE, {}, GATEWAY, now=NOW)
    assert event["headers"]["X-Tag"] == "b"
    assert event["multiValueHeaders"]["X-Tag"] == ["a", "b"]
    assert event["headers"]["Host"] == "h"
    # API Gateway appends the caller to X-Forwarded-For and adds port, protocol and a trace id.
    assert event["headers"]["X-Forwarded-For"] == "203.0.113.9, 127.0.0.1"
    assert event["headers"]["X-Forwarded-Port"] == "3000"
    assert event["headers"]["X-Forwarded-Proto"] == "http"
    assert event["headers"]["X-Amzn-Trace-Id"].startswith("Root=1-")
    assert set(event["headers"]) == set(event["multiValueHeaders"])


def test_a_request_over_the_https_listener_says_so_in_the_forwarded_headers() -> None:
    request = _request(headers=[("X-Forwarded-Proto", "gopher")], scheme="https", server_port=3443)
    event = build_proxy_event(request, ROUTE, {}, GATEWAY, now=NOW)
    assert event["headers"]["X-Forwarded-Proto"] == "https"  # the client's own value is replaced
    assert event["headers"]["X-Forwarded-Port"] == "3443"
    assert event["requestContext"]["domainName"] == "127.0.0.1:3443"  # no Host header: the listener


def test_query_parameters_are_decoded_with_repeats_and_blank_values() -> None:
    request = _request(query="field_ids[]=1&field_ids[]=2&q=a+b%26c&empty=&email=ann%40example.com")
    event = build_proxy_event(request, ROUTE, {}, GATEWAY, now=NOW)
    assert event["queryStringParameters"] == {
        "field_ids[]": "2",
        "q": "a b&c",
        "empty": "",
        "email": "ann@example.com",
    }
    assert event["multiValueQueryStringParameters"]["field_ids[]"] == ["1", "2"]
    assert event["multiValueQueryStringParameters"]["q"] == ["a b&c"]


def test_text_body_is_passed_as_a_string() -> None:
    body = '{"type": "campaign_activity", "name": "Zoë"}'
    request = _request(method="POST", body=body.encode(), headers=[("Content-Type", "application/json")])
    event = build_proxy_event(request, ApiRoute("POST", "/v1/exports"), {}, GATEWAY, now=NOW)
    assert event["body"] == body
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/octet-stream", b"plain ascii but declared binary"),
        ("application/json", b"\xff\xfe\x00 not utf-8"),
        ("image/png", b"\x89PNG\r\n\x1a\n"),
    ],
)
def test_binary_body_is_base64_encoded(content_type: str, body: bytes) -> None:
    request = _request(method="POST", body=body, headers=[("Content-Type", content_type)])
    event = build_proxy_event(request, ApiRoute("POST", "/v1/exports"), {}, GATEWAY, now=NOW)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


# ---------------------------------------------------------------- responses


def test_proxy_response_merges_headers_and_defaults_the_content_type() -> None:
    response = response_from_proxy_result(
        {
            "statusCode": 202,
            "headers": {"Location": "/v1/exports/1", "Set-Cookie": "a=1"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": '{"ok": true}',
        },
        "req-1",
    )
    assert response.status == 202
    assert [v for k, v in response.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert response.header("Location") == "/v1/exports/1"
    assert response.header("Content-Type") == "application/json"
    assert response.header("x-amzn-RequestId") == "req-1"
    assert response.body == b'{"ok": true}'


def test_proxy_response_decodes_base64_bodies() -> None:
    payload = b"\x1f\x8b\x08\x00binary"
    response = response_from_proxy_result(
        {
            "statusCode": 200,
            "headers": {"Content-Type": "application/gzip"},
            "body": base64.b64encode(payload).decode(),
            "isBase64Encoded": True,
        },
        "r",
    )
    assert response.body == payload
    assert response.header("Content-Type") == "application/gzip"


@pytest.mark.parametrize(
    "result",
    [
        "not an object",
        {"body": "no status"},
        {"statusCode": 200, "body": {"an": "object"}},
        {"statusCode": 200, "headers": {"X": {"nested": 1}}},
        {"statusCode": 200, "body": "@@", "isBase64Encoded": True},
        {"statusCode": 200, "extra": 1},
    ],
)
def test_malformed_proxy_responses_are_rejected(result: object) -> None:
    with pytest.raises(MalformedProxyResponse):
        response_from_proxy_result(result, "r")
