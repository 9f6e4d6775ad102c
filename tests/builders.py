"""Event builders shared by the tests: the payloads Lambda gives each handler."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any


@dataclass
class FakeLambdaContext:
    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "test"
    remaining_ms: int = 900_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def api_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    api_key: str | None = None,
) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event. `resource` is the route template, e.g. /v1/exports/{task_uuid}."""
    all_headers = {"Host": "api.example.test", "X-Forwarded-Proto": "https", **(headers or {})}
    if api_key is not None:
        all_headers["Authorization"] = f"Bearer {api_key}"
    resource = resource or path
    names = re.findall(r"\{(\w+)\}", resource)
    values = re.fullmatch(re.sub(r"\\\{\w+\\\}", "([^/]+)", re.escape(resource)), path)
    path_params = dict(zip(names, values.groups(), strict=True)) if names and values else None
    raw = body if isinstance(body, str) or body is None else json.dumps(body)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_params,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/dev{path}",
            "stage": "dev",
            "requestId": str(uuid.uuid4()),
            "domainName": all_headers["Host"],
            "identity": {"sourceIp": "198.51.100.1"},
        },
        "body": raw,
        "isBase64Encoded": False,
    }


def sqs_event(*bodies: str, queue: str = "ExportQueue") -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"handle-{i}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }
