"""The emulated resources really are the ones template.yaml declares."""

from __future__ import annotations

import json

import boto3

from mailexports.config import Settings
from mailexports_dev.local.template import functions, load_template


def test_every_function_has_its_handler_file() -> None:
    specs = functions()
    assert {s.logical_id for s in specs} >= {
        "SubmitFunction",
        "StatusFunction",
        "WorkerFunction",
        "IngestFunction",
    }
    for spec in specs:
        assert spec.handler_file.is_file(), spec


def test_queues_carry_the_templates_redrive_and_visibility(aws_stack: Settings) -> None:
    sqs = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=aws_stack.export_queue_url, AttributeNames=["All"])[
        "Attributes"
    ]
    declared = load_template()["Resources"]["ExportQueue"]["Properties"]
    assert attributes["VisibilityTimeout"] == str(declared["VisibilityTimeout"])
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith("ExportDLQ")
    assert int(redrive["maxReceiveCount"]) == declared["RedrivePolicy"]["maxReceiveCount"]


def test_visibility_timeout_is_six_times_the_consumers_timeout() -> None:
    resources = load_template()["Resources"]
    for spec in functions():
        for source in spec.queues:
            visibility = resources[source.queue]["Properties"]["VisibilityTimeout"]
            assert visibility >= 6 * spec.timeout, (spec.logical_id, source.queue)


def test_tables_have_the_declared_indexes(aws_stack: Settings) -> None:
    """Every table the template declares exists with exactly its declared indexes."""
    resources = load_template()["Resources"]
    tables = {
        "TasksTable": aws_stack.tasks_table,
        "MarketingTable": aws_stack.marketing_table,
        "TenantsTable": aws_stack.tenants_table,
    }
    for logical_id, name in tables.items():
        declared = {
            i["IndexName"] for i in resources[logical_id]["Properties"].get("GlobalSecondaryIndexes", [])
        }
        table = boto3.client("dynamodb").describe_table(TableName=name)["Table"]
        assert {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])} == declared, logical_id
    assert {"TenantCreated", "ActiveHeartbeat"} <= {
        i["IndexName"] for i in resources["TasksTable"]["Properties"]["GlobalSecondaryIndexes"]
    }


def test_exports_bucket_expires_files_after_the_retention_period(aws_stack: Settings) -> None:
    rules = boto3.client("s3").get_bucket_lifecycle_configuration(Bucket=aws_stack.exports_bucket)["Rules"]
    by_id = {r["ID"]: r for r in rules}
    assert by_id["ExpireExports"]["Expiration"]["Days"] == aws_stack.retention_days
    assert by_id["AbortIncompleteUploads"]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1


def _statements(function: str) -> list[dict[str, object]]:
    policies = load_template()["Resources"][function]["Properties"]["Policies"]
    return [s for p in policies if isinstance(p, dict) for s in p.get("Statement", [])]


def test_every_function_that_ends_a_task_may_abort_its_upload() -> None:
    """Moto does not enforce IAM, so this pins what AWS would refuse: the lifecycle's cleanup
    (abort the multipart upload, delete partial files) runs in each of these functions."""
    for function in ("SubmitFunction", "WorkerFunction", "WatchdogFunction"):
        actions = {a for s in _statements(function) for a in s.get("Action", [])}  # type: ignore[attr-defined]
        assert {"s3:AbortMultipartUpload", "s3:DeleteObject"} <= actions, function


def test_the_watchdog_may_hand_on_the_notification_of_a_task_it_fails() -> None:
    policies = load_template()["Resources"]["WatchdogFunction"]["Properties"]["Policies"]
    queues = [p["SQSSendMessagePolicy"]["QueueName"] for p in policies if "SQSSendMessagePolicy" in p]
    assert {"Fn::GetAtt": ["NotifyQueue", "QueueName"]} in queues


def test_slices_are_worked_from_a_pool_of_their_own() -> None:
    """A big export's slices come from SliceQueue, bounded apart from ExportQueue, so fan-out
    cannot take the workers other tenants' exports start on; the worker may send to it."""
    worker = load_template()["Resources"]["WorkerFunction"]["Properties"]
    pools = {
        e["Properties"]["Queue"]["Fn::GetAtt"][0]: e["Properties"]["ScalingConfig"]["MaximumConcurrency"]
        for e in worker["Events"].values()
        if e["Type"] == "SQS"
    }
    assert pools == {
        "ExportQueue": {"Ref": "WorkerMaxConcurrency"},
        "SliceQueue": {"Ref": "SliceWorkerMaxConcurrency"},
    }
    queues = [
        p["SQSSendMessagePolicy"]["QueueName"] for p in worker["Policies"] if "SQSSendMessagePolicy" in p
    ]
    assert {"Fn::GetAtt": ["SliceQueue", "QueueName"]} in queues
