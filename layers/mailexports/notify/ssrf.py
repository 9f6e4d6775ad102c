"""Where a webhook may be sent: the SSRF guard.

A webhook URL is checked twice: at submit, so a bad target is a clear 4xx, and
again just before connecting, when the host is resolved afresh and the
connection is pinned to the address that passed (see `webhook.py`), so a DNS
answer that changes in between (rebinding) cannot reach an internal address.

`ipaddress.is_global` alone is not enough: it calls multicast, NAT64
(64:ff9b::/96) and IPv4-compatible forms "global", so addresses are judged by
explicit ranges first, with the embedded IPv4 address of IPv4-mapped, NAT64
and 6to4 forms judged as IPv4, and only then by `is_global`.

What is allowed is a `WebhookPolicy`. Every process starts STRICT and the service
never changes that; only the local stack (mailexports_dev) installs
LOCAL_DEVELOPMENT in the execution environments it runs the functions in, so a
developer can receive webhooks on http://localhost. No setting or environment
variable of the service can relax it.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# host, port -> the addresses the host resolves to (strings, as getaddrinfo gives them)
Resolver = Callable[[str, int], Sequence[str]]


def system_resolve(host: str, port: int) -> list[str]:
    """The platform resolver; every address it answers is returned (and checked)."""
    addresses: list[str] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


# The resolver used when none is passed; a seam tests replace.
resolve_host: Resolver = system_resolve


@dataclass(frozen=True)
class WebhookPolicy:
    """Which targets the guard accepts beyond public https hosts."""

    allow_insecure: bool = False  # http, loopback addresses and localhost names


STRICT = WebhookPolicy()
LOCAL_DEVELOPMENT = WebhookPolicy(allow_insecure=True)

_installed = STRICT


def install_policy(policy: WebhookPolicy) -> None:
    """Set this process's policy: called by the local stack before it loads a handler, never by the service."""
    global _installed
    _installed = policy


def installed_policy() -> WebhookPolicy:
    """This process's policy: STRICT unless the local stack installed another."""
    return _installed


class RefusedTarget(Exception):
    """The URL or an address its host resolves to is not allowed; `reason` is user-facing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnresolvableTarget(Exception):
    """The host has no address right now (a 4xx at submit, a retry at delivery)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CheckedTarget:
    """A URL that passed the guard, with the addresses that passed with it."""

    url: str
    scheme: str
    host: str  # as in the URL (IDNA-encoded), used for Host, SNI and certificate checks
    port: int
    addresses: tuple[str, ...]

    @property
    def address(self) -> str:
        """The address to connect to: one of those checked, never a fresh lookup."""
        return self.addresses[0]


_METADATA = {
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "169.254.169.253", "169.254.169.123", "fd00:ec2::254")
}

