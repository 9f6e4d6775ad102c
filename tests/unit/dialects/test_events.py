"""The sample events in events/<dialect>/ are routes template.yaml declares, and the
handlers behind them answer them in the dialect's shape."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from tests.unit.dialects.support import PUBLIC_ADDRESS, call, load_minimal

from mailexports.config import Settings
from mailexports.notify import ssrf
from mailexports.tenants.models import CreatedTenant
from mailexports_dev.local.template import PROJECT_ROOT, functions

SAMPLE_KEY = "mxk_sample_events_key_not_a_real_secret"
DIALECTS = ("pinpointe", "selzy", "copernica", "constantcontact")
EVENTS = sorted(p for d in DIALECTS for p in (PROJECT_ROOT / "events" / d).glob("*.json"))
HANDLER_OF = {"SubmitFunction": "submit", "StatusFunction": "status"}


def load(path: Path, tenant: CreatedTenant | None = None) -> dict[str, Any]:
    text = path.read_text()
    if tenant is not None:  # the same event, with a real tenant's credentials
        text = text.replace(SAMPLE_KEY, tenant.api_key).replace("demo@example.com", tenant.username)
    event: dict[str, Any] = json.loads(text)
    return event


def function_for(event: dict[str, Any]) -> str:
    owners = [
        spec.logical_id
        for spec in functions()
        for route in spec.routes
        if (route.method, route.path) == (event["httpMethod"], event["resource"])
    ]
    assert len(owners) == 1, f"{event['httpMethod']} {event['resource']} is not one template route"
    return HANDLER_OF[owners[0]]


def dialect_of(path: Path) -> str:
    return path.parent.name


def test_every_dialect_route_has_a_sample_event() -> None:
    declared = {
        (route.method, route.path)
        for spec in functions()
        for route in spec.routes
        if route.path.split("/")[1] in DIALECTS
    }
    sampled = {(load(p)["httpMethod"], load(p)["resource"]) for p in EVENTS}
    assert declared == sampled


def is_dialect_error(dialect: str, status: int, body: Any) -> bool:
    if dialect == "pinpointe":
        return status == 401 and body == {
            "status": "FAILED",
            "errormessage": "Unable to verify user credentials",
        }
    if dialect == "selzy":  # in-band, as the vendor answers errors
        return status == 200 and set(body) == {"error", "code"} and body["code"] == "invalid_api_key"
    if dialect == "copernica":
        return status >= 400 and set(body) == {"error"} and set(body["error"]) == {"message"}
    return status >= 400 and isinstance(body, list) and set(body[0]) == {"error_key", "error_message"}


@pytest.mark.parametrize("path", EVENTS, ids=[f"{p.parent.name}/{p.stem}" for p in EVENTS])
def test_the_sample_key_is_refused_in_the_dialects_shape(
    handlers: dict[str, ModuleType], aws_stack: Settings, path: Path
) -> None:
    event = load(path)
    answer = call(handlers, function_for(event), event)
    assert is_dialect_error(dialect_of(path), answer.status, answer.body), answer.raw
    assert "key" in answer.raw or "token" in answer.raw or "credentials" in answer.raw


# What each sample does for a real tenant holding the minimal data set.
OUTCOMES = {
    "pinpointe/newsletter_contact_data_summary": 200,
    "pinpointe/segment_subscribers": 200,
    "pinpointe/segment_subscribers_apijson": 200,  # the vendor's endpoint URL, as clients have it
    "selzy/get_campaign_delivery_stats_get": 200,
    "selzy/get_campaign_delivery_stats_post": 200,
    "selzy/get_task_result_get": 200,  # in-band invalid_arg: the seed's task_uuid is not this tenant's
    "selzy/get_task_result_post": 200,
    "selzy/other_method_get": 200,  # in-band unknown_method
    "selzy/other_method_post": 200,
    "copernica/create_data_request": 201,
    "copernica/data_request_status": 404,
    "copernica/data_request_progress": 200,  # {"status": "not available"}: not this tenant's id
    "copernica/data_request_data": 404,
    "constantcontact/tracking_opens": 200,
    "constantcontact/tracking_clicks": 200,
    "constantcontact/tracking_clicks_by_link": 200,  # a link no click has: an empty listing
}


@pytest.mark.parametrize("path", EVENTS, ids=[f"{p.parent.name}/{p.stem}" for p in EVENTS])
def test_the_sample_with_real_credentials(
    handlers: dict[str, ModuleType],
    aws_stack: Settings,
    tenant: CreatedTenant,
    monkeypatch: pytest.MonkeyPatch,
    path: Path,
) -> None:
    monkeypatch.setattr(ssrf, "resolve_host", lambda host, port: [PUBLIC_ADDRESS])
    load_minimal(tenant)
    event = load(path, tenant)
    answer = call(handlers, function_for(event), event)
    assert answer.status == OUTCOMES[f"{path.parent.name}/{path.stem}"], answer.raw
    if dialect_of(path) == "pinpointe":
        assert answer.body["status"] == "SUCCESS", answer.raw
    if dialect_of(path) == "selzy":  # HTTP 200 either way: the body says which
        assert answer.body.get("code") == SELZY_CODES.get(path.stem), answer.raw


# Selzy's in-band error code for the samples that are refused with real credentials.
SELZY_CODES = {
    "get_task_result_get": "invalid_arg",
    "get_task_result_post": "invalid_arg",
    "other_method_get": "unknown_method",
    "other_method_post": "unknown_method",
}
