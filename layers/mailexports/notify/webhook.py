"""Webhook delivery: one POST, pinned to an address the SSRF guard just checked.

The host is resolved and checked immediately before connecting and the TCP
connection goes to that very address, while the Host header, TLS SNI and the
certificate check still use the host name, so DNS rebinding cannot slip an
internal address in between. Redirects are never followed, proxies and .netrc
from the environment are ignored, and the response body is never read.
"""

from __future__ import annotations

import socket
from typing import Any, cast

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.connection import create_connection

from mailexports.notify.result import DeliveryResult
from mailexports.notify.ssrf import CheckedTarget, RefusedTarget, UnresolvableTarget, WebhookGuard

USER_AGENT = "mailexports-webhooks/1.0"


def _connect(connection: HTTPConnection, address: str) -> socket.socket:
    try:
        return create_connection(
            (address, connection.port),
            connection.timeout,
            source_address=connection.source_address,
            socket_options=connection.socket_options,
        )
    except TimeoutError as error:
        raise ConnectTimeoutError(connection, f"connection to {connection.host} timed out") from error
    except OSError as error:
        raise NewConnectionError(connection, f"failed to connect to {connection.host}: {error}") from error


class _PinnedHTTPConnection(HTTPConnection):
    pinned_address = ""

    def _new_conn(self) -> socket.socket:
        return _connect(self, self.pinned_address)


class _PinnedHTTPSConnection(HTTPSConnection):
    pinned_address = ""

    def _new_conn(self) -> socket.socket:
        return _connect(self, self.pinned_address)


class PinnedAdapter(HTTPAdapter):
    """Connects every request to `address`; everything else (Host, SNI, certificate
    verification) keeps using the URL's host name."""

    def __init__(self, address: str) -> None:
        self._address = address
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        http_conn = type("PinnedHTTP", (_PinnedHTTPConnection,), {"pinned_address": self._address})
        https_conn = type("PinnedHTTPS", (_PinnedHTTPSConnection,), {"pinned_address": self._address})
        self.poolmanager.pool_classes_by_scheme = {
            "http": cast(
                type[HTTPConnectionPool],
                type("PinnedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            ),
            "https": cast(
                type[HTTPConnectionPool],
                type("PinnedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
            ),
        }


class WebhookSender:
    def __init__(self, guard: WebhookGuard, *, timeout: float = 10.0, verify: bool | str = True) -> None:
        self._guard = guard
        self._timeout = timeout
        self._verify = verify  # a CA bundle path in tests; always verified

    def send(self, url: str, body: str, headers: dict[str, str]) -> DeliveryResult:
        try:
            target = self._guard.check_url(url)  # at connect time: resolve and check afresh
        except RefusedTarget:
            return DeliveryResult("refused_target", final=True)
        except UnresolvableTarget:
            return DeliveryResult("dns_error")
        return self._post(target, body, headers)

    def _post(self, target: CheckedTarget, body: str, headers: dict[str, str]) -> DeliveryResult:
        session = requests.Session()
        session.trust_env = False  # no proxy (it would connect elsewhere) and no .netrc credentials
        adapter = PinnedAdapter(target.address)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        all_headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **headers,
        }
        try:
            with session.post(
                target.url,
                data=body.encode(),
                headers=all_headers,
                timeout=(self._timeout, self._timeout),
                allow_redirects=False,
                stream=True,  # the body is never read: it is the receiver's, not ours to keep
                verify=self._verify,
            ) as response:
                return classify(response.status_code, response.headers.get("Retry-After"))
        except requests.exceptions.Timeout:
            return DeliveryResult("timeout")
        except requests.exceptions.SSLError:
            return DeliveryResult("tls_error")
        except requests.exceptions.ConnectionError:
            return DeliveryResult("connection_error")
        except requests.exceptions.RequestException:
            return DeliveryResult("error")
        finally:
            session.close()


def classify(status: int, retry_after: str | None = None) -> DeliveryResult:
    if 200 <= status < 300:
        return DeliveryResult("delivered", status)
    if 300 <= status < 400:
        return DeliveryResult("redirect", status)
    if status == 410:
        return DeliveryResult("gone", status, final=True)
    if status == 429:
        return DeliveryResult("rate_limited", status, retry_after=retry_after)
    if status == 503:
        return DeliveryResult("unavailable", status, retry_after=retry_after)
    return DeliveryResult("http_error", status)
