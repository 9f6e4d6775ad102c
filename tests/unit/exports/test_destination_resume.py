"""Multipart, checkpointing, resume and cleanup hold in the customer's bucket too."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto.sts.models import STSBackend, sts_backends
from tests.customer_account import CUSTOMER_ACCOUNT, CustomerAccount, customer_account, sha256
from tests.unit.exports.test_worker_resilience import (
    ROWS,
    Clock,
    SyntheticExporter,
    crash_midway,
    exported_numbers,
    stored,
)

from mailexports.config import Settings, get_settings
from mailexports.exports import exporters
from mailexports.exports.lifecycle import TaskLifecycle
from mailexports.exports.requests import ExportType, S3Destination
from mailexports.exports.task import ExportTask, TaskStatus
from mailexports.exports.task_store import DynamoTaskStore
from mailexports.exports.worker import ExportWorker, message_body
from mailexports_dev.local.role_trust import enforced_assume_role

MIB = 1024 * 1024
BUCKET = "acme-landing"
TENANT = "tenant-1"


@pytest.fixture
def customer(aws_stack: Settings, monkeypatch: pytest.MonkeyPatch) -> CustomerAccount:
    monkeypatch.setenv("EXPORT_PART_BYTES", str(5 * MIB))
    get_settings.cache_clear()
    monkeypatch.setitem(exporters.EXPORTERS, ExportType.CAMPAIGN_ACTIVITY, SyntheticExporter())
    monkeypatch.setattr(STSBackend, "assume_role", enforced_assume_role())
    account = customer_account()
    account.bucket(BUCKET)
    return account


def new_task(uuid: str, destination: S3Destination | None, compression: str = "none") -> ExportTask:
    task = ExportTask(
        task_uuid=uuid,
        tenant_id=TENANT,
        task_type=ExportType.CAMPAIGN_ACTIVITY,
        params={"stat_id": "1"},
        format="ndjson",
        compression=compression,
        destination=destination,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert DynamoTaskStore().create(task)
    return task


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_resume_after_a_crash_is_byte_identical_in_the_destination(
    customer: CustomerAccount, aws_stack: Settings, monkeypatch: pytest.MonkeyPatch, compression: str
) -> None:
    role = customer.role("mailexports-destination-acme", TENANT)
    where = S3Destination(type="s3", bucket=BUCKET, prefix="in/", role_arn=role)
    reference = new_task("reference", None, compression)
    ExportWorker().handle(message_body(reference.task_uuid))
    ours = boto3.client("s3").get_object(
        Bucket=aws_stack.exports_bucket, Key=stored("reference").files[0].key
    )
    want = ours["Body"].read()

    task = new_task("crashed", where, compression)
    clock = Clock()
    crash_midway(monkeypatch, task, clock)
    assert len(customer.open_uploads(BUCKET)) == 1  # the multipart upload is in their bucket
    invocations_before = len(sts_backends[CUSTOMER_ACCOUNT]["aws"].assumed_roles)

    clock.now += timedelta(seconds=aws_stack.heartbeat_stale_seconds + 1)
    ExportWorker(clock=clock).handle(message_body(task.task_uuid), receive_count=2)

    done = stored(task.task_uuid)
    assert done.status is TaskStatus.COMPLETED
    # The resumed invocation assumed the role afresh (credentials are never kept on the task).
    assert len(sts_backends[CUSTOMER_ACCOUNT]["aws"].assumed_roles) == invocations_before + 1
    files = customer.objects(BUCKET)
    assert list(files) == ["in/crashed/export-0001.ndjson" + (".gz" if compression == "gzip" else "")]
    got = next(iter(files.values()))
    assert got == want  # byte for byte what an uninterrupted run into our bucket wrote
    assert done.files[0].sha256 == sha256(got)
    assert done.files[0].bytes == len(got)
    raw = gzip.decompress(got) if compression == "gzip" else got
    assert exported_numbers(raw) == list(range(ROWS))
    assert customer.open_uploads(BUCKET) == []


def test_cancel_mid_export_cleans_the_destination_under_the_role(
    customer: CustomerAccount, aws_stack: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    role = customer.role("mailexports-destination-acme", TENANT)
    task = new_task("cancelled", S3Destination(type="s3", bucket=BUCKET, role_arn=role), "none")
    crash_midway(monkeypatch, task, Clock())
    assert len(customer.open_uploads(BUCKET)) == 1

    TaskLifecycle().cancel(stored(task.task_uuid))
    assert stored(task.task_uuid).status is TaskStatus.CANCELLED
    assert customer.open_uploads(BUCKET) == []
    assert customer.objects(BUCKET) == {}


def test_a_role_withdrawn_mid_export_fails_the_task_with_a_reason(
    customer: CustomerAccount, aws_stack: Settings
) -> None:
    role = customer.role("mailexports-destination-acme", TENANT)
    task = new_task("withdrawn", S3Destination(type="s3", bucket=BUCKET, role_arn=role), "none")
    customer.iam.delete_role(RoleName="mailexports-destination-acme")  # the customer revoked access
    ExportWorker().handle(message_body(task.task_uuid))
    failed = stored(task.task_uuid)
    assert failed.status is TaskStatus.FAILED
    assert failed.error is not None
    assert failed.error.code == "destination_refused"
    assert "destination.role_arn" in failed.error.message
