"""The `/v1/schedules` routes over HTTP, on the same transport and error handling as exports."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from mailexports_cli.client.api import ApiClient
from mailexports_cli.client.errors import ApiUnavailable


class SchedulesApi(ApiClient):
    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        return _schedule(self._call("POST", "/v1/schedules", json=body).body)

    def schedule(self, schedule_id: str) -> dict[str, Any]:
        return _schedule(self._call("GET", _path(schedule_id)).body)

    def update(self, schedule_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        return _schedule(self._call("PATCH", _path(schedule_id), json=changes).body)

    def delete(self, schedule_id: str) -> None:
        self._call("DELETE", _path(schedule_id))

    def schedules(self, limit: int | None = None, cursor: str | None = None) -> dict[str, Any]:
        query = {"limit": limit, "cursor": cursor}
        body = self._call("GET", "/v1/schedules", params={k: v for k, v in query.items() if v}).body
        if not isinstance(body, dict) or not isinstance(body.get("schedules"), list):
            raise ApiUnavailable(f"unexpected answer from {self.connection.api_url}/v1/schedules")
        return body


def _path(schedule_id: str) -> str:
    return f"/v1/schedules/{quote(schedule_id, safe='')}"  # one path segment, whatever it holds


def _schedule(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or "id" not in body or "schedule" not in body:
        raise ApiUnavailable("the API answered with something that is not a schedule")
    return body
