"""The v1 routes' declared parameters, validated by Powertools, answer bad input with the
canonical 400 naming the field; a caller without a valid key still learns only 401;
the documentation routes answer without a key; the answers match the documented models."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import boto3
import pytest
from tests.builders import FakeLambdaContext, api_event
from tests.unit.test_export_flow import drain_export_queue, header

from mailexports.api.schemas import ErrorResponse, TaskList, TaskView, TrackingList
from mailexports.config import Settings
from mailexports.marketing.records import parse_line
from mailexports.marketing.writer import MarketingWriter
from mailexports.tenants.models import CreatedTenant

ORDER = {"type": "campaign_activity", "params": {"stat_id": "981"}}
LINES = [
    '{"kind":"campaign","campaign_id":"c-1","name":"Spring"}',
    '{"kind":"send","stat_id":"981","campaign_id":"c-1","sent_at":"2025-01-01T09:00:00Z"}',
    '{"kind":"event","event_id":"e1","type":"open","stat_id":"981","contact_id":"51","email":"a@example.com","at":"2025-01-01T10:00:00Z"}',
]


@pytest.fixture
def seeded(tenant: CreatedTenant) -> CreatedTenant:
    MarketingWriter(tenant.tenant_id).write([parse_line(line) for line in LINES])
    return tenant


def call(handlers: dict[str, ModuleType], function: str, event: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = handlers[function].lambda_handler(event, FakeLambdaContext())
    return answer


def error_of(answer: dict[str, Any]) -> dict[str, Any]:
    parsed = ErrorResponse.model_validate_json(answer["body"])  # the documented shape
    return parsed.model_dump()["error"]


def fields(answer: dict[str, Any]) -> list[str]:
    return [d["field"] for d in error_of(answer)["details"]]


@pytest.mark.parametrize(
    ("query", "field"),
    [({"limit": "abc"}, "limit"), ({"limit": "101"}, "limit"), ({"status": "sleeping"}, "status")],
)
def test_bad_list_query_is_400_naming_it(
    handlers: dict[str, ModuleType], seeded: CreatedTenant, query: dict[str, str], field: str
) -> None:
    answer = call(handlers, "status", api_event("GET", "/v1/exports", query=query, api_key=seeded.api_key))
    assert answer["statusCode"] == 400
    assert error_of(answer)["code"] == "validation_error"
    assert fields(answer) == [field]


def test_an_empty_query_parameter_means_not_given(
    handlers: dict[str, ModuleType], seeded: CreatedTenant
) -> None:
    query = {"status": "", "cursor": ""}
    answer = call(handlers, "status", api_event("GET", "/v1/exports", query=query, api_key=seeded.api_key))
    assert answer["statusCode"] == 200, answer["body"]
    TaskList.model_validate_json(answer["body"])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"created_since": "yesterday"}, "created_since"),
    ],
)
def test_bad_tracking_query_is_400_naming_it(
    handlers: dict[str, ModuleType], seeded: CreatedTenant, query: dict[str, str], field: str
) -> None:
    path = "/v1/campaigns/1100394165287/tracking/opens"
    event = api_event(
        "GET",
        path,
        resource="/v1/campaigns/{campaign_id}/tracking/{activity}",
        query=query,
        api_key=seeded.api_key,
    )
    answer = call(handlers, "status", event)
    assert answer["statusCode"] == 400
    assert fields(answer) == [field]


def test_tracking_time_without_offset_or_with_a_mangled_plus_is_accepted(
    handlers: dict[str, ModuleType], seeded: CreatedTenant
) -> None:
    for since in ("2025-01-01T00:00:00", "2025-01-01T00:00:00 00:00", "2025-01-01"):
        event = api_event(
            "GET",
            "/v1/campaigns/c-1/tracking/opens",
            resource="/v1/campaigns/{campaign_id}/tracking/{activity}",
            query={"created_since": since},
            api_key=seeded.api_key,
        )
        answer = call(handlers, "status", event)
        assert answer["statusCode"] in {200, 404}, (since, answer["body"])  # never a 400 for these
        if answer["statusCode"] == 200:
            TrackingList.model_validate_json(answer["body"])


def test_idempotency_key_longer_than_255_is_400_naming_the_header(
    handlers: dict[str, ModuleType], aws_stack: Settings, seeded: CreatedTenant
) -> None:
    event = api_event(
        "POST", "/v1/exports", body=ORDER, api_key=seeded.api_key, headers={"Idempotency-Key": "k" * 256}
    )
    answer = call(handlers, "submit", event)
    assert answer["statusCode"] == 400
    assert fields(answer) == ["Idempotency-Key"]
    assert boto3.client("dynamodb").scan(TableName=aws_stack.tasks_table)["Count"] == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"params": {"stat_id": "981"}}, "type"),
        ({"type": "segment_contacts", "params": {"segment_ids": []}}, "params.segment_ids"),
        ({**ORDER, "surprise": 1}, "surprise"),
        ({**ORDER, "notify": {"type": "sms", "value": "+15550100"}}, "notify.type"),
    ],
)
def test_the_submit_body_names_the_field_without_the_union_tag(
    handlers: dict[str, ModuleType], seeded: CreatedTenant, payload: dict[str, Any], field: str
) -> None:
    answer = call(handlers, "submit", api_event("POST", "/v1/exports", body=payload, api_key=seeded.api_key))
    assert answer["statusCode"] == 400
    assert fields(answer) == [field]


@pytest.mark.parametrize("key", [None, "mxk_wrong"])
def test_without_a_valid_key_invalid_input_is_still_401(
    handlers: dict[str, ModuleType], seeded: CreatedTenant, key: str | None
) -> None:
    bad_body = call(handlers, "submit", api_event("POST", "/v1/exports", body="{nope", api_key=key))
    bad_query = call(handlers, "status", api_event("GET", "/v1/exports", query={"limit": "x"}, api_key=key))
    for answer in (bad_body, bad_query):
        assert answer["statusCode"] == 401
        assert error_of(answer)["code"] == "unauthorized"


def test_answers_match_the_documented_models(
    handlers: dict[str, ModuleType], aws_stack: Settings, seeded: CreatedTenant
) -> None:
    created = call(handlers, "submit", api_event("POST", "/v1/exports", body=ORDER, api_key=seeded.api_key))
    task = TaskView.model_validate_json(created["body"])
    drain_export_queue(handlers, aws_stack)
    event = api_event(
        "GET", f"/v1/exports/{task.task_uuid}", resource="/v1/exports/{task_uuid}", api_key=seeded.api_key
    )
    done = TaskView.model_validate_json(call(handlers, "status", event)["body"])
    assert done.status == "completed"
    assert done.files
    listing = call(handlers, "status", api_event("GET", "/v1/exports", api_key=seeded.api_key))
    assert [t.task_uuid for t in TaskList.model_validate_json(listing["body"]).exports] == [task.task_uuid]


def test_the_documentation_routes_need_no_key(handlers: dict[str, ModuleType]) -> None:
    document = call(handlers, "status", api_event("GET", "/v1/openapi.json"))
    assert document["statusCode"] == 200
    assert json.loads(document["body"])["servers"] == [{"url": "https://api.example.test"}]
    page = call(handlers, "status", api_event("GET", "/v1/docs"))
    assert page["statusCode"] == 200
    assert header(page, "Content-Type") == "text/html"
    assert "src='docs/swagger-ui-bundle.min.js'" in page["body"]
    assert "href='docs/swagger-ui.min.css'" in page["body"]
    for asset, kind in (
        ("swagger-ui-bundle.min.js", "application/javascript"),
        ("swagger-ui.min.css", "text/css"),
    ):
        answer = call(handlers, "status", api_event("GET", f"/v1/docs/{asset}", resource="/v1/docs/{asset}"))
        assert answer["statusCode"] == 200
        assert (header(answer, "Content-Type") or "").startswith(kind)
        assert len(answer["body"]) > 100_000
    missing = call(handlers, "status", api_event("GET", "/v1/docs/..%2Fapp.py", resource="/v1/docs/{asset}"))
    assert missing["statusCode"] == 404
    assert error_of(missing)["code"] == "not_found"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_a_body_that_is_not_json_is_400_naming_the_content_type(
    handlers: dict[str, ModuleType], aws_stack: Settings, seeded: CreatedTenant, content_type: str
) -> None:
    event = api_event(
        "POST", "/v1/exports", body=ORDER, api_key=seeded.api_key, headers={"Content-Type": content_type}
    )
    answer = call(handlers, "submit", event)
    assert answer["statusCode"] == 400, answer["body"]
    assert fields(answer) == ["Content-Type"]
    assert boto3.client("dynamodb").scan(TableName=aws_stack.tasks_table)["Count"] == 0


def test_json_with_a_charset_is_accepted(handlers: dict[str, ModuleType], seeded: CreatedTenant) -> None:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    event = api_event("POST", "/v1/exports", body=ORDER, api_key=seeded.api_key, headers=headers)
    assert call(handlers, "submit", event)["statusCode"] == 202
