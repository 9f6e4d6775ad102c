"""Webhook delivery against a real HTTP server on loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from standardwebhooks import Webhook
from tests.unit.notify.receiver import Received, Reply, WebhookReceiver
from tests.unit.notify.tls import self_signed

from mailexports.notify.signing import webhook_headers
from mailexports.notify.ssrf import LOCAL_DEVELOPMENT, STRICT, WebhookGuard
from mailexports.notify.webhook import WebhookSender
from mailexports.tenants.credentials import new_webhook_secret

BODY = '{"type":"export.completed","data":{"task_uuid":"t-1"}}'


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


def loopback_sender(timeout: float = 10.0, resolved: Sequence[str] = ("127.0.0.1",)) -> WebhookSender:
    """Insecure mode (as the local stack runs) so http and loopback are allowed."""
    return WebhookSender(
        WebhookGuard(policy=LOCAL_DEVELOPMENT, resolver=lambda h, p: resolved), timeout=timeout
    )


def signed(secret: str) -> dict[str, str]:
    return webhook_headers([secret], "msg_test", datetime.now(UTC), BODY)


def only(received: list[Received]) -> Received:
    assert len(received) == 1
    return received[0]


def test_2xx_is_delivered_and_the_receiver_verifies_it_with_standardwebhooks(hooks: WebhookReceiver) -> None:
    secret = new_webhook_secret()
    hooks.replies["/hook"] = Reply(204)
    result = loopback_sender().send(hooks.url("/hook"), BODY, signed(secret))
    assert (result.outcome, result.http_status, result.final) == ("delivered", 204, False)
    request = only(hooks.received)
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/json"
    assert request.body == BODY.encode()
    assert Webhook(secret).verify(request.body, request.headers) == {
        "type": "export.completed",
        "data": {"task_uuid": "t-1"},
    }


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_3xx_is_a_failure_and_never_followed(hooks: WebhookReceiver, status: int) -> None:
    hooks.replies["/hook"] = Reply(status, {"Location": hooks.url("/elsewhere")})
    result = loopback_sender().send(hooks.url("/hook"), BODY, signed(new_webhook_secret()))
    assert (result.outcome, result.http_status, result.final) == ("redirect", status, False)
    assert hooks.paths() == ["/hook"]  # the redirect target was never requested


def test_410_stops_retrying(hooks: WebhookReceiver) -> None:
    hooks.replies["/hook"] = Reply(410)
    result = loopback_sender().send(hooks.url("/hook"), BODY, signed(new_webhook_secret()))
    assert (result.outcome, result.http_status, result.final) == ("gone", 410, True)


@pytest.mark.parametrize(
    ("status", "retry_after", "outcome"),
    [(429, "120", "rate_limited"), (503, "Wed, 21 Oct 2037 07:28:00 GMT", "unavailable")],
)
def test_429_and_503_pass_their_retry_after_on(
    hooks: WebhookReceiver, status: int, retry_after: str, outcome: str
) -> None:
    hooks.replies["/hook"] = Reply(status, {"Retry-After": retry_after})
    result = loopback_sender().send(hooks.url("/hook"), BODY, signed(new_webhook_secret()))
    assert (result.outcome, result.http_status, result.retry_after, result.final) == (
        outcome,
        status,
        retry_after,
        False,
    )


@pytest.mark.parametrize("status", [400, 401, 404, 500, 502])
def test_other_statuses_are_retryable_http_errors(hooks: WebhookReceiver, status: int) -> None:
    hooks.replies["/hook"] = Reply(status)
    result = loopback_sender().send(hooks.url("/hook"), BODY, signed(new_webhook_secret()))
    assert (result.outcome, result.http_status, result.final) == ("http_error", status, False)


def test_a_slow_receiver_times_out(hooks: WebhookReceiver) -> None:
    hooks.replies["/slow"] = Reply(200, delay=1.5)
    began = datetime.now(UTC)
    result = loopback_sender(timeout=0.3).send(hooks.url("/slow"), BODY, signed(new_webhook_secret()))
    assert (result.outcome, result.http_status, result.final) == ("timeout", None, False)
    assert (datetime.now(UTC) - began).total_seconds() < 1.4


def test_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on `port` now.
    result = loopback_sender().send(f"http://127.0.0.1:{port}/hook", BODY, signed(new_webhook_secret()))
    assert (result.outcome, result.http_status, result.final) == ("connection_error", None, False)


def test_the_connection_goes_to_the_checked_address_with_the_hosts_name(hooks: WebhookReceiver) -> None:
    # hooks.invalid exists in no DNS: the request can only arrive by dialling the checked address.
    result = loopback_sender().send(
        hooks.url("/hook", host="hooks.invalid"), BODY, signed(new_webhook_secret())
    )
    assert result.delivered
    assert only(hooks.received).headers["Host"] == f"hooks.invalid:{hooks.port}"


def test_https_keeps_sni_and_certificate_checks_for_the_host_name(tmp_path: Path) -> None:
    ca_file, context = self_signed(tmp_path, "hooks.invalid")
    with WebhookReceiver(tls=context) as hooks:
        guard = WebhookGuard(policy=LOCAL_DEVELOPMENT, resolver=lambda h, p: ["127.0.0.1"])
        sender = WebhookSender(guard, verify=str(ca_file))
        ok = sender.send(hooks.url("/hook", host="hooks.invalid"), BODY, signed(new_webhook_secret()))
        assert ok.delivered
        assert hooks.server_names == ["hooks.invalid"]
        assert only(hooks.received).headers["Host"] == f"hooks.invalid:{hooks.port}"

        # Same address, another name: the certificate does not match, so nothing is sent.
        wrong = sender.send(hooks.url("/hook", host="other.invalid"), BODY, signed(new_webhook_secret()))
        assert (wrong.outcome, wrong.final) == ("tls_error", False)
        assert len(hooks.received) == 1


def test_rebinding_to_a_private_address_at_connect_time_sends_nothing(hooks: WebhookReceiver) -> None:
    sender = loopback_sender(resolved=["10.0.0.1"])
    result = sender.send(hooks.url("/hook", host="rebind.invalid"), BODY, signed(new_webhook_secret()))
    assert (result.outcome, result.final) == ("refused_target", True)
    assert hooks.received == []


def test_strict_mode_refuses_loopback_even_when_it_listens(hooks: WebhookReceiver) -> None:
    strict = WebhookSender(WebhookGuard(policy=STRICT, resolver=lambda h, p: ["127.0.0.1"]))
    assert strict.send(hooks.url("/hook"), BODY, signed(new_webhook_secret())).outcome == "refused_target"
    assert hooks.received == []


def test_environment_proxies_are_ignored(hooks: WebhookReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    # A proxy would connect somewhere the guard never checked.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    url = hooks.url("/hook", host="hooks.invalid")
    assert loopback_sender().send(url, BODY, signed(new_webhook_secret())).delivered
