"""Every sample event in events/submit, events/status and events/worker (the ones
`sam local invoke -e` takes) is a route or queue of its function in template.yaml,
and its handler answers it as intended once the sample tenant and data exist."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from tests.builders import FakeLambdaContext

from mailexports.config import Settings
from mailexports.exports.requests import ExportType
from mailexports.exports.task import ExportTask, TaskStatus
from mailexports.exports.task_store import DynamoTaskStore
from mailexports.marketing.records import parse_line
from mailexports.marketing.writer import MarketingWriter
from mailexports.tenants.credentials import hash_api_key, new_webhook_secret
from mailexports.tenants.models import Tenant
from mailexports.tenants.store import DynamoTenantStore
from mailexports_dev.local.template import PROJECT_ROOT, functions

SAMPLE_KEY = "mxk_sample_events_key_not_a_real_secret"
SAMPLE_TASK = "7d4e1c2a-5b3f-4e8a-9c1d-2f6a8b0e4d31"
# A completed export with a watermark: the incremental sample's since_task.
SAMPLE_SINCE_TASK = "3c9b7f1e-8a2d-4f6b-b1e0-5d7c9a4e2f18"
FOLDERS = {"submit": "SubmitFunction", "status": "StatusFunction", "worker": "WorkerFunction"}
# What each sample is meant to show, with the sample tenant's data and its one `new` task.
EXPECTED_STATUS = {
    "submit/create_export.json": 202,
    "submit/create_export_csv.json": 202,
    "submit/create_incremental_export.json": 202,
    "submit/create_export_invalid.json": 400,
    # The sample's customer bucket does not exist here: a 422 naming destination.bucket.
    "submit/create_export_destination.json": 422,
    "submit/cancel_export.json": 200,
    "status/get_export.json": 200,
    "status/list_exports.json": 200,
    "status/download_export.json": 409,  # not finished yet
    "status/download_by_token.json": 404,  # a made-up token
    "status/campaign_tracking_opens.json": 200,
    "status/openapi_json.json": 200,
    "status/docs.json": 200,
    "status/docs_asset.json": 200,
}
# The documentation pages answer in their own media types; every other answer is JSON.
NOT_JSON = {"status/docs.json": "text/html", "status/docs_asset.json": "text/css; charset=utf-8"}
SAMPLE_DATA = [
    '{"kind":"campaign","campaign_id":"c-1","name":"Spring"}',
    '{"kind":"send","stat_id":"981","campaign_id":"c-1","sent_at":"2025-01-01T09:00:00Z"}',
    '{"kind":"event","event_id":"e1","type":"open","stat_id":"981","contact_id":"51","email":"a@example.com","at":"2025-01-01T10:00:00Z"}',
]
SAMPLES = sorted(p for folder in FOLDERS for p in (PROJECT_ROOT / "events" / folder).glob("*.json"))


def sample(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.fixture
def sample_tenant(aws_stack: Settings) -> Tenant:
    tenant = Tenant(
        tenant_id="sample-tenant",
        name="sample",
        username="sample@example.com",
        webhook_secret=new_webhook_secret(),
        created_at=datetime.now(UTC),
    )
    DynamoTenantStore().create(tenant, hash_api_key(SAMPLE_KEY))
    MarketingWriter(tenant.tenant_id).write(parse_line(line) for line in SAMPLE_DATA)
    DynamoTaskStore().create(
        ExportTask(
            task_uuid=SAMPLE_TASK,
            tenant_id=tenant.tenant_id,
            task_type=ExportType.CAMPAIGN_ACTIVITY,
            params={"stat_id": "981"},
            created_at=datetime.now(UTC),
        )
    )
    DynamoTaskStore().create(
        ExportTask(
            task_uuid=SAMPLE_SINCE_TASK,
            tenant_id=tenant.tenant_id,
            task_type=ExportType.CAMPAIGN_ACTIVITY,
            status=TaskStatus.COMPLETED,
            params={"stat_id": "981"},
            created_at=datetime.now(UTC),
            watermark=datetime.now(UTC),
        )
    )
    return tenant


def test_every_sample_has_an_expectation() -> None:
    api_samples = {sample(p) for p in SAMPLES if p.parent.name != "worker"}
    assert api_samples == set(EXPECTED_STATUS)


@pytest.mark.parametrize("path", SAMPLES, ids=sample)
def test_the_sample_belongs_to_its_function_in_the_template(path: Path) -> None:
    event = json.loads(path.read_text())
    spec = next(s for s in functions() if s.logical_id == FOLDERS[path.parent.name])
    if "Records" in event:
        queue = event["Records"][0]["eventSourceARN"].rsplit(":", 1)[1]
        assert queue in {source.queue for source in spec.queues}
    else:
        assert (event["httpMethod"], event["resource"]) in {(r.method, r.path) for r in spec.routes}


@pytest.mark.parametrize("path", [p for p in SAMPLES if p.parent.name != "worker"], ids=sample)
def test_the_handler_answers_the_sample(
    handlers: dict[str, ModuleType], sample_tenant: Tenant, path: Path
) -> None:
    answer: dict[str, Any] = handlers[path.parent.name].lambda_handler(
        json.loads(path.read_text()), FakeLambdaContext()
    )
    assert answer["statusCode"] == EXPECTED_STATUS[sample(path)], answer["body"]
    if sample(path) in NOT_JSON:
        assert answer["multiValueHeaders"]["Content-Type"] == [NOT_JSON[sample(path)]]
    elif answer["body"]:
        json.loads(answer["body"])  # always JSON, in the canonical shape when an error


def test_the_worker_sample_completes_the_sample_task(
    handlers: dict[str, ModuleType], sample_tenant: Tenant
) -> None:
    event = json.loads((PROJECT_ROOT / "events/worker/export_message.json").read_text())
    assert handlers["worker"].lambda_handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    task = DynamoTaskStore().load(SAMPLE_TASK)
    assert task is not None
    assert task.status is TaskStatus.COMPLETED
    assert task.files[0].records == 1
