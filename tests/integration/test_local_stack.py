"""The local stack over HTTP: API Gateway behaviour, the state file, Ctrl-C, busy ports, SQS redrive."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from mailexports import aws
from mailexports.config import get_settings
from tests.integration.conftest import RunningStack, free_ports, stack_environment, start_stack

pytestmark = pytest.mark.integration


def _skip_if_not_implemented(response: requests.Response) -> None:
    if response.status_code == 502:
        pytest.skip("the route's handler is not implemented yet (it answers 502); see the stack log")


def test_unknown_route_answers_like_api_gateway(local_stack: RunningStack) -> None:
    response = requests.get(f"{local_stack.api_url}/no/such/route", timeout=10)
    assert response.status_code == 403
    assert response.text == '{"message":"Missing Authentication Token"}'
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    # A declared path with a method it does not declare is the same 403.
    assert requests.put(f"{local_stack.api_url}/v1/exports", timeout=10).status_code == 403


def test_wrong_api_key_is_a_401_json_error(local_stack: RunningStack) -> None:
    response = requests.get(
        f"{local_stack.api_url}/v1/exports", headers={"Authorization": "Bearer not-a-key"}, timeout=10
    )
    _skip_if_not_implemented(response)
    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"]
    assert error["message"]


def test_demo_tenant_can_call_the_api(local_stack: RunningStack) -> None:
    demo = local_stack.demo
    assert demo["stat_id"]
    assert demo["campaign_id"]
    assert demo["segment_id"]
    assert demo["webhook_secret"].startswith("whsec_")
    response = requests.get(
        f"{local_stack.api_url}/v1/exports",
        headers={"Authorization": f"Bearer {demo['api_key']}"},
        timeout=10,
    )
    _skip_if_not_implemented(response)
    assert response.status_code == 200


def test_state_file_lets_a_second_process_use_the_stack(local_stack: RunningStack) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mailexports_cli.main",
            "tenant",
            "create",
            "other",
            "--username",
            "other@example.com",
        ],
        env=stack_environment(local_stack.state_file),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["tenant_id"]
    assert created["api_key"]
    assert created["webhook_secret"].startswith("whsec_")
    # The tenant landed in the stack's own store: its key works against the stack's API.
    response = requests.get(
        f"{local_stack.api_url}/v1/exports",
        headers={"Authorization": f"Bearer {created['api_key']}"},
        timeout=10,
    )
    _skip_if_not_implemented(response)
    assert response.status_code == 200


def test_emails_sent_through_the_stacks_ses_reach_the_outbox(local_stack: RunningStack) -> None:
    env = local_stack.env
    ses = boto3.client(
        "sesv2",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    subject = f"outbox check {time.time_ns()}"
    ses.send_email(
        FromEmailAddress=env["SENDER_EMAIL"],
        Destination={"ToAddresses": ["dev@example.com"]},
        Content={"Simple": {"Subject": {"Data": subject}, "Body": {"Text": {"Data": "first line\nsecond"}}}},
    )
    saved = _wait_for_outbox_message(local_stack.outbox, subject)
    assert saved["to"] == ["dev@example.com"]
    assert saved["text"].startswith("first line")
    assert (local_stack.outbox / saved["eml"]).is_file()


def _wait_for_outbox_message(outbox: Path, subject: str, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in outbox.glob("*.json") if outbox.is_dir() else []:
            saved: dict[str, Any] = json.loads(path.read_text())
            if saved["subject"] == subject:
                return saved
        time.sleep(0.2)
    pytest.fail(f"no message {subject!r} in {outbox} after {timeout} s")


def test_busy_port_is_a_one_line_error_and_exit_code_2(local_stack: RunningStack, tmp_path: Path) -> None:
    busy = local_stack.api_url.rsplit(":", 1)[1]
    (moto_port,) = free_ports(1)
    state = tmp_path / "state.json"
    command = ["run", "--no-demo", "--api-port", busy, "--moto-port", str(moto_port)]
    command += ["--state-file", str(state), "--outbox", str(tmp_path / "outbox")]
    result = subprocess.run(
        [sys.executable, "-m", "mailexports_cli.main", *command],
        env=stack_environment(state),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert f"port {busy}" in result.stderr
    assert "in use" in result.stderr
    assert not state.exists()


def test_ctrl_c_stops_the_stack_and_removes_the_state_file(tmp_path: Path) -> None:
    stack = start_stack(tmp_path, "--no-demo")
    assert stack.state_file.exists()
    assert stack.state["demo"] is None
    assert stack.stop() == 0, stack.log_tail()
    assert not stack.state_file.exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(stack.api_url, timeout=2)
    assert "local stack stopped" in stack.log_file.read_text()


# ---------------------------------------------------------------- moto's redrive, over HTTP


@pytest.fixture
def moto_over_http(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The embedded moto server in this process, with template.yaml's resources; yields their env."""
    from mailexports_dev.local.moto_server import MotoServer
    from mailexports_dev.local.resources import create_resources

    server = MotoServer("127.0.0.1", 0)
    server.start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
        _, env = create_resources(prefix="redrive")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        aws.reset_clients()
        get_settings.cache_clear()
        yield env
    finally:
        server.stop()


def test_moto_server_moves_a_message_to_the_dlq_after_max_receive_count(
    moto_over_http: dict[str, str],
) -> None:
    from mailexports_dev.local.lambda_runtime import LocalFunction
    from mailexports_dev.local.queue_pump import QueuePump
    from mailexports_dev.local.template import functions

    received: list[str] = []

    def failing_worker(event: dict[str, Any], context: Any) -> None:
        received.extend(r["attributes"]["ApproximateReceiveCount"] for r in event["Records"])
        raise RuntimeError("always fails")

    spec = next(s for s in functions() if s.logical_id == "WorkerFunction")
    source = next(q for q in spec.queues if q.queue == "ExportQueue")
    sqs = boto3.client("sqs")
    url = moto_over_http["EXPORT_QUEUE_URL"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pump = QueuePump(
        LocalFunction(spec, failing_worker, memory_mb=128), source, url, arn, visibility_override=0
    )
    sqs.send_message(QueueUrl=url, MessageBody='{"task_uuid": "t-dlq"}')
    for _ in range(6):
        pump.poll_once()
    assert received == ["1", "2", "3", "4", "5"]
    dlq = sqs.get_queue_url(QueueName="redrive-ExportDLQ")["QueueUrl"]
    dead = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", [])
    assert [m["Body"] for m in dead] == ['{"task_uuid": "t-dlq"}']
