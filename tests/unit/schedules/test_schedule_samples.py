"""The sample events in events/schedules (for `sam local invoke -e`) are routes of their
function in template.yaml, and the handlers answer them as intended for the sample tenant."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
from tests.builders import FakeLambdaContext
from tests.unit.test_sample_events import sample_tenant  # noqa: F401 - the shared sample tenant and data

from mailexports.schedules.models import Schedule
from mailexports.schedules.store import DynamoScheduleStore
from mailexports.tenants.models import Tenant
from mailexports_dev.local.template import PROJECT_ROOT, functions

SAMPLE_SCHEDULE = "3f0c5a9e-2d7b-4c1e-8a6f-9b2d4e6f8a10"
EXPECTED = {  # file -> (function, status)
    "create_schedule.json": ("SubmitFunction", 201),
    "create_schedule_invalid.json": ("SubmitFunction", 400),
    "list_schedules.json": ("StatusFunction", 200),
    "get_schedule.json": ("StatusFunction", 200),
    "pause_schedule.json": ("SubmitFunction", 200),
    "delete_schedule.json": ("SubmitFunction", 204),
}
HANDLER = {"SubmitFunction": "submit", "StatusFunction": "status"}
SAMPLES = sorted((PROJECT_ROOT / "events" / "schedules").glob("*.json"))


def test_every_sample_has_an_expectation() -> None:
    assert {p.name for p in SAMPLES} == set(EXPECTED)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_the_sample_is_a_route_of_its_function(path: Path) -> None:
    event = json.loads(path.read_text())
    spec = next(s for s in functions() if s.logical_id == EXPECTED[path.name][0])
    assert (event["httpMethod"], event["resource"]) in {(r.method, r.path) for r in spec.routes}


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_the_handler_answers_the_sample(
    handlers: dict[str, ModuleType],
    sample_tenant: Tenant,  # noqa: F811
    path: Path,
) -> None:
    moment = datetime.now(UTC)
    DynamoScheduleStore().create(
        Schedule(
            schedule_id=SAMPLE_SCHEDULE,
            tenant_id=sample_tenant.tenant_id,
            export={"type": "campaign_activity", "params": {"stat_id": "981"}},
            schedule="rate(1 day)",
            created_at=moment,
            updated_at=moment,
            anchor=moment,
            next_run_at=moment,
        )
    )
    function, status = EXPECTED[path.name]
    answer = handlers[HANDLER[function]].lambda_handler(json.loads(path.read_text()), FakeLambdaContext())
    assert answer["statusCode"] == status, answer["body"]
    if answer["body"]:
        json.loads(answer["body"])
