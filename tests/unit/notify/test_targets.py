"""Submit-time validation of `notify`: the 4xx a client sees for a bad address or URL."""

from __future__ import annotations

import pytest

from mailexports.api.status import CANONICAL_STATUS, status_of
from mailexports.errors import ValidationFailed
from mailexports.exports.requests import NotifyTarget
from mailexports.notify import ssrf
from mailexports.notify.ssrf import WebhookPolicy
from mailexports.notify.targets import validate_notify_target

DNS = {"hooks.example.com": ["93.184.215.14"], "inside.example.com": ["10.0.0.8"]}


def resolve(host: str, port: int) -> list[str]:
    if host not in DNS:
        raise OSError(-2, "Name or service not known")  # what getaddrinfo raises
    return DNS[host]


def problem(kind: str, value: str, policy: WebhookPolicy | None = None) -> str | None:
    """The issue reported for `notify.value`, or None when the target is accepted."""
    target = NotifyTarget(type=kind, value=value)
    try:
        validate_notify_target(target, resolver=resolve, policy=policy)
    except ValidationFailed as error:
        refused = error
    else:
        return None
    assert status_of(refused, CANONICAL_STATUS) == 400
    [detail] = refused.details
    assert detail["field"] == "notify.value"
    assert detail["issue"] in refused.message
    return str(detail["issue"])


@pytest.mark.parametrize(
    "address", ["reports@client.example", "first.last+exports@sub.client.example", "o'neil@client.example"]
)
def test_good_addresses_pass(address: str) -> None:
    assert problem("email", address) is None


@pytest.mark.parametrize(
    "address",
    [
        "no-at-sign.example",
        "@client.example",
        "reports@",
        "reports@localhost",
        "two@@client.example",
        "a b@client.example",
        "reports@client.example\r\nBcc: victim@example.com",
        "Reports <reports@client.example>",
        "one@client.example,two@client.example",
        "dots..twice@client.example",
        "reports@-bad.example",
        "reports@10.0.0.1",
        "x" * 65 + "@client.example",
    ],
)
def test_bad_addresses_are_refused_naming_the_field(address: str) -> None:
    assert problem("email", address) is not None


def test_a_public_https_webhook_passes() -> None:
    assert problem("webhook", "https://hooks.example.com/mailexports") is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://hooks.example.com/x", "https"),
        ("https://inside.example.com/x", "private"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://nowhere.example.com/x", "does not resolve"),
        ("https://user:pw@hooks.example.com/x", "credentials"),
        ("https://localhost/x", "loopback"),
    ],
)
def test_bad_webhooks_are_refused_with_the_reason(url: str, why: str) -> None:
    issue = problem("webhook", url)
    assert issue is not None
    assert why in issue


def test_the_local_stack_policy_allows_loopback_http_only(monkeypatch: pytest.MonkeyPatch) -> None:
    local = ssrf.LOCAL_DEVELOPMENT
    monkeypatch.setattr(ssrf, "resolve_host", lambda host, port: ["127.0.0.1"])
    validate_notify_target(NotifyTarget(type="webhook", value="http://localhost:8000/hook"), policy=local)
    validate_notify_target(NotifyTarget(type="webhook", value="http://127.0.0.1:8000/hook"), policy=local)
    assert problem("webhook", "http://169.254.169.254/", local) is not None
    assert problem("webhook", "http://inside.example.com/", local) is not None
