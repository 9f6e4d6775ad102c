"""The Copernica dialect judged by the vendor's own client. Copernica publishes no package
for it: its documentation (Publisher/en/restv3/rest-php.md) hands out a PHP class,
`CopernicaRestAPI`, kept in the CopernicaMarketingSoftware/Documentation repository as
Publisher/downloads/CopernicaRestAPI.php (copernica-rest-api.php is the same class).
`PhpRestClient` below does exactly what that class does with HTTP, step by step, in
Python (PHP is not on the machines that run these tests), and the tests drive the
data-request pages of Publisher/en/restv3/ through it against the running local stack:

- every URL is `{$host}/v{$version}/{$resource}?` + `http_build_query(['access_token' =>
  token] + $parameters)`; `$host` is the class's one base-URL setting;
- `get()`: curl with no redirect following; the answer is `json_decode`d only when
  `CURLINFO_CONTENT_TYPE == 'application/json'` (so `application/json; charset=...`
  would come back as a raw string), undecodable JSON throws, anything else is returned raw;
- `post()`: `json_encode($data)` as the body with `content-type: application/json`,
  `CURLOPT_HEADER` on (headers and body in one string); HTTP 400 (or no answer) returns
  false, else `preg_match('/X-Created:\\s?(\\d+)/i', ...)` over that string returns the
  digits, and without a match true.
"""

from __future__ import annotations

import http.client
import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from mailexports_dev.generate import GenerateOptions, generate_lines
from mailexports_dev.local.demo import DEMO_SEED
from tests.expectations import Lines, busiest_address, contact_document
from tests.integration.conftest import RunningStack
from tests.unit.notify.receiver import WebhookReceiver

pytestmark = pytest.mark.integration

X_CREATED = re.compile(r"X-Created:\s?(\d+)", re.IGNORECASE)  # the class's own pattern
WAIT_S = 60


class UnexpectedInput(Exception):
    """The class's `throw new Exception('Unexpected input: '.$answer)`."""


def php_json_encode(data: dict[str, Any]) -> str:
    """PHP's json_encode with default flags: compact, `/` escaped, non-ASCII as \\uXXXX;
    an empty array() is `[]`."""
    if not data:
        return "[]"
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/")


class PhpRestClient:
    """CopernicaRestAPI's HTTP behaviour (see the module's doc); `host` is its `$host`."""

    def __init__(self, token: str, version: int, host: str) -> None:
        self.token, self.version, self.host = token, version, host

    def _url(self, resource: str, parameters: dict[str, str]) -> str:
        # `['access_token' => token] + $parameters`: PHP's + keeps the left-hand key.
        return (
            f"{self.host}/v{self.version}/{resource}?{urlencode({**parameters, 'access_token': self.token})}"
        )

    def _send(
        self, method: str, url: str, body: str | None, headers: dict[str, str]
    ) -> http.client.HTTPResponse:
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.netloc, timeout=30)
        connection.request(method, f"{parts.path}?{parts.query}", body=body, headers=headers)
        return connection.getresponse()  # never follows a redirect, like curl by default

    def get(self, resource: str, parameters: dict[str, str] | None = None) -> Any:
        answer = self._send("GET", self._url(resource, parameters or {}), None, {})
        raw = answer.read().decode()
        if answer.getheader("Content-Type") == "application/json":
            try:
                return json.loads(raw)
            except json.JSONDecodeError:
                raise UnexpectedInput(f"Unexpected input: {raw}") from None
        return raw

    def post(self, resource: str, data: dict[str, Any] | None = None) -> str | bool:
        answer = self._send(
            "POST",
            self._url(resource, {}),
            php_json_encode(data or {}),
            {"content-type": "application/json"},
        )
        head = f"HTTP/1.1 {answer.status} {answer.reason}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in answer.getheaders())
        whole = f"{head}\r\n{answer.read().decode()}"  # CURLOPT_HEADER: headers, then the body
        if not answer.status or answer.status == 400:
            return False
        match = X_CREATED.search(whole)
        return match[1] if match else True


@pytest.fixture(scope="module")
def demo_lines(local_stack: RunningStack) -> Lines:
    options = GenerateOptions(contacts=int(local_stack.demo["contacts"]), seed=DEMO_SEED)
    return Lines([json.loads(line) for line in generate_lines(options)])


@pytest.fixture
def api(local_stack: RunningStack) -> PhpRestClient:
    """`new CopernicaRestAPI($token, 3)` with `$host` set to the stack's Copernica base URL."""
    return PhpRestClient(local_stack.demo["api_key"], 3, f"{local_stack.api_url}/copernica")


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


def until_available(api: PhpRestClient, identifier: str) -> dict[str, Any]:
    """Poll the status page as its PHP example does, checking each answer on the way."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        status = api.get(f"datarequest/{identifier}/status")
        assert isinstance(status, dict), status  # decoded: the content type was exactly JSON
        if status["status"] == "available":
            return status
        assert status == {
            "status": "pending",
            "available": status["available"],
            "content-type": "application/json",
        }
        assert isinstance(status["available"], int)
        # Until then the data page is a 404 in Copernica's error shape, which get() decodes
        # (unless the data became ready between the two calls).
        waiting = api.get(f"datarequest/{identifier}/data")
        if "error" in waiting:
            assert waiting == {
                "error": {"message": f"the data of data request {identifier} is not available yet"}
            }
        else:
            assert set(waiting) == {"info", "data"}
        time.sleep(0.25)
    pytest.fail(f"data request {identifier} not available after {WAIT_S} s")


def test_the_vendors_data_request_pages_through_its_php_class(
    api: PhpRestClient, local_stack: RunningStack, demo_lines: Lines
) -> None:
    address = busiest_address(demo_lines)
    identifier = api.post(f"email/{address}/datarequest", {"report": "example@example.com"})
    assert isinstance(identifier, str)
    assert identifier.isdigit()

    status = until_available(api, identifier)
    data = api.get(f"datarequest/{identifier}/data")
    want = contact_document(demo_lines, address)
    assert data == want
    raw = http.client.HTTPConnection(urlsplit(local_stack.api_url).netloc, timeout=30)
    raw.request(
        "GET", f"/copernica/v3/datarequest/{identifier}/data?access_token={local_stack.demo['api_key']}"
    )
    assert status == {
        "status": "available",
        "available": len(raw.getresponse().read()),
        "content-type": "application/json",
    }
    # The seed page's GET and the task's UUID spelling answer the same data.
    assert api.get(f"datarequest/{identifier}") == want
    assert api.get(f"datarequest/{uuid.UUID(int=int(identifier))}/data") == want


def test_a_report_address_in_php_json_reaches_the_webhook(
    api: PhpRestClient, local_stack: RunningStack, demo_lines: Lines, hooks: WebhookReceiver
) -> None:
    address = busiest_address(demo_lines)
    identifier = api.post(f"email/{address}/datarequest", {"report": hooks.url("/copernica-php")})
    assert isinstance(identifier, str)  # `https:\/\/...` read as the URL it is
    until_available(api, identifier)
    deadline = time.monotonic() + WAIT_S
    while not any(r.path == "/copernica-php" for r in hooks.received) and time.monotonic() < deadline:
        time.sleep(0.25)
    (received,) = [r for r in hooks.received if r.path == "/copernica-php"]
    assert (
        json.loads(received.body)
        == api.get(f"datarequest/{identifier}/data")
        == contact_document(demo_lines, address)
    )


def test_an_empty_php_array_is_a_request_without_report(api: PhpRestClient) -> None:
    identifier = api.post("email/someone@example.com/datarequest")  # body `[]`
    assert isinstance(identifier, str)
    assert identifier.isdigit()
    until_available(api, identifier)
    assert api.get(f"datarequest/{identifier}/data")["info"] == {"type": "email", "id": "someone@example.com"}


def test_what_the_php_class_makes_of_errors(api: PhpRestClient, local_stack: RunningStack) -> None:
    wrong = PhpRestClient("wrong", 3, api.host)
    assert wrong.post("email/someone@example.com/datarequest") is False  # 400: the class's failure
    assert api.post("email/not-an-address/datarequest") is False
    assert api.post("email/someone@example.com/datarequest", {"report": "ftp://x"}) is False
    assert wrong.get("datarequest/123/status") == {"error": {"message": "invalid access_token"}}
    # Unknown identifiers: the status page says so in its own words, the data pages are 404s.
    assert api.get("datarequest/123/status") == {"status": "not available"}
    assert api.get("datarequest/123/data") == {"error": {"message": "no data request 123"}}
    assert api.get("datarequest/123") == {"error": {"message": "no data request 123"}}