_V4_RANGES = [
    (ipaddress.IPv4Network(net), why)
    for net, why in (
        ("0.0.0.0/8", "an unspecified address"),
        ("10.0.0.0/8", "a private address"),
        ("100.64.0.0/10", "a carrier-grade NAT (CGNAT) address"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", "a private address"),
        ("192.0.0.0/24", "a reserved address"),
        ("192.0.2.0/24", "a documentation address"),
        ("192.88.99.0/24", "a reserved address"),
        ("192.168.0.0/16", "a private address"),
        ("198.18.0.0/15", "a reserved address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),  # includes 255.255.255.255
    )
]

_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")

_V6_RANGES = [
    (ipaddress.IPv6Network(net), why)
    for net, why in (
        ("::/128", "an unspecified address"),
        ("::1/128", "a loopback address"),
        ("::/96", "an IPv4-compatible (deprecated) address"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("100::/64", "a discard-only address"),
        ("2001::/32", "a Teredo tunnel address"),
        ("2001:db8::/32", "a documentation address"),
        ("fc00::/7", "a private (unique-local) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local (deprecated) address"),
        ("ff00::/8", "a multicast address"),
    )
]

_LOOPBACK = (ipaddress.IPv4Network("127.0.0.0/8"), ipaddress.IPv6Network("::1/128"))


def address_refusal(address: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why `address` may not be a webhook target, or None when it may."""
    if allow_loopback and any(address in net for net in _LOOPBACK if net.version == address.version):
        return None
    if address in _METADATA:
        return "the cloud metadata address"
    if isinstance(address, ipaddress.IPv4Address):
        for net, why in _V4_RANGES:
            if address in net:
                return why
    else:
        embedded, form = _embedded_ipv4(address)
        if embedded is not None:
            inner = address_refusal(embedded)
            if inner is not None:
                return f"an {form} form of {inner}"
            if address in _SIX_TO_FOUR:
                return "a 6to4 tunnel address"  # deprecated (RFC 7526): refused whatever it embeds
            return None  # IPv4-mapped or NAT64 of a public address
        for net6, why in _V6_RANGES:
            if address in net6:
                return why
    if not address.is_global:
        return "a non-public address"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address | None, str]:
    if address in _MAPPED:
        return address.ipv4_mapped, "IPv4-mapped"
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "NAT64"
    if address in _SIX_TO_FOUR:
        return address.sixtofour, "6to4"
    return None, ""


def connect_form(address: IPAddress) -> str:
    """The address to dial: an IPv4-mapped address is dialled as the IPv4 address it maps."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


_DOTTED_QUAD = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
# A last label like "1", "017700000001" or "0x7f" makes the whole host an IPv4 spelling to
# URL parsers and to inet_aton (decimal, octal, hex, shortened forms): refuse them all.
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")
_DNS_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class _Parsed:
    scheme: str
    host: str
    port: int
    literal: IPAddress | None
    localhost: bool


class WebhookGuard:
    """Checks webhook URLs against `policy`, or when none is given against the process's
    policy at the time of each check (STRICT unless the local stack installed another)."""

    def __init__(self, *, policy: WebhookPolicy | None = None, resolver: Resolver | None = None) -> None:
        self._policy = policy
        self._resolver = resolver

    @property
    def allow_insecure(self) -> bool:
        return (self._policy or installed_policy()).allow_insecure

    def check_url(self, url: str) -> CheckedTarget:
        """Parse `url`, resolve its host and check every address; raise RefusedTarget or
        UnresolvableTarget, or return the target with the addresses that passed."""
        parsed = self._parse(url)
        if parsed.literal is not None:
            addresses = [parsed.literal]
            subject = f"{parsed.host} is"
        else:
            addresses = self._resolve(parsed.host, parsed.port)
            subject = f"{parsed.host} resolves to"
        for address in addresses:
            why = address_refusal(address, allow_loopback=self.allow_insecure)
            if why is not None:
                raise RefusedTarget(f"{subject} {why}, which webhooks may not be sent to")
        return CheckedTarget(
            url=url,
            scheme=parsed.scheme,
            host=parsed.host,
            port=parsed.port,
            addresses=tuple(dict.fromkeys(connect_form(a) for a in addresses)),
        )

    def _resolve(self, host: str, port: int) -> list[IPAddress]:
        resolver = self._resolver or resolve_host
        try:
            answers = list(resolver(host, port))
        except (OSError, UnicodeError) as error:
            raise UnresolvableTarget(f"{host} does not resolve ({error.__class__.__name__})") from None
        if not answers:
            raise UnresolvableTarget(f"{host} does not resolve")
        addresses: list[IPAddress] = []
        for answer in answers:
            try:
                # A scope id (fe80::1%eth0) only ever comes with link-local addresses.
                addresses.append(ipaddress.ip_address(answer.split("%", 1)[0]))
            except ValueError:
                raise UnresolvableTarget(f"{host} resolved to something that is not an address") from None
        return addresses

    def _parse(self, url: str) -> _Parsed:
        if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F or c == "\\" for c in url):
            raise RefusedTarget("the URL contains whitespace, control characters or backslashes")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise RefusedTarget("not a valid URL (check the host and port)") from None
        scheme = parts.scheme.lower()
        allowed = ("https", "http") if self.allow_insecure else ("https",)
        if scheme not in allowed:
            raise RefusedTarget(
                "the URL must use https" if not self.allow_insecure else "the URL must use http(s)"
            )
        if "@" in parts.netloc:
            raise RefusedTarget("the URL must not carry credentials (user:password@)")
        host = parts.hostname or ""
        if not host:
            raise RefusedTarget("the URL has no host")
        port = port if port is not None else _DEFAULT_PORTS[scheme]
        if port == 0:
            raise RefusedTarget("the URL has an invalid port")
        if parts.netloc.startswith("["):
            if "%" in host:
                raise RefusedTarget("IPv6 zone identifiers are not allowed in webhook URLs")
            try:
                return _Parsed(scheme, host, port, ipaddress.IPv6Address(host), False)
            except ValueError:
                raise RefusedTarget("the URL's IPv6 address is not valid") from None
        name = host[:-1] if host.endswith(".") else host
        if _DOTTED_QUAD.fullmatch(name):
            try:
                return _Parsed(scheme, host, port, ipaddress.IPv4Address(name), False)
            except ValueError:
                raise RefusedTarget(f"{host} is an ambiguous IPv4 spelling (leading zeros)") from None
        labels = name.split(".")
        if _NUMERIC_LABEL.fullmatch(labels[-1]):
            raise RefusedTarget(f"{host} is a numeric address spelling other than a.b.c.d")
        try:
            ascii_name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise RefusedTarget(f"{host} is not a valid host name") from None
        if len(ascii_name) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in ascii_name.split(".")):
            raise RefusedTarget(f"{host} is not a valid host name")
        localhost = ascii_name == "localhost" or ascii_name.endswith(".localhost")
        if localhost and not self.allow_insecure:
            raise RefusedTarget(f"{host} is a loopback name, which webhooks may not be sent to")
        return _Parsed(scheme, ascii_name, port, None, localhost)
