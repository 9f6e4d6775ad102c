"""Exports into the customer's own bucket, end to end in-process: submit, worker, status.

The customer's bucket and role live in another moto account, which the service's own
credentials cannot see; moto's STS is made to honour the role's trust policy.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto.sts.models import STSBackend, sts_backends
from tests.builders import FakeLambdaContext, api_event, sqs_event
from tests.customer_account import CUSTOMER_ACCOUNT, CustomerAccount, customer_account, sha256

from mailexports.config import Settings
from mailexports.marketing.records import parse_line
from mailexports.marketing.writer import MarketingWriter
from mailexports.tenants.models import CreatedTenant
from mailexports_dev.local.role_trust import enforced_assume_role

LINES = [
    '{"kind":"campaign","campaign_id":"c-1","name":"Spring","subject":"Hi"}',
    '{"kind":"send","stat_id":"981","campaign_id":"c-1","sent_at":"2025-01-01T09:00:00Z"}',
    '{"kind":"event","event_id":"e1","type":"open","stat_id":"981","contact_id":"51","email":"a@example.com","at":"2025-01-01T10:00:00Z"}',
    '{"kind":"event","event_id":"e2","type":"click","stat_id":"981","contact_id":"51","email":"a@example.com","at":"2025-01-01T10:01:00Z","url":"https://example.com/x"}',
]
BUCKET = "acme-warehouse-landing"


@pytest.fixture
def customer(aws_stack: Settings, monkeypatch: pytest.MonkeyPatch) -> CustomerAccount:
    monkeypatch.setattr(STSBackend, "assume_role", enforced_assume_role())
    account = customer_account()
    account.bucket(BUCKET)
    return account


@pytest.fixture
def seeded(tenant: CreatedTenant) -> CreatedTenant:
    MarketingWriter(tenant.tenant_id).write([parse_line(line) for line in LINES])
    return tenant


def destination(role_arn: str, bucket: str = BUCKET, prefix: str = "mailexports/daily/") -> dict[str, str]:
    return {"type": "s3", "bucket": bucket, "prefix": prefix, "role_arn": role_arn}


def submit(handlers: dict[str, ModuleType], key: str, dest: dict[str, str]) -> dict[str, Any]:
    body = {
        "type": "campaign_activity",
        "params": {"stat_id": "981"},
        "format": "ndjson",
        "destination": dest,
    }
    event = api_event("POST", "/v1/exports", body=body, api_key=key)
    answer: dict[str, Any] = handlers["submit"].lambda_handler(event, FakeLambdaContext())
    return answer


def run_worker(handlers: dict[str, ModuleType], settings: Settings) -> None:
    sqs = boto3.client("sqs")
    while messages := sqs.receive_message(QueueUrl=settings.export_queue_url).get("Messages"):
        result = handlers["worker"].lambda_handler(sqs_event(messages[0]["Body"]), FakeLambdaContext())
        assert result == {"batchItemFailures": []}
        sqs.delete_message(QueueUrl=settings.export_queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])


def get(handlers: dict[str, ModuleType], key: str, task_uuid: str, suffix: str = "") -> dict[str, Any]:
    event = api_event(
        "GET", f"/v1/exports/{task_uuid}{suffix}", resource="/v1/exports/{task_uuid}" + suffix, api_key=key
    )
    answer: dict[str, Any] = handlers["status"].lambda_handler(event, FakeLambdaContext())
    return answer


def nothing_written(settings: Settings, customer: CustomerAccount) -> None:
    assert boto3.client("dynamodb").scan(TableName=settings.tasks_table)["Count"] == 0
    queued = boto3.client("sqs").receive_message(QueueUrl=settings.export_queue_url).get("Messages")
    assert not queued
    assert customer.objects(BUCKET) == {}


def test_the_file_lands_in_the_customer_bucket_with_the_reported_sha256(
    handlers: dict[str, ModuleType], aws_stack: Settings, seeded: CreatedTenant, customer: CustomerAccount
) -> None:
    role = customer.role("mailexports-destination-acme", seeded.tenant_id)
    answer = submit(handlers, seeded.api_key, destination(role))
    assert answer["statusCode"] == 202, answer["body"]
    task_uuid = json.loads(answer["body"])["task_uuid"]
    assert customer.objects(BUCKET) == {}  # the probe object was deleted again

    run_worker(handlers, aws_stack)
    task = json.loads(get(handlers, seeded.api_key, task_uuid)["body"])
    assert task["status"] == "completed"
    [file] = task["files"]
    key = f"mailexports/daily/{task_uuid}/export-0001.ndjson"
    assert file["url"] == f"s3://{BUCKET}/{key}"
    assert file["download_link"] is None
    assert task["destination"]["role_arn"] == role

    stored = customer.objects(BUCKET)
    assert list(stored) == [key]
    assert file["sha256"] == sha256(stored[key])
    assert file["bytes"] == len(stored[key])
    assert file["records"] == len(stored[key].splitlines()) == 1
    # Nothing went to the service's own bucket.
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=aws_stack.exports_bucket)

    # Every AssumeRole (submit's probe, the worker) carried the tenant as ExternalId and named the task.
    assumed = sts_backends[CUSTOMER_ACCOUNT]["aws"].assumed_roles
    assert len(assumed) >= 2
    assert {(r.role_arn, r.external_id, r.session_name) for r in assumed} == {
        (role, seeded.tenant_id, f"mailexports-{task_uuid}")
    }
    # No credentials on the task record.
    item = boto3.client("dynamodb").get_item(
        TableName=aws_stack.tasks_table, Key={"task_uuid": {"S": task_uuid}}
    )
    assert all(r.secret_access_key not in json.dumps(item) for r in assumed)

    download = get(handlers, seeded.api_key, task_uuid, "/download")
    assert download["statusCode"] == 409
    assert f"s3://{BUCKET}/{key}" in json.loads(download["body"])["error"]["message"]


@pytest.mark.parametrize(
    ("make_role", "bucket", "field"),
    [
        # No such role in the customer's account.
        (
            lambda c, t: f"arn:aws:iam::{CUSTOMER_ACCOUNT}:role/mailexports-destination-missing",
            BUCKET,
            "role_arn",
        ),
        # The role trusts another tenant: one tenant cannot use another's role.
        (lambda c, t: c.role("mailexports-destination-other", "someone-else"), BUCKET, "role_arn"),
        # Outside the naming convention the service's IAM policy allows.
        (lambda c, t: c.role("warehouse-writer", t), BUCKET, "role_arn"),
        # The role is fine; the bucket does not exist.
        (lambda c, t: c.role("mailexports-destination-acme", t), "no-such-bucket-here", "bucket"),
    ],
    ids=["unknown-role", "other-tenants-role", "role-outside-convention", "missing-bucket"],
)
def test_a_destination_that_cannot_be_written_is_a_422_naming_the_field(
    handlers: dict[str, ModuleType],
    aws_stack: Settings,
    seeded: CreatedTenant,
    customer: CustomerAccount,
    make_role: Any,
    bucket: str,
    field: str,
) -> None:
    role = make_role(customer, seeded.tenant_id)
    answer = submit(handlers, seeded.api_key, destination(role, bucket=bucket))
    assert answer["statusCode"] == 422, answer["body"]
    error = json.loads(answer["body"])["error"]
    assert error["code"] == "destination_refused"
    assert [d["field"] for d in error["details"]] == [f"destination.{field}"]
    assert "Traceback" not in answer["body"]
    nothing_written(aws_stack, customer)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"bucket": "Upper_Case"}, "destination.bucket"),
        ({"bucket": "a..b"}, "destination.bucket"),
        ({"bucket": "192.168.1.1"}, "destination.bucket"),
        ({"prefix": "/absolute/"}, "destination.prefix"),
        ({"prefix": "a/../b/"}, "destination.prefix"),
        ({"role_arn": "arn:aws:iam::123:role/x"}, "destination.role_arn"),
        # IAM names are ASCII (its `[\w+=,.@-]`), as JSON Schema readers take the documented pattern.
        ({"role_arn": "arn:aws:iam::123456789012:role/mailexports-destination-café"}, "destination.role_arn"),
        ({"type": "gcs"}, "destination.type"),
    ],
)
def test_malformed_destinations_are_refused_before_any_aws_call(
    handlers: dict[str, ModuleType],
    aws_stack: Settings,
    seeded: CreatedTenant,
    customer: CustomerAccount,
    change: dict[str, str],
    field: str,
) -> None:
    role = customer.role("mailexports-destination-acme", seeded.tenant_id)
    answer = submit(handlers, seeded.api_key, {**destination(role), **change})
    assert answer["statusCode"] == 400, answer["body"]
    assert field in [d["field"] for d in json.loads(answer["body"])["error"]["details"]]
    assert sts_backends[CUSTOMER_ACCOUNT]["aws"].assumed_roles == []
    nothing_written(aws_stack, customer)
