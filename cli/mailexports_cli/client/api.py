"""The canonical v1 API over HTTP (requests): every failure becomes a one-line ClientError."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import requests

from mailexports_cli.client.connection import Connection
from mailexports_cli.client.errors import ApiRefused, ApiUnavailable, refusal_message

# (connect, read) seconds: a submit or a read answers quickly; a stuck server must not hang a script.
TIMEOUT = (10.0, 60.0)
_ERRNO_REASON = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")
_USER_AGENT = "mailexports-cli"


@dataclass(frozen=True)
class Answer:
    body: Any
    retry_after: float | None  # seconds, from the Retry-After header


class ApiClient:
    def __init__(self, connection: Connection, session: requests.Session | None = None) -> None:
        self.connection = connection
        self.session = session or requests.Session()

    # ------------------------------------------------------------ routes

    def submit(self, body: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return _task(self._call("POST", "/v1/exports", json=body, headers=headers).body)

    def task(self, task_uuid: str) -> Answer:
        answer = self._call("GET", f"/v1/exports/{_segment(task_uuid)}")
        _task(answer.body)
        return answer

    def cancel(self, task_uuid: str) -> dict[str, Any]:
        return _task(self._call("DELETE", f"/v1/exports/{_segment(task_uuid)}").body)

    def list(self, status: str | None = None, limit: int | None = None, cursor: str | None = None) -> Any:
        query = {"status": status, "limit": limit, "cursor": cursor}
        body = self._call("GET", "/v1/exports", params={k: v for k, v in query.items() if v}).body
        if not isinstance(body, dict) or not isinstance(body.get("exports"), list):
            raise ApiUnavailable(f"unexpected answer from {self.connection.api_url}/v1/exports")
        return body

    # ------------------------------------------------------------ transport

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        url = self.connection.api_url + path
        # The key goes on each API request, never on the session: downloads from signed
        # S3 URLs must not carry it (S3 would refuse two credentials, and must not see it).
        all_headers = {
            "Authorization": f"Bearer {self.connection.api_key}",
            "Accept": "application/json",
            "User-Agent": _USER_AGENT,
            **(headers or {}),
        }
        try:
            response = self.session.request(
                method, url, json=json, params=params, headers=all_headers, timeout=TIMEOUT,
                allow_redirects=False,
            )  # fmt: skip
        except requests.RequestException as error:
            raise unreachable(self.connection, error) from None
        body = _json_or_none(response)
        if response.status_code >= 500:
            raise ApiUnavailable(
                f"the API failed: HTTP {response.status_code} from {method} {path}"
                + (f" ({refusal_message(response.status_code, body)[0]})" if body else "")
            )
        if response.status_code >= 400:
            message, code = refusal_message(response.status_code, body)
            if response.status_code == 401:
                message += f" (the key came from {self.connection.key_source})"
            raise ApiRefused(response.status_code, message, code)
        if body is None and response.status_code != 204:  # 204 No Content: a delete
            raise ApiUnavailable(f"the API answered {method} {path} with something that is not JSON")
        return Answer(body, retry_after(response.headers.get("Retry-After")))


def unreachable(connection: Connection, error: requests.RequestException) -> ApiUnavailable:
    where = f"the API at {connection.api_url}"
    hint = " (is the local stack running? `make run`)" if connection.source == "the local stack" else ""
    if isinstance(error, requests.Timeout):
        return ApiUnavailable(f"{where} did not answer in time{hint}")
    found = _ERRNO_REASON.search(str(error))
    reason = found.group(1).strip().lower() if found else type(error).__name__
    return ApiUnavailable(f"cannot reach {where}: {reason}{hint}")


def retry_after(value: str | None) -> float | None:
    """Seconds to wait, from `Retry-After: <seconds>` or `Retry-After: <HTTP date>`."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _segment(task_uuid: str) -> str:
    """A task id as one path segment: `../x` or `a/b` cannot reach another route."""
    return quote(task_uuid, safe="")


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _task(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or "task_uuid" not in body or "status" not in body:
        raise ApiUnavailable("the API answered with something that is not a task")
    return body
