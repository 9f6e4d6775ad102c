"""In-process helpers for the dialect tests: generated data, the handlers, the worker."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import requests
from tests.builders import FakeLambdaContext, api_event, sqs_event
from tests.expectations import Lines

from mailexports.config import Settings
from mailexports.tenants.models import CreatedTenant
from mailexports_cli.load import load_file
from mailexports_dev.generate import GenerateOptions, generate_lines

OPTIONS = GenerateOptions(contacts=60, sends=2, campaigns=2, segments=3, seed=5)
# Resolves every webhook host to a public address, so submit-time checks pass without DNS.
PUBLIC_ADDRESS = "93.184.215.14"


@dataclass
class Dataset(Lines):
    tenant: CreatedTenant


def load_dataset(tenant: CreatedTenant, directory: Path, options: GenerateOptions = OPTIONS) -> Dataset:
    path = directory / "data.ndjson"
    path.write_text("\n".join(generate_lines(options)) + "\n")
    report = load_file(path, tenant.tenant_id, progress=False)
    assert report.bad_count == 0
    return Dataset([json.loads(line) for line in path.read_text().splitlines()], tenant)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    raw: str

    @property
    def body(self) -> Any:
        return json.loads(self.raw)


def call(handlers: dict[str, ModuleType], function: str, event: dict[str, Any]) -> Answer:
    result = handlers[function].lambda_handler(event, FakeLambdaContext())
    headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    headers |= {k.lower(): v[-1] for k, v in (result.get("multiValueHeaders") or {}).items()}
    return Answer(result["statusCode"], headers, result.get("body") or "")


def run_worker(handlers: dict[str, ModuleType], settings: Settings) -> int:
    """Deliver every queued export message to the worker, as the SQS event source would."""
    sqs = boto3.client("sqs")
    count = 0
    while messages := sqs.receive_message(QueueUrl=settings.export_queue_url).get("Messages"):
        assert handlers["worker"].lambda_handler(sqs_event(messages[0]["Body"]), FakeLambdaContext()) == {
            "batchItemFailures": []
        }
        sqs.delete_message(QueueUrl=settings.export_queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
        count += 1
    return count


def queued_exports(settings: Settings) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=settings.export_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def stored_tasks(settings: Settings) -> int:
    return int(boto3.client("dynamodb").scan(TableName=settings.tasks_table, Select="COUNT")["Count"])


def fetch(url: str) -> bytes:
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.content


def follow_download_link(handlers: dict[str, ModuleType], link: str) -> bytes:
    """A `/v1/downloads/{token}` link, as a client without an API key follows it."""
    path = "/v1/downloads/" + link.rsplit("/v1/downloads/", 1)[1]
    answer = call(handlers, "status", api_event("GET", path, resource="/v1/downloads/{token}"))
    assert answer.status == 302, answer.raw
    return fetch(answer.headers["location"])


def form_event(method: str, path: str, params: list[tuple[str, str]], **kwargs: Any) -> dict[str, Any]:
    """A GET with `params` as its query string, or a POST with them as a urlencoded form."""
    from urllib.parse import urlencode

    if method == "GET":
        event = api_event("GET", path, **kwargs)
        multi: dict[str, list[str]] = {}
        for name, value in params:
            multi.setdefault(name, []).append(value)
        event["multiValueQueryStringParameters"] = multi or None
        event["queryStringParameters"] = {name: values[-1] for name, values in multi.items()} or None
        return event
    headers = {"Content-Type": "application/x-www-form-urlencoded", **kwargs.pop("headers", {})}
    return api_event("POST", path, body=urlencode(params), headers=headers, **kwargs)


MINIMAL_LINES = [
    '{"kind":"field","field_id":"1","name":"First Name"}',
    '{"kind":"field","field_id":"2","name":"Last Name"}',
    '{"kind":"contact","contact_id":"51","email":"abc@example.com","status":"active","created_at":"2025-01-02T03:04:05Z","custom_fields":{"First Name":"Ann"},"tags":["vip"],"segments":["seg-1","seg-2"]}',
    '{"kind":"campaign","campaign_id":"1100394165287","name":"Spring sale","subject":"Spring is here"}',
    '{"kind":"send","stat_id":"981","campaign_id":"1100394165287","sent_at":"2025-03-01T09:00:00Z"}',
    '{"kind":"event","event_id":"e-1","type":"open","stat_id":"981","contact_id":"51","email":"abc@example.com","at":"2025-03-01T10:11:12.345Z","ip":"198.51.100.7","user_agent":"UA"}',
]


def load_minimal(tenant: CreatedTenant) -> CreatedTenant:
    """One contact in seg-1 and seg-2, campaign 1100394165287 sent as stat 981, one open:
    enough for requests to be valid, so error tests change one thing at a time."""
    from mailexports.marketing.records import parse_line
    from mailexports.marketing.writer import MarketingWriter

    MarketingWriter(tenant.tenant_id).write([parse_line(line) for line in MINIMAL_LINES])
    return tenant
