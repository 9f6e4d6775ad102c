"""Wrong or missing content types on the routes that read a body: a 4xx in the caller's
dialect naming the fault, nothing written. The dialects read what their vendors' clients
send (forms, JSON, XML), so only a body their content type cannot carry is refused."""

from __future__ import annotations

import json
from types import ModuleType

import pytest
from tests.unit.hostile.support import ROUTES, refused

from mailexports.config import Settings
from mailexports.tenants.models import CreatedTenant

pytestmark = pytest.mark.usefixtures("aws_stack")

V1 = next(route for route in ROUTES if route.name == "v1")
PINPOINTE = next(route for route in ROUTES if route.name == "pinpointe")
VALID = json.dumps({"type": "campaign_activity", "params": {"stat_id": "981"}}).encode()


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "multipart/form-data; boundary=zzz",
        "application/xml",
        "image/png",
        "\x00",
        "application/jsonp",  # not JSON, whatever its prefix
    ],
)
def test_the_canonical_api_refuses_a_body_that_is_not_declared_json(
    handlers: dict[str, ModuleType], aws_stack: Settings, tenant: CreatedTenant, content_type: str
) -> None:
    event = V1.event(tenant.api_key, VALID, content_type=content_type)
    message = refused(handlers, aws_stack, V1, event)
    assert "Content-Type" in message
    assert "JSON" in message


def test_the_canonical_api_refuses_a_form_sent_without_a_content_type(
    handlers: dict[str, ModuleType], aws_stack: Settings, tenant: CreatedTenant
) -> None:
    """No content type: the body is read as JSON (curl -d sends JSON that way), so a form is not JSON."""
    event = V1.event(tenant.api_key, b"type=campaign_activity&stat_id=981", content_type=None)
    assert "not valid JSON" in refused(handlers, aws_stack, V1, event)


def test_the_canonical_api_refuses_no_key_first_whatever_the_content_type(
    handlers: dict[str, ModuleType], aws_stack: Settings
) -> None:
    event = V1.event("mxk_not_a_key", b"\xff\xfe", content_type="text/plain")
    assert "key" in refused(handlers, aws_stack, V1, event).lower()


@pytest.mark.parametrize(
    ("content_type", "body", "word"),
    [
        ("application/xml", VALID, "xml"),
        ("text/xml; charset=utf-8", b"", "empty"),
        ("application/json", b"<xmlrequest><username>x</username>", "xml"),
    ],
)
def test_pinpointe_refuses_a_body_its_content_type_cannot_carry(
    handlers: dict[str, ModuleType],
    aws_stack: Settings,
    tenant: CreatedTenant,
    content_type: str,
    body: bytes,
    word: str,
) -> None:
    event = PINPOINTE.event(tenant.api_key, body, content_type=content_type)
    assert word in refused(handlers, aws_stack, PINPOINTE, event).lower()
