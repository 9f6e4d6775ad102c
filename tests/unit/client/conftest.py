"""The canonical API served over real HTTP by the local stack's gateway and the real handlers,
on in-process moto: the client talks to it exactly as to a deployed stack."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from requests.structures import CaseInsensitiveDict
from tests.builders import sqs_event

from mailexports.config import Settings
from mailexports.marketing.records import parse_line
from mailexports.marketing.writer import MarketingWriter
from mailexports.tenants.models import CreatedTenant
from mailexports_cli.client import commands
from mailexports_cli.client.connection import API_KEY_ENV, API_URL_ENV
from mailexports_dev.local.gateway import LocalApi
from mailexports_dev.local.lambda_runtime import LocalFunction
from mailexports_dev.local.proxy_event import GatewayInfo, HttpRequest
from mailexports_dev.local.template import functions

API_URL = "http://api.mailexports.test"
STAT_ID = "981"
LINES = [
    {"kind": "campaign", "campaign_id": "c-1", "name": "Spring", "subject": "Hi"},
    {"kind": "send", "stat_id": STAT_ID, "campaign_id": "c-1", "sent_at": "2025-01-01T09:00:00Z"},
    *(
        {"kind": "event", "event_id": f"e{n}", "type": "open", "stat_id": STAT_ID, "contact_id": str(n),
         "email": f"c{n}@example.com", "at": "2025-01-01T10:00:00Z", "ip": "198.51.100.7", "user_agent": "UA"}
        for n in range(1, 6)
    ),
]  # fmt: skip


class HandlersAdapter(requests.adapters.BaseAdapter):
    """requests' transport for API URLs: each request goes through the local stack's gateway
    (the API Gateway proxy event) to the real handlers, in this thread, no socket. What the
    handlers print (logs, metrics) is kept apart, so the test sees only what the CLI prints."""

    def __init__(self, api: LocalApi) -> None:
        super().__init__()
        self.api = api
        self.server_output = io.StringIO()

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        url = urlsplit(request.url or "")
        body = request.body or b""
        http_request = HttpRequest(
            method=request.method or "GET", raw_path=url.path or "/", query=url.query,
            headers=[("Host", url.netloc), *request.headers.items()],
            body=body.encode() if isinstance(body, str) else body, source_ip="127.0.0.1",
        )  # fmt: skip
        with contextlib.redirect_stdout(self.server_output):
            answer, _ = self.api.handle(http_request)
        response = requests.Response()
        response.status_code = answer.status
        response.headers = CaseInsensitiveDict(answer.headers)
        response._content = answer.body
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


@dataclass
class LocalApiServer:
    url: str
    key: str
    settings: Settings
    worker: LocalFunction

    def run_worker(self) -> int:
        """Deliver every queued export message to the worker, as the SQS event source would."""
        sqs, queue = boto3.client("sqs"), self.settings.export_queue_url
        delivered = 0
        while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1).get("Messages"):
            with contextlib.redirect_stdout(io.StringIO()):  # its logs and metrics are not the CLI's output
                result = self.worker.invoke(sqs_event(messages[0]["Body"]))
            assert result == {"batchItemFailures": []}
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=messages[0]["ReceiptHandle"])
            delivered += 1
        return delivered


@pytest.fixture
def api_server(aws_stack: Settings, tenant: CreatedTenant, monkeypatch: pytest.MonkeyPatch) -> LocalApiServer:
    """The API at API_URL for the CLI; MAILEXPORTS_API_URL / _KEY point at it, as for a deployed stack."""
    MarketingWriter(tenant.tenant_id).write([parse_line(json.dumps(line)) for line in LINES])
    loaded = [LocalFunction(spec) for spec in functions()]
    adapter = HandlersAdapter(LocalApi(loaded, GatewayInfo(stage="dev")))

    def session() -> requests.Session:
        session = requests.Session()
        session.mount(API_URL, adapter)
        return session

    monkeypatch.setattr(commands, "api_session", session)
    monkeypatch.setenv(API_URL_ENV, API_URL)
    monkeypatch.setenv(API_KEY_ENV, tenant.api_key)
    worker = next(f for f in loaded if f.logical_id == "WorkerFunction")
    return LocalApiServer(API_URL, tenant.api_key, aws_stack, worker)
