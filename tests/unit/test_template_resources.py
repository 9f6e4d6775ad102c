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
    table = boto3.client("dynamodb").describe_table(TableName=aws_stack.tasks_table)["Table"]
    assert {i["IndexName"] for i in table["GlobalSecondaryIndexes"]} == {"TenantCreated", "ActiveHeartbeat"}
    marketing = boto3.client("dynamodb").describe_table(TableName=aws_stack.marketing_table)["Table"]
    assert {i["IndexName"] for i in marketing["GlobalSecondaryIndexes"]} == {"gsi1", "gsi2", "gsi3", "gsi4"}


def test_exports_bucket_expires_files_after_the_retention_period(aws_stack: Settings) -> None:
    rules = boto3.client("s3").get_bucket_lifecycle_configuration(Bucket=aws_stack.exports_bucket)["Rules"]
    by_id = {r["ID"]: r for r in rules}
    assert by_id["ExpireExports"]["Expiration"]["Days"] == aws_stack.retention_days
    assert by_id["AbortIncompleteUploads"]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1
