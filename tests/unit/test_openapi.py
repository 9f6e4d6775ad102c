"""The OpenAPI document: generated from the routes, valid, complete for the canonical API,
free of dialect routes, and the same as the copy kept in docs/openapi.json."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_spec_validator import validate

from mailexports.api.documentation import openapi_document, render
from mailexports_dev.local.template import PROJECT_ROOT, functions

KEPT_COPY = PROJECT_ROOT / "docs" / "openapi.json"
PUBLIC = {("get", "/v1/downloads/{token}")}  # the signed token is the permission
UNDOCUMENTED = {"/v1/openapi.json", "/v1/docs", "/v1/docs/{asset}"}  # the documentation itself
ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document()


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(method, path): op for path, item in document["paths"].items() for method, op in item.items()}


def test_the_kept_copy_is_what_the_code_generates() -> None:
    assert KEPT_COPY.read_text(encoding="utf-8") == render(openapi_document()), (
        "docs/openapi.json is stale: run `make openapi` and commit it"
    )


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_it_describes_exactly_the_canonical_routes_of_the_template(document: dict[str, Any]) -> None:
    canonical = {
        (route.method.lower(), route.path)
        for spec in functions()
        if spec.logical_id in {"SubmitFunction", "StatusFunction"}
        for route in spec.routes
        if route.path.startswith("/v1/") and route.path not in UNDOCUMENTED
    }
    assert canonical, "the template declares no canonical route"
    assert set(operations(document)) == canonical  # no dialect route, none missing


def test_every_operation_declares_its_errors_in_the_canonical_shape(document: dict[str, Any]) -> None:
    for key, operation in operations(document).items():
        statuses = {int(code) for code in operation["responses"]}
        assert any(200 <= s < 400 for s in statuses), key
        assert 500 in statuses, key
        for code, response in operation["responses"].items():
            if int(code) >= 400:
                assert response["content"]["application/json"]["schema"] == ERROR_REF, (key, code)
        if key not in PUBLIC:
            assert 401 in statuses, key
            assert operation["security"] == [{"bearer": []}, {"apiKey": []}], key
        else:
            assert "security" not in operation, key


def test_security_schemes_are_bearer_and_x_api_key(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearer"]["description"],
    }
    assert (schemes["apiKey"]["type"], schemes["apiKey"]["in"], schemes["apiKey"]["name"]) == (
        "apiKey",
        "header",
        "x-api-key",
    )


def test_fields_carry_their_constraints(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    stat_id = schemas["CampaignActivityParams"]["properties"]["stat_id"]
    assert (stat_id["minLength"], stat_id["maxLength"], stat_id["pattern"]) == (1, 256, "^[^#]+$")
    assert schemas["CampaignActivityParams"]["required"] == ["stat_id"]
    assert schemas["CampaignActivityParams"]["additionalProperties"] is False
    assert schemas["SegmentContactsParams"]["properties"]["segment_ids"]["minItems"] == 1
    body = operations(document)[("post", "/v1/exports")]["requestBody"]["content"]["application/json"]
    assert body["schema"]["discriminator"]["propertyName"] == "type"
    assert set(body["schema"]["discriminator"]["mapping"]) == {
        "campaign_activity",
        "segment_contacts",
        "campaign_delivery",
        "contact_data",
    }
    listing = {p["name"]: p for p in operations(document)[("get", "/v1/exports")]["parameters"]}
    assert (listing["limit"]["schema"]["minimum"], listing["limit"]["schema"]["maximum"]) == (1, 100)
    headers = {p["name"].lower(): p for p in operations(document)[("post", "/v1/exports")]["parameters"]}
    assert headers["idempotency-key"]["in"] == "header"


def test_the_served_document_points_try_it_out_at_the_callers_api() -> None:
    assert openapi_document("https://api.example.test")["servers"] == [{"url": "https://api.example.test"}]
    assert json.loads(KEPT_COPY.read_text())["servers"] == [{"url": "/"}]
