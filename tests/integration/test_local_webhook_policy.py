"""`mailexports run` relaxes the webhook guard for local receivers, and `--strict-webhooks` does not,
through the policy the stack injects into its functions (no service setting is involved)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.conftest import RunningStack, start_stack

pytestmark = pytest.mark.integration

LOCAL_HOOK = "http://127.0.0.1:9/hook"  # never called: only the submit-time check is exercised


def submit_with_local_webhook(stack: RunningStack) -> requests.Response:
    demo: dict[str, Any] = stack.demo
    return requests.post(
        f"{stack.api_url}/v1/exports",
        headers={"Authorization": f"Bearer {demo['api_key']}"},
        json={
            "type": "campaign_activity",
            "params": {"stat_id": demo["stat_id"]},
            "notify": {"type": "webhook", "value": LOCAL_HOOK},
        },
        timeout=30,
    )


def test_the_local_stack_accepts_a_loopback_http_webhook(local_stack: RunningStack) -> None:
    response = submit_with_local_webhook(local_stack)
    assert response.status_code == 202, response.text


def test_strict_webhooks_refuses_it_naming_the_field(tmp_path: Path) -> None:
    stack = start_stack(tmp_path, "--demo-contacts", "10", "--strict-webhooks")
    try:
        response = submit_with_local_webhook(stack)
    finally:
        stack.stop()
    assert response.status_code == 400, response.text
    assert "notify.value" in response.text
    assert "https" in response.text
