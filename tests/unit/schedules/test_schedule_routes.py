"""`/v1/schedules` through the SubmitFunction and StatusFunction handlers on moto: created,
listed, shown, paused, resumed, deleted; tenant scoped; bad input a 400/422 naming the field
with nothing stored."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import boto3
import pytest
from tests.unit.schedules.support import EXPORT, call, seed

from mailexports import opaque
from mailexports.api.schedule_schemas import ScheduleList, ScheduleView
from mailexports.config import Settings
from mailexports.tenants.models import CreatedTenant
from mailexports.tenants.service import create_tenant


@pytest.fixture
def seeded(tenant: CreatedTenant) -> CreatedTenant:
    seed(tenant.tenant_id)
    return tenant


def stored(settings: Settings) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = boto3.resource("dynamodb").Table(settings.schedules_table).scan()["Items"]
    return items


def create(handlers: dict[str, ModuleType], key: str, **body: Any) -> tuple[int, Any]:
    return call(handlers, "POST", "/v1/schedules", key, {"export": EXPORT, "schedule": "rate(1 day)", **body})


def test_create_show_list_pause_resume_delete(
    handlers: dict[str, ModuleType], seeded: CreatedTenant, aws_stack: Settings
) -> None:
    status, created = create(handlers, seeded.api_key, incremental=True, timezone="Europe/Berlin")
    assert status == 201, created
    ScheduleView.model_validate(created)  # the documented shape
    assert created["next_run_at"] is not None  # a rate schedule runs at once, then every period
    assert (created["last_task_uuid"], created["runs"], created["incremental"]) == (None, 0, True)
    path = f"/v1/schedules/{created['id']}"
    assert call(handlers, "GET", path, seeded.api_key) == (200, created)

    status, page = call(handlers, "GET", "/v1/schedules", seeded.api_key)
    assert status == 200
    assert [s.id for s in ScheduleList.model_validate(page).schedules] == [created["id"]]

    status, paused = call(handlers, "PATCH", path, seeded.api_key, {"enabled": False})
    assert (status, paused["enabled"], paused["next_run_at"]) == (200, False, None)
    assert "due" not in stored(aws_stack)[0]  # out of the scheduler's index

    status, resumed = call(handlers, "PATCH", path, seeded.api_key, {"enabled": True})
    assert (status, resumed["enabled"]) == (200, True)
    assert resumed["next_run_at"] > created["next_run_at"]  # the next slot after now: nothing made up

    status, retimed = call(handlers, "PATCH", path, seeded.api_key, {"schedule": "cron(0 2 * * ? *)"})
    assert status == 200
    # 02:00 in Berlin: 01:00 UTC in winter, 00:00 UTC in summer.
    assert retimed["next_run_at"][10:] in {"T01:00:00.000Z", "T00:00:00.000Z"}

    assert call(handlers, "DELETE", path, seeded.api_key) == (204, None)
    assert call(handlers, "GET", path, seeded.api_key)[0] == 404
    assert stored(aws_stack) == []


def test_the_listing_pages_with_a_cursor(handlers: dict[str, ModuleType], seeded: CreatedTenant) -> None:
    ids = [create(handlers, seeded.api_key)[1]["id"] for _ in range(3)]
    status, first = call(handlers, "GET", "/v1/schedules", seeded.api_key, query={"limit": "2"})
    assert (status, len(first["schedules"]), bool(first["next_cursor"])) == (200, 2, True)
    _, second = call(
        handlers, "GET", "/v1/schedules", seeded.api_key, query={"limit": "2", "cursor": first["next_cursor"]}
    )
    assert {s["id"] for s in first["schedules"] + second["schedules"]} == set(ids)
    assert call(handlers, "GET", "/v1/schedules", seeded.api_key, query={"cursor": "nope"})[0] == 400
    forged = opaque.encode_json({"schedule_id": 1, "tenant_id": seeded.tenant_id, "created_at": "x"})
    assert call(handlers, "GET", "/v1/schedules", seeded.api_key, query={"cursor": forged})[0] == 400


def test_another_tenants_schedule_is_404(
    handlers: dict[str, ModuleType], seeded: CreatedTenant, aws_stack: Settings
) -> None:
    _, created = create(handlers, seeded.api_key)
    other = create_tenant("other", "ops@other.example")
    path = f"/v1/schedules/{created['id']}"
    assert call(handlers, "GET", path, other.api_key)[0] == 404
    assert call(handlers, "PATCH", path, other.api_key, {"enabled": False})[0] == 404
    assert call(handlers, "DELETE", path, other.api_key)[0] == 404
    assert call(handlers, "GET", "/v1/schedules", other.api_key)[1]["schedules"] == []
    assert stored(aws_stack)[0]["enabled"] is True  # untouched


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"schedule": "rate(1 days)"}, 400, "schedule"),
        ({"schedule": "cron(0 2 * * * *)"}, 400, "schedule"),
        ({"schedule": "cron(0 25 * * ? *)"}, 400, "schedule"),
        ({"timezone": "Mars/Olympus_Mons"}, 400, "timezone"),
        ({"timezone": "America"}, 400, "timezone"),  # a folder of the zone database, not a zone
        ({"schedule": "cron(0 0 31 2 ? *)"}, 400, "schedule"),  # 31 February: never
        ({"schedule": "cron(0 0 1 1 ? 2020)"}, 400, "schedule"),  # in the past
        ({"export": {"type": "campaign_activity", "params": {}}}, 400, "export.params.stat_id"),
        ({"export": {"type": "nothing", "params": {}}}, 400, "export.type"),
        ({"export": {**EXPORT, "format": "xml"}}, 400, "export.format"),
        ({"export": {"type": "contact_data", "params": {"email": "a@example.com"}, "format": "csv"}}, 422, "format"),
        ({"export": {"type": "campaign_activity", "params": {"stat_id": "404"}}}, 422, "params.stat_id"),
        ({"export": {"type": "segment_contacts", "params": {"segment_ids": ["s"]}}, "incremental": True}, 400, "incremental"),
        ({"export": {"type": "campaign_activity", "params": {"stat_id": "981", "since_task": "t"}}}, 400, "export"),
        ({"surprise": 1}, 400, "surprise"),
    ],
)  # fmt: skip
def test_bad_input_names_the_field_and_stores_nothing(
    handlers: dict[str, ModuleType],
    seeded: CreatedTenant,
    aws_stack: Settings,
    body: dict[str, Any],
    status: int,
    field: str,
) -> None:
    answer_status, answer = create(handlers, seeded.api_key, **body)
    assert answer_status == status, answer
    assert field in [d["field"] for d in answer["error"]["details"]], answer
    assert stored(aws_stack) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "body"), ({"enabled": "maybe"}, "enabled"), ({"timezone": "Nowhere"}, "timezone"), ({"x": 1}, "x")],
)
def test_a_bad_patch_names_the_field_and_changes_nothing(
    handlers: dict[str, ModuleType], seeded: CreatedTenant, body: dict[str, Any], field: str
) -> None:
    _, created = create(handlers, seeded.api_key)
    path = f"/v1/schedules/{created['id']}"
    status, answer = call(handlers, "PATCH", path, seeded.api_key, body)
    assert status == 400, answer
    assert field in [d["field"] for d in answer["error"]["details"]], answer
    assert call(handlers, "GET", path, seeded.api_key)[1] == created


def test_without_a_key_it_is_401(handlers: dict[str, ModuleType], seeded: CreatedTenant) -> None:
    assert create(handlers, "mxk_wrong")[0] == 401
    assert call(handlers, "GET", "/v1/schedules", "mxk_wrong")[0] == 401
