"""DynamoDB read answers parsed as plain JSON give exactly what botocore's shape walk gives."""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import pytest
from botocore.parsers import create_parser

from mailexports import aws
from mailexports.config import Settings
from mailexports.dynamodb_parser import DynamoDBReadParser

ITEM = {
    "pk": {"S": "t#send#981#3"},
    "n": {"N": "12.50"},
    "flags": {"BOOL": True},
    "none": {"NULL": True},
    "tags": {"SS": ["a", "b"]},
    "scores": {"NS": ["1", "2"]},
    "nested": {"M": {"list": {"L": [{"S": "x"}, {"N": "3"}]}}},
    "text": {"S": 'He said \u201chi\u201d and "Bob" \u00e9'},
}


def _both(operation: str, body: dict[str, Any]) -> tuple[Any, Any]:
    shape = boto3.client("dynamodb", region_name="us-east-1").meta.service_model
    output = shape.operation_model(operation).output_shape
    response = {"body": json.dumps(body).encode(), "headers": {"x-amzn-requestid": "r"}, "status_code": 200}
    return DynamoDBReadParser().parse(dict(response), output), create_parser("json").parse(
        dict(response), output
    )


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        ("Query", {"Items": [ITEM], "Count": 1, "ScannedCount": 3, "LastEvaluatedKey": {"pk": ITEM["pk"]}}),
        ("GetItem", {"Item": ITEM}),
        ("GetItem", {}),
        ("BatchGetItem", {"Responses": {"table": [ITEM]}, "UnprocessedKeys": {}}),
        # Binary values: the slow path, which turns base64 into bytes.
        ("Query", {"Items": [{**ITEM, "blob": {"B": base64.b64encode(b"\x00\xff").decode()}}], "Count": 1}),
        # Not a read: botocore as ever.
        ("PutItem", {"Attributes": ITEM}),
    ],
)
def test_fast_and_botocore_parsing_agree(operation: str, body: dict[str, Any]) -> None:
    fast, slow = _both(operation, body)
    assert fast == slow


def test_binary_values_still_come_back_as_bytes() -> None:
    body = {"Items": [{"blob": {"B": base64.b64encode(b"\x00\xff").decode()}}], "Count": 1}
    fast, _ = _both("Query", body)
    assert fast["Items"][0]["blob"]["B"] == b"\x00\xff"


def test_the_service_client_uses_it_and_reads_what_it_wrote(aws_stack: Settings) -> None:
    db = aws.dynamodb()
    assert isinstance(db._endpoint._response_parser_factory.create_parser("json"), DynamoDBReadParser)
    item = {"pk": {"S": "p"}, "sk": {"S": "s"}, **{k: v for k, v in ITEM.items() if k != "pk"}}
    db.put_item(TableName=aws_stack.marketing_table, Item=item)
    got = db.get_item(TableName=aws_stack.marketing_table, Key={"pk": {"S": "p"}, "sk": {"S": "s"}})["Item"]
    assert got["nested"] == ITEM["nested"]
    assert got["text"] == ITEM["text"]
