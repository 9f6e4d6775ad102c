"""Shared by the schedule tests: a tenant with a campaign send, and API calls through the handlers."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

from tests.builders import FakeLambdaContext, api_event

from mailexports.marketing.records import parse_line
from mailexports.marketing.writer import MarketingWriter

EXPORT = {"type": "campaign_activity", "params": {"stat_id": "981"}}
LINES = [
    '{"kind":"campaign","campaign_id":"c-1","name":"Spring"}',
    '{"kind":"send","stat_id":"981","campaign_id":"c-1","sent_at":"2025-01-01T09:00:00Z"}',
    '{"kind":"event","event_id":"e1","type":"open","stat_id":"981","contact_id":"51","email":"a@example.com","at":"2025-01-01T10:00:00Z"}',
]


def seed(tenant_id: str) -> None:
    MarketingWriter(tenant_id).write([parse_line(line) for line in LINES])


def call(
    handlers: dict[str, ModuleType],
    method: str,
    path: str,
    key: str,
    body: Any = None,
    query: dict[str, str] | None = None,
) -> tuple[int, Any]:
    function = "status" if method == "GET" else "submit"
    resource = "/v1/schedules/{schedule_id}" if path.count("/") == 3 else "/v1/schedules"
    event = api_event(method, path, resource=resource, body=body, api_key=key, query=query)
    if body is not None:
        event["headers"]["Content-Type"] = "application/json"
    answer = handlers[function].lambda_handler(event, FakeLambdaContext())
    return answer["statusCode"], json.loads(answer["body"]) if answer.get("body") else None
