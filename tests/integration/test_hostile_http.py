"""Hostile requests over HTTP to the running local stack, and the seeds the fuzzer found,
kept as plain regression tests."""

from __future__ import annotations

import requests

from tests.integration.conftest import RunningStack

TEN_MB = 10 * 1024 * 1024


def _headers(stack: RunningStack, content_type: str = "application/json") -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.demo['api_key']}", "Content-Type": content_type}


def test_an_invalid_utf8_body_is_a_400_naming_it(local_stack: RunningStack) -> None:
    body = b'{"type": "campaign_activity", "params": {"stat_id": "\xff\xfe"}}'
    answer = requests.post(
        f"{local_stack.api_url}/v1/exports", data=body, headers=_headers(local_stack), timeout=30
    )
    assert answer.status_code == 400, answer.text
    assert "not valid UTF-8" in answer.json()["error"]["message"]


def test_a_body_over_api_gateways_limit_is_a_413(local_stack: RunningStack) -> None:
    body = b"{" + b" " * TEN_MB + b"}"
    answer = requests.post(
        f"{local_stack.api_url}/v1/exports", data=body, headers=_headers(local_stack), timeout=60
    )
    assert answer.status_code == 413
    assert answer.json() == {"message": "Request Too Long"}


def test_a_chunked_body_over_the_limit_is_a_413(local_stack: RunningStack) -> None:
    chunks = (b" " * (1024 * 1024) for _ in range(11))
    answer = requests.post(
        f"{local_stack.api_url}/v1/exports", data=chunks, headers=_headers(local_stack), timeout=60
    )
    assert answer.status_code == 413


def test_fuzz_seed_trace_is_api_gateways_403_not_an_html_501(local_stack: RunningStack) -> None:
    answer = requests.request("TRACE", f"{local_stack.api_url}/v1/exports/0/download", timeout=10)
    assert answer.status_code == 403
    assert answer.json() == {"message": "Missing Authentication Token"}


def test_fuzz_seed_an_empty_status_filter_lists_every_task(local_stack: RunningStack) -> None:
    """`?status=` was answered 200 while the document allowed only a status name."""
    answer = requests.get(
        f"{local_stack.api_url}/v1/exports", params={"status": ""}, headers=_headers(local_stack), timeout=10
    )
    assert answer.status_code == 200, answer.text
    document = requests.get(f"{local_stack.api_url}/v1/openapi.json", timeout=10).json()
    (status,) = [p for p in document["paths"]["/v1/exports"]["get"]["parameters"] if p["name"] == "status"]
    assert {"const": "", "type": "string"} in status["schema"]["anyOf"]
