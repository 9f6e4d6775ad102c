"""The per-tenant submit rate: a token bucket in DynamoDB, and the canonical 429."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import boto3
import pytest
from tests.builders import FakeLambdaContext, api_event
from tests.unit.test_export_flow import header

from mailexports.config import Settings, get_settings
from mailexports.errors import RateLimited
from mailexports.exports import submit_rate
from mailexports.exports.submit_rate import SubmitRate
from mailexports.marketing.records import parse_line
from mailexports.marketing.writer import MarketingWriter
from mailexports.tenants.models import CreatedTenant


class Seconds:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limited(aws_stack: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SUBMIT_BURST", "3")
    monkeypatch.setenv("SUBMIT_RATE_PER_SECOND", "0.5")
    get_settings.cache_clear()
    return get_settings()


def test_the_bucket_allows_a_burst_then_the_rate(limited: Settings) -> None:
    clock = Seconds()
    rate = SubmitRate(clock=clock)
    for _ in range(3):
        rate.take("t-1")
    with pytest.raises(RateLimited) as refused:
        rate.take("t-1")
    assert refused.value.retry_after == 2  # one token every 2 s
    rate.take("t-2")  # another tenant has its own bucket
    clock.now += 1.0
    with pytest.raises(RateLimited) as refused:
        rate.take("t-1")
    assert refused.value.retry_after == 1
    clock.now += 1.0
    rate.take("t-1")
    clock.now += 3600
    for _ in range(3):  # refilled to the burst, never beyond it
        rate.take("t-1")
    with pytest.raises(RateLimited):
        rate.take("t-1")


def test_two_writers_of_one_bucket_never_both_spend_the_last_token(limited: Settings) -> None:
    clock = Seconds()
    first, second = SubmitRate(clock=clock), SubmitRate(clock=clock)
    first.take("t-1")
    second.take("t-1")
    first.take("t-1")
    with pytest.raises(RateLimited):
        second.take("t-1")
    item = boto3.resource("dynamodb").Table(limited.limits_table).get_item(Key={"pk": "rate#t-1"})["Item"]
    assert float(item["tokens"]) == pytest.approx(0.0)
    assert int(item["v"]) == 3  # three writes, each under the version it read


def test_a_submit_over_the_rate_is_429_with_retry_after_and_writes_no_task(
    handlers: dict[str, ModuleType], limited: Settings, tenant: CreatedTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The handler's bucket reads the wall clock; frozen here, so a slow machine refills nothing
    # between the submits and the wait is exactly 1 token / 0.5 per second.
    monkeypatch.setattr(submit_rate, "wall_clock", lambda: 1_000.0)
    MarketingWriter(tenant.tenant_id).write(
        [parse_line('{"kind":"send","stat_id":"981","campaign_id":"c-1","sent_at":"2025-01-01T09:00:00Z"}')]
    )
    payload = {"type": "campaign_activity", "params": {"stat_id": "981"}}

    def submit() -> dict[str, Any]:
        event = api_event("POST", "/v1/exports", body=payload, api_key=tenant.api_key)
        answer: dict[str, Any] = handlers["submit"].lambda_handler(event, FakeLambdaContext())
        return answer

    assert [submit()["statusCode"] for _ in range(3)] == [202, 202, 202]
    refused = submit()
    assert refused["statusCode"] == 429
    assert header(refused, "Retry-After") == "2"
    error = json.loads(str(refused["body"]))["error"]
    assert error["code"] == "rate_limited"
    assert "Retry in 2 s" in error["message"]
    assert boto3.client("dynamodb").scan(TableName=limited.tasks_table)["Count"] == 3


def test_bad_input_spends_no_token(
    handlers: dict[str, ModuleType], limited: Settings, tenant: CreatedTenant
) -> None:
    for _ in range(5):  # unknown stat: a 422 each time, and the bucket is not touched
        event = api_event(
            "POST",
            "/v1/exports",
            body={"type": "campaign_activity", "params": {"stat_id": "404"}},
            api_key=tenant.api_key,
        )
        assert handlers["submit"].lambda_handler(event, FakeLambdaContext())["statusCode"] == 422
    assert boto3.client("dynamodb").scan(TableName=limited.limits_table)["Count"] == 0
