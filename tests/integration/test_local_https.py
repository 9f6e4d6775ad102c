"""The local stack's HTTPS listener: the canonical API over TLS, verified with the stack's own CA."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509

from tests.integration.conftest import RunningStack

pytestmark = pytest.mark.integration


def _auth(stack: RunningStack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.demo['api_key']}"}


def _without_signed_urls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_signed_urls(v) for k, v in value.items() if k not in {"url", "file_to_download"}}
    if isinstance(value, list):
        return [_without_signed_urls(v) for v in value]
    return value


def _wait_until_finished(location: str, headers: dict[str, str], ca: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if requests.get(location, headers=headers, timeout=10, verify=ca).json()["status"] not in {
            "new",
            "processing",
        }:
            return
        time.sleep(0.5)
    pytest.fail(f"{location} did not finish in {timeout} s")


def test_state_file_names_the_https_url_and_the_ca(local_stack: RunningStack) -> None:
    assert local_stack.https_api_url.startswith("https://127.0.0.1:")
    assert local_stack.https_api_url != local_stack.api_url.replace("http:", "https:")  # its own port
    ca = x509.load_pem_x509_certificate(Path(local_stack.ca_file).read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    # Name-constrained: trusting this CA trusts nothing beyond loopback.
    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    port = local_stack.https_api_url.rsplit(":", 1)[1]
    assert f"https://127.0.0.1:{port}" in local_stack.log_file.read_text()  # the banner
    assert local_stack.ca_file in local_stack.log_file.read_text()


def test_the_canonical_api_answers_the_same_over_https(local_stack: RunningStack) -> None:
    https, ca = local_stack.https_api_url, local_stack.ca_file
    stat_id = local_stack.demo["stat_id"]
    body = {"type": "campaign_activity", "params": {"stat_id": stat_id}}

    submitted = requests.post(
        f"{https}/v1/exports", headers=_auth(local_stack), json=body, timeout=10, verify=ca
    )
    assert submitted.status_code == 202, submitted.text
    task_uuid = submitted.json()["task_uuid"]
    # Links the API hands out point back at the listener the client used.
    assert submitted.headers["Location"] == f"{https}/v1/exports/{task_uuid}"

    _wait_until_finished(f"{https}/v1/exports/{task_uuid}", _auth(local_stack), ca)

    for path in (f"/v1/exports/{task_uuid}", "/v1/exports", "/v1/exports/no-such-task"):
        over_tls = requests.get(f"{https}{path}", headers=_auth(local_stack), timeout=10, verify=ca)
        plain = requests.get(f"{local_stack.api_url}{path}", headers=_auth(local_stack), timeout=10)
        assert over_tls.status_code == plain.status_code, path
        # Presigned URLs carry their signing time; all else must be identical.
        assert _without_signed_urls(over_tls.json()) == _without_signed_urls(plain.json()), path
    task = requests.get(f"{https}/v1/exports/{task_uuid}", headers=_auth(local_stack), timeout=10, verify=ca)
    assert task.json()["status"] == "completed"
    assert requests.get(task.json()["file_to_download"], timeout=10).json()["count"] > 0

    unknown = requests.get(f"{https}/no/such/route", timeout=10, verify=ca)
    assert (unknown.status_code, unknown.text) == (403, '{"message":"Missing Authentication Token"}')
    refused = requests.get(
        f"{https}/v1/exports", headers={"Authorization": "Bearer nope"}, timeout=10, verify=ca
    )
    assert refused.status_code == 401


def test_the_certificate_covers_localhost_too(local_stack: RunningStack) -> None:
    url = local_stack.https_api_url.replace("127.0.0.1", "localhost")
    response = requests.get(f"{url}/no/such/route", timeout=10, verify=local_stack.ca_file)
    assert response.status_code == 403


def test_a_client_that_does_not_trust_the_ca_is_refused_and_the_listener_lives_on(
    local_stack: RunningStack,
) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{local_stack.https_api_url}/v1/exports", timeout=10, verify=True)
    # A plain-HTTP request to the TLS port fails its handshake; neither stops the listener.
    with pytest.raises(requests.RequestException):
        requests.get(local_stack.https_api_url.replace("https:", "http:") + "/v1/exports", timeout=5)
    after = requests.get(f"{local_stack.https_api_url}/no/such/route", timeout=10, verify=local_stack.ca_file)
    assert after.status_code == 403
