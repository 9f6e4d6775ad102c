"""Hostile requests through the real handlers: who serves each route, and what each
dialect's refusal looks like, so a test can say "a 4xx in the caller's dialect naming X"."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from tests.builders import api_event
from tests.unit.dialects.support import Answer, call, queued_exports, stored_tasks

from mailexports.config import Settings


@dataclass(frozen=True)
class Route:
    """One route that reads a request body, and how its dialect is authenticated."""

    name: str
    dialect: str
    function: str
    method: str
    path: str
    resource: str
    # Where the key goes: "bearer" (Authorization), "query:<name>", or "body:<name>"
    key_in: str

    def event(
        self,
        key: str,
        body: bytes | str | None,
        *,
        content_type: str | None = "application/json",
        base64_encoded: bool | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The proxy event API Gateway would build: bytes that are not UTF-8 arrive base64, as
        they do when the content type is binary or the text does not decode."""
        all_headers = {**({"Content-Type": content_type} if content_type else {}), **(headers or {})}
        query = {self.key_in.split(":", 1)[1]: key} if self.key_in.startswith("query:") else None
        api_key = key if self.key_in == "bearer" else None
        event = api_event(
            self.method, self.path, resource=self.resource, headers=all_headers, query=query, api_key=api_key
        )
        if isinstance(body, bytes):
            encoded = base64_encoded if base64_encoded is not None else not _is_utf8(body)
            event["body"] = base64.b64encode(body).decode("ascii") if encoded else body.decode("utf-8")
            event["isBase64Encoded"] = encoded
        else:
            event["body"] = body
            event["isBase64Encoded"] = bool(base64_encoded)
        return event


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


ROUTES = [
    Route("v1", "canonical", "submit", "POST", "/v1/exports", "/v1/exports", "bearer"),
    Route("pinpointe", "pinpointe", "submit", "POST", "/pinpointe", "/pinpointe", "body:usertoken"),
    Route(
        "pinpointe-xml.php",
        "pinpointe",
        "submit",
        "POST",
        "/pinpointe/xml.php",
        "/pinpointe/{proxy+}",
        "body:usertoken",
    ),
    Route(
        "selzy-stats",
        "selzy",
        "submit",
        "POST",
        "/selzy/en/api/async/getCampaignDeliveryStats",
        "/selzy/{lang}/api/async/getCampaignDeliveryStats",
        "query:api_key",
    ),
    Route(
        "selzy-result",
        "selzy",
        "status",
        "POST",
        "/selzy/en/api/async/getTaskResult",
        "/selzy/{lang}/api/async/getTaskResult",
        "query:api_key",
    ),
    Route(
        "selzy-other",
        "selzy",
        "status",
        "POST",
        "/selzy/en/api/getLists",
        "/selzy/{lang}/api/{method}",
        "query:api_key",
    ),
    Route(
        "copernica",
        "copernica",
        "submit",
        "POST",
        "/copernica/v3/email/abc@example.com/datarequest",
        "/copernica/v3/email/{email}/datarequest",
        "query:access_token",
    ),
]


# A refusal names the fault; it never echoes a huge hostile value back.
MAX_REFUSAL_BYTES = 4096


def error_message(dialect: str, answer: Answer) -> str:
    """The refusal's message, after checking the answer has the dialect's error shape."""
    if dialect == "selzy":  # Selzy answers errors in-band, HTTP 200
        assert answer.status == 200, answer.raw
        body = answer.body
        assert set(body) == {"error", "code"}, answer.raw
        return str(body["error"])
    assert 400 <= answer.status < 500, (answer.status, answer.raw)
    body = None if answer.headers.get("content-type", "").startswith("text/xml") else answer.body
    if dialect == "canonical":
        assert set(body) == {"error"}, answer.raw
        assert set(body["error"]) == {"code", "message", "details"}, answer.raw
        return " ".join([body["error"]["message"], json.dumps(body["error"]["details"])])
    if dialect == "pinpointe":  # ERROR for a refusal, FAILED for a failed login
        if answer.headers.get("content-type", "").startswith("text/xml"):
            assert re.search(r"<status>(ERROR|FAILED)</status>", answer.raw), answer.raw
            return answer.raw
        assert body["status"] in ("ERROR", "FAILED"), answer.raw
        return str(body["errormessage"])
    if dialect == "copernica":
        assert set(body) == {"error"}, answer.raw
        return str(body["error"]["message"])
    if dialect == "constantcontact":
        assert isinstance(body, list), answer.raw
        assert body, answer.raw
        assert set(body[0]) == {"error_key", "error_message"}, answer.raw
        return str(body[0]["error_message"])
    raise AssertionError(f"unknown dialect {dialect}")


def refused(handlers: dict[str, ModuleType], settings: Settings, route: Route, event: dict[str, Any]) -> str:
    """Call the route; check it refused in its dialect and wrote nothing. Returns the message."""
    answer = call(handlers, route.function, event)
    message = error_message(route.dialect, answer)
    assert len(answer.raw) <= MAX_REFUSAL_BYTES, f"the refusal echoes the input: {answer.raw[:300]}"
    assert stored_tasks(settings) == 0, "a refused request wrote a task"
    assert queued_exports(settings) == 0, "a refused request queued an export"
    return message
