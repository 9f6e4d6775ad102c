"""The SSRF guard, with a resolver the test controls."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from mailexports.notify import ssrf
from mailexports.notify.ssrf import LOCAL_DEVELOPMENT, STRICT, RefusedTarget, UnresolvableTarget, WebhookGuard

PUBLIC = "93.184.215.14"


def answers(table: dict[str, Sequence[str]]) -> ssrf.Resolver:
    def resolve(host: str, port: int) -> Sequence[str]:
        if host not in table:
            raise OSError(f"NXDOMAIN {host}")
        return table[host]

    return resolve


def refusal(url: str, *, resolved: Sequence[str] = (PUBLIC,), insecure: bool = False) -> str | None:
    guard = WebhookGuard(
        policy=LOCAL_DEVELOPMENT if insecure else STRICT, resolver=answers({"hooks.example.com": resolved})
    )
    try:
        guard.check_url(url)
    except RefusedTarget as error:
        return error.reason
    return None


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "metadata"),
        ("169.254.170.2", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "CGNAT"),
        ("100.127.255.254", "CGNAT"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address to refuse, not to bind
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("ff0e::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("198.18.0.1", "reserved"),
        ("192.0.2.10", "documentation"),
        ("2001:db8::1", "documentation"),
        ("fec0::1", "site-local"),
        ("::ffff:10.0.0.1", "IPv4-mapped form of a private"),
        ("::ffff:127.0.0.1", "IPv4-mapped form of a loopback"),
        ("::ffff:169.254.169.254", "IPv4-mapped form of the cloud metadata"),
        ("64:ff9b::a9fe:a9fe", "NAT64 form of the cloud metadata"),
        ("64:ff9b::a00:1", "NAT64 form of a private"),
        ("64:ff9b:1::a00:1", "local-use NAT64"),
        ("2002:a9fe:a9fe::", "6to4 form of the cloud metadata"),
        ("2002:0a00:0001::1", "6to4 form of a private"),
        ("2002:5db8:d70e::1", "6to4 tunnel"),  # 6to4 of a public address: deprecated, refused
        ("::a9fe:a9fe", "IPv4-compatible"),
        ("2001::1", "Teredo"),
    ],
)
def test_every_internal_range_is_refused_as_a_resolved_address(address: str, why: str) -> None:
    reason = refusal("https://hooks.example.com/x", resolved=[address])
    assert reason is not None
    assert why in reason
    assert reason.startswith("hooks.example.com resolves to")


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/",
        "https://100.64.0.1/",
        "https://[::ffff:10.0.0.1]/",
        "https://[64:ff9b::a9fe:a9fe]/",
        "https://[2002:a9fe:a9fe::]/",
        "https://0.0.0.0/",
        "https://224.0.0.1/",
        "https://240.0.0.1/",
    ],
)
def test_address_literals_in_the_url_are_checked_without_resolving(url: str) -> None:
    guard = WebhookGuard(resolver=answers({}))  # any lookup would fail with "does not resolve"
    with pytest.raises(RefusedTarget):
        guard.check_url(url)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://2130706433/", "numeric"),  # 127.0.0.1 in decimal
        ("https://017700000001/", "numeric"),  # ... in octal
        ("https://0x7f.1/", "numeric"),  # ... in hex, shortened
        ("https://0x7f000001/", "numeric"),
        ("https://127.1/", "numeric"),
        ("https://0177.0.0.1/", "numeric"),
        ("https://127.000.000.001/", "leading zeros"),
        ("https://localhost/", "loopback name"),
        ("https://LOCALHOST./", "loopback name"),
        ("https://api.localhost/", "loopback name"),
        ("https://user:pass@hooks.example.com/", "credentials"),
        ("https://user@hooks.example.com/", "credentials"),
        ("https://hooks.example.com@127.0.0.1/", "credentials"),
        ("http://hooks.example.com/", "https"),
        ("ftp://hooks.example.com/", "https"),
        ("hooks.example.com/x", "https"),
        ("https:///nohost", "no host"),
        ("https://hooks.example.com:99999/", "port"),
        ("https://hooks.example.com:0/", "port"),
        ("https://hooks example.com/", "whitespace"),
        ("https://hooks.example.com\\@evil.example/", "backslash"),
        ("https://hooks.example.com/\r\nX: y", "control"),
        ("https://[fe80::1%25eth0]/", "zone"),
        ("https://-bad-.example.com/", "not a valid host name"),
    ],
)
def test_url_forms_that_are_refused(url: str, why: str) -> None:
    reason = refusal(url)
    assert reason is not None
    assert why in reason


def test_a_public_host_passes_and_its_checked_address_is_the_one_to_dial() -> None:
    guard = WebhookGuard(
        resolver=answers({"hooks.example.com": [PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]})
    )
    target = guard.check_url("https://hooks.example.com:8443/in?x=1")
    assert target.host == "hooks.example.com"
    assert target.port == 8443
    assert target.address == PUBLIC
    assert target.addresses == (PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c")


def test_public_literals_and_public_nat64_or_mapped_forms_pass() -> None:
    guard = WebhookGuard(resolver=answers({}))
    assert guard.check_url(f"https://{PUBLIC}/").address == PUBLIC
    assert guard.check_url("https://[::ffff:5db8:d70e]/").address == PUBLIC  # dialled as IPv4
    assert guard.check_url("https://[64:ff9b::5db8:d70e]/").address == "64:ff9b::5db8:d70e"


def test_one_bad_address_among_good_ones_refuses_the_host() -> None:
    assert refusal("https://hooks.example.com/", resolved=[PUBLIC, "10.1.2.3"]) is not None


def test_a_host_that_does_not_resolve_is_not_a_refusal_but_unresolvable() -> None:
    guard = WebhookGuard(resolver=answers({}))
    with pytest.raises(UnresolvableTarget, match="does not resolve"):
        guard.check_url("https://nowhere.example.com/")
    with pytest.raises(UnresolvableTarget):
        WebhookGuard(resolver=answers({"empty.example.com": []})).check_url("https://empty.example.com/")


def test_rebinding_public_at_submit_private_at_connect_is_caught_by_the_second_check() -> None:
    answers_in_turn = iter([[PUBLIC], ["169.254.169.254"]])
    guard = WebhookGuard(resolver=lambda host, port: next(answers_in_turn))
    assert guard.check_url("https://rebind.example.com/").address == PUBLIC  # submit
    with pytest.raises(RefusedTarget, match="metadata"):
        guard.check_url("https://rebind.example.com/")  # connect


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://[::1]:8080/hook",
        "http://localhost:8080/hook",
        "https://127.0.0.1/hook",
    ],
)
def test_insecure_mode_allows_http_and_loopback(url: str) -> None:
    guard = WebhookGuard(policy=LOCAL_DEVELOPMENT, resolver=answers({"localhost": ["127.0.0.1", "::1"]}))
    assert guard.check_url(url).port in (8080, 443)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://user:pass@127.0.0.1/",
        "http://0.0.0.0:8080/",
        "http://224.0.0.1/",
        "ftp://127.0.0.1/",
    ],
)
def test_insecure_mode_still_refuses_everything_else(url: str) -> None:
    assert refusal(url, insecure=True) is not None


def test_insecure_mode_localhost_must_still_resolve_to_loopback_only() -> None:
    guard = WebhookGuard(policy=LOCAL_DEVELOPMENT, resolver=answers({"localhost": ["127.0.0.1", "10.0.0.5"]}))
    with pytest.raises(RefusedTarget, match="private"):
        guard.check_url("http://localhost/")


def test_the_default_resolver_is_the_module_seam(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ssrf, "resolve_host", answers({"hooks.example.com": ["10.0.0.7"]}))
    with pytest.raises(RefusedTarget, match="private"):
        WebhookGuard().check_url("https://hooks.example.com/")
