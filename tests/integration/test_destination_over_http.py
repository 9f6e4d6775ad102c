"""Issue 12's "done when" for destinations, over HTTP against the running local stack: a task with
a destination leaves its file in the other account's bucket with the sha256 the task reports, and
a role or bucket that cannot be used is a 422 naming its field, with nothing written."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.customer_account import customer_account, sha256
from tests.integration.conftest import RunningStack
from tests.integration.test_export_over_http import headers, wait_until_finished

pytestmark = pytest.mark.integration


def submit(stack: RunningStack, destination: dict[str, str]) -> requests.Response:
    return requests.post(
        f"{stack.api_url}/v1/exports",
        headers=headers(stack),
        json={
            "type": "campaign_activity",
            "params": {"stat_id": stack.demo["stat_id"]},
            "format": "ndjson",
            "compression": "gzip",
            "destination": destination,
        },
        timeout=30,
    )


def test_the_file_lands_in_the_customer_bucket_and_bad_destinations_are_refused(
    local_stack: RunningStack,
) -> None:
    customer = customer_account(local_stack.moto_endpoint)
    run = uuid.uuid4().hex[:8]  # the session's stack is shared: names of our own
    bucket = customer.bucket(f"landing-{run}")
    role = customer.role(f"mailexports-destination-{run}", local_stack.demo["tenant_id"])
    foreign = customer.role(f"mailexports-destination-{run}-b", "another-tenant")
    base = {"type": "s3", "bucket": bucket, "prefix": "mailexports/", "role_arn": role}

    for change, field in (
        ({"role_arn": foreign}, "destination.role_arn"),
        ({"bucket": f"missing-{run}"}, "destination.bucket"),
    ):
        refused = submit(local_stack, {**base, **change})
        assert refused.status_code == 422, refused.text
        assert [d["field"] for d in refused.json()["error"]["details"]] == [field]
    assert customer.objects(bucket) == {}

    submitted = submit(local_stack, base)
    assert submitted.status_code == 202, submitted.text
    task = wait_until_finished(local_stack, submitted.headers["Location"])
    assert task["status"] == "completed", task
    [file] = task["files"]
    key = f"mailexports/{task['task_uuid']}/export-0001.ndjson.gz"
    assert file["url"] == f"s3://{bucket}/{key}"
    stored = customer.objects(bucket)
    assert list(stored) == [key]
    assert file["sha256"] == sha256(stored[key])
    assert file["bytes"] == len(stored[key])

    download = requests.get(
        f"{submitted.headers['Location']}/download", headers=headers(local_stack), timeout=10
    )
    assert download.status_code == 409
    assert f"s3://{bucket}/{key}" in download.json()["error"]["message"]
