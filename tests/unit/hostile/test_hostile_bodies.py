"""Hostile bodies on every route that reads one, in every dialect: each is a 4xx in the
caller's dialect (Selzy: HTTP 200 with an in-band error) naming what is wrong, and
nothing is written: no task, no queue message."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
from tests.unit.hostile.support import ROUTES, Route, refused

from mailexports.config import Settings
from mailexports.tenants.models import CreatedTenant

pytestmark = pytest.mark.usefixtures("aws_stack")

DEPTH = 100_000  # far beyond Python's recursion limit, well inside API Gateway's 10 MB


def valid_body(route: Route, tenant: CreatedTenant, value: Any = "981") -> dict[str, Any]:
    """A request body the route would accept, with `value` in its one free-text field."""
    if route.dialect == "canonical":
        return {"type": "campaign_activity", "params": {"stat_id": value}}
    if route.dialect == "pinpointe":
        return {
            "username": tenant.username,
            "usertoken": tenant.api_key,
            "requesttype": "Newsletters",
            "requestmethod": "GetNewsletterContactDataSummaryAsync",
            "details": {"stat": value, "notify": {"type": "email", "value": "ops@acme.example"}},
        }
    if route.name == "selzy-stats":
        return {"campaign_id": value}
    if route.name == "selzy-result":
        return {"task_uuid": value}
    return {"report": value}  # Copernica


# (id, body bytes, content type, a word the refusal must contain)
BODIES: list[tuple[str, bytes, str | None, str]] = [
    ("invalid-utf8", b'{"type": "campaign_activity", "params": {"stat_id": "\xff\xfe"}}', None, "utf-8"),
    ("invalid-utf8-latin1", '{"report": "café"}'.encode("latin-1"), None, "utf-8"),
    ("lone-continuation", b"\x80", None, "utf-8"),
    ("binary-garbage", bytes(range(256)) * 4, None, "utf-8"),
    ("raw-nul", b'{"a": "\x00"}', None, "json"),
    ("only-nuls", b"\x00" * 64, None, "json"),
    ("deep-array", b"[" * DEPTH + b"]" * DEPTH, None, "nested"),
    ("deep-object", b'{"a":' * DEPTH + b"1" + b"}" * DEPTH, None, "nested"),
    ("truncated-json", b'{"type": "campaign_activity", "params": {', None, "json"),
]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
@pytest.mark.parametrize(("raw", "content_type", "word"), [b[1:] for b in BODIES], ids=[b[0] for b in BODIES])
def test_a_hostile_body_is_refused_in_the_dialect_and_writes_nothing(
    handlers: dict[str, ModuleType],
    aws_stack: Settings,
    tenant: CreatedTenant,
    route: Route,
    raw: bytes,
    content_type: str | None,
    word: str,
) -> None:
    event = route.event(tenant.api_key, raw, content_type=content_type or "application/json")
    message = refused(handlers, aws_stack, route, event)
    assert word in message.lower(), message


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
@pytest.mark.parametrize(
    "body", ["!!! not base64 !!!", "YWJj=ZGVm", "Zm9v\x00"], ids=["symbols", "padding", "nul"]
)
def test_a_body_marked_base64_that_is_not_is_refused(
    handlers: dict[str, ModuleType], aws_stack: Settings, tenant: CreatedTenant, route: Route, body: str
) -> None:
    event = route.event(tenant.api_key, body, base64_encoded=True)
    assert "base64" in refused(handlers, aws_stack, route, event).lower()


# The field each route's free-text value is in, as the dialect calls it.
FIELD = {
    "v1": "stat_id",
    "pinpointe": "details.stat",
    "pinpointe-xml.php": "details.stat",
    "selzy-stats": "campaign_id",
    "selzy-result": "task_uuid",
    "copernica": "report",
}
# Every other Selzy method is refused whatever its parameters, so it has no valid request.
VALUE_ROUTES = [route for route in ROUTES if route.name != "selzy-other"]


@pytest.mark.parametrize("route", VALUE_ROUTES, ids=lambda r: r.name)
@pytest.mark.parametrize(
    "value",
    ["98\x001", "\x00", "x" * 1_000_000, "98\ud8001", [[[["981"]]]], {"stat": {"stat": {"stat": "981"}}}],
    ids=["nul-inside", "only-nul", "huge-string", "lone-surrogate", "nested-list", "nested-object"],
)
def test_a_hostile_value_in_a_valid_request_is_refused(
    handlers: dict[str, ModuleType],
    aws_stack: Settings,
    tenant: CreatedTenant,
    route: Route,
    value: Any,
) -> None:
    body = valid_body(route, tenant, value)
    event = route.event(tenant.api_key, json.dumps(body).encode())
    message = refused(handlers, aws_stack, route, event)
    assert FIELD[route.name] in message or "surrogate" in message, message


@pytest.mark.parametrize("route", VALUE_ROUTES, ids=lambda r: r.name)
def test_a_deeply_nested_value_in_a_valid_request_is_refused(
    handlers: dict[str, ModuleType], aws_stack: Settings, tenant: CreatedTenant, route: Route
) -> None:
    body = json.dumps(valid_body(route, tenant, "PLACEHOLDER"))
    raw = body.replace('"PLACEHOLDER"', "[" * DEPTH + "]" * DEPTH).encode()
    assert "nested" in refused(handlers, aws_stack, route, route.event(tenant.api_key, raw)).lower()
