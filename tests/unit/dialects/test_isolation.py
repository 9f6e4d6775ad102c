"""A task made through one dialect is the tenant's task everywhere, and nobody else's."""

from __future__ import annotations

import json
import uuid
from types import ModuleType

from tests.builders import api_event
from tests.unit.dialects.support import call, form_event, load_minimal

from mailexports.config import Settings
from mailexports.tenants.models import CreatedTenant
from mailexports.tenants.service import create_tenant


def test_a_pinpointe_job_is_404_for_another_tenant_through_every_route(
    handlers: dict[str, ModuleType], aws_stack: Settings, tenant: CreatedTenant
) -> None:
    owner = load_minimal(tenant)
    other = create_tenant("other", "other@example.org")
    body = {
        "username": owner.username,
        "usertoken": owner.api_key,
        "requesttype": "Segments",
        "requestmethod": "GetSegmentSubscribersAsync",
        "details": {"segmentid": "seg-1", "notify": {"type": "email", "value": "a@example.com"}},
    }
    job = call(handlers, "submit", api_event("POST", "/pinpointe", body=json.dumps(body))).body["data"]

    def selzy(key: str) -> int:
        """Selzy answers errors in-band with HTTP 200: its `code` says which."""
        params = [("api_key", key), ("task_uuid", job)]
        answer = call(handlers, "status", form_event("GET", "/selzy/en/api/async/getTaskResult", params))
        assert answer.status == 200, answer.raw
        return 404 if answer.body.get("code") == "invalid_arg" else 200

    def copernica(key: str) -> int:
        path = f"/copernica/v3/datarequest/{uuid.UUID(job).int}"
        event = api_event("GET", path, resource="/copernica/v3/datarequest/{id}", query={"access_token": key})
        return call(handlers, "status", event).status

    def canonical(key: str) -> int:
        event = api_event("GET", f"/v1/exports/{job}", resource="/v1/exports/{task_uuid}", api_key=key)
        return call(handlers, "status", event).status

    assert (selzy(owner.api_key), canonical(owner.api_key)) == (200, 200)
    assert copernica(owner.api_key) == 404  # a segment export is not a Copernica data request
    assert (selzy(other.api_key), copernica(other.api_key), canonical(other.api_key)) == (404, 404, 404)
