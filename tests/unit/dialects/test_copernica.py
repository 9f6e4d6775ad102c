"""Copernica REST v3 (seed 003) through the real handlers, worker and store, on generated data."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any
from urllib.parse import quote

import pytest
from tests.builders import api_event
from tests.expectations import busiest_address, contact_document
from tests.unit.dialects.support import (
    Answer,
    Dataset,
    call,
    fetch,
    queued_exports,
    run_worker,
    stored_tasks,
)

from mailexports.config import Settings
from mailexports.dialects import copernica
from mailexports.dialects.copernica_webhook import WEBHOOK
from mailexports.dialects.dialect import payload_builders
from mailexports.exports.task import TaskError, TaskStatus
from mailexports.exports.task_store import DynamoTaskStore
from mailexports.notify.mail import EmailSender
from mailexports.notify.payloads import build_payload
from mailexports.tenants.models import CreatedTenant
from mailexports.tenants.service import create_tenant

pytestmark = pytest.mark.usefixtures("public_dns")

HOOK = "https://hooks.example.com/copernica"

PAYLOADS = payload_builders([WEBHOOK])  # what the notify handler hands the notifier


def post(
    handlers: dict[str, ModuleType],
    email: str,
    query: dict[str, str],
    body: str | None,
    *,
    encoded: bool = False,
) -> Answer:
    """POST /v3/email/{email}/datarequest as the seed's PHP class sends it (a JSON body)."""
    in_path = quote(email, safe="") if encoded else email
    event = api_event(
        "POST",
        f"/copernica/v3/email/{in_path}/datarequest",
        resource="/copernica/v3/email/{email}/datarequest",
        body=body,
        query=query or None,
        headers={"Content-Type": "application/json"},
    )
    event["pathParameters"] = {"email": email}  # API Gateway hands it over decoded
    return call(handlers, "submit", event)


def get(handlers: dict[str, ModuleType], identifier: str, token: str, tail: str = "") -> Answer:
    """GET /v3/datarequest/{id}, or its `/status` or `/data` (tail)."""
    event = api_event(
        "GET",
        f"/copernica/v3/datarequest/{identifier}{tail}",
        resource=f"/copernica/v3/datarequest/{{id}}{tail}",
        query={"access_token": token},
    )
    event["pathParameters"] = {"id": identifier}
    return call(handlers, "status", event)


def created_id(answer: Answer) -> str:
    assert answer.status == 201, answer.raw
    identifier = answer.headers["x-created"]
    assert re.fullmatch(r"\d+", identifier)  # what Copernica's PHP class reads back
    assert answer.body == {"id": identifier}
    assert answer.headers["location"] == f"https://api.example.test/copernica/v3/datarequest/{identifier}"
    return identifier


def task_of(identifier: str) -> Any:
    task = DynamoTaskStore().load(str(uuid.UUID(int=int(identifier))))
    assert task is not None
    return task


def test_seed_example_then_poll_until_the_file_is_there(
    handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset
) -> None:
    email = busiest_address(data)
    answer = post(handlers, email, {"access_token": data.tenant.api_key}, '{"report": "example@example.com"}')
    identifier = created_id(answer)

    waiting = get(handlers, identifier, data.tenant.api_key)
    assert waiting.status == 200
    assert waiting.headers["content-type"] == "application/json"  # exactly: the PHP class compares it
    assert waiting.body == {"info": {"type": "email", "id": email}, "data": "Data not available (yet)"}

    assert run_worker(handlers, aws_stack) == 1
    ready = get(handlers, identifier, data.tenant.api_key)
    assert ready.status == 200
    assert ready.headers["content-type"] == "application/json"
    want = contact_document(data, email)
    assert all(want["data"][kind] for kind in (0, 1, 2))
    assert ready.body == want

    task = task_of(identifier)
    assert task.dialect == "copernica"
    assert task.notification is not None
    assert (task.notification.type, task.notification.target) == ("email", "example@example.com")
    # The UUID spelling of the same identifier answers the same.
    assert get(handlers, task.task_uuid, data.tenant.api_key).body == want


def test_report_web_address_in_the_query_gets_the_json_data_itself(
    handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset
) -> None:
    email = busiest_address(data)
    identifier = created_id(
        post(handlers, email, {"access_token": data.tenant.api_key, "report": HOOK}, None)
    )
    run_worker(handlers, aws_stack)
    task = task_of(identifier)
    assert task.notification is not None
    assert (task.notification.type, task.notification.target) == ("webhook", HOOK)
    body = build_payload(task, "export.completed", PAYLOADS)
    assert body == get(handlers, identifier, data.tenant.api_key).raw  # the file, byte for byte
    assert json.loads(body) == contact_document(data, email)


def test_a_failed_request_reports_that_no_data_will_come(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant
) -> None:
    identifier = created_id(
        post(handlers, "abc@example.com", {"access_token": minimal.api_key, "report": HOOK}, None)
    )
    task = task_of(identifier).model_copy(
        update={
            "status": TaskStatus.FAILED,
            "error": TaskError(code="export_failed", message="store unreachable"),
        }
    )
    payload = json.loads(build_payload(task, "export.failed", PAYLOADS))
    assert payload == {
        "info": {"type": "email", "id": "abc@example.com"},
        "data": "Data not available",
        "error": "store unreachable",
    }


def test_a_small_file_is_attached_to_the_report_email_and_a_large_one_linked(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant
) -> None:
    identifier = created_id(
        post(handlers, "abc@example.com", {"access_token": minimal.api_key}, '{"report": "me@example.org"}')
    )
    run_worker(handlers, aws_stack)
    task = task_of(identifier)
    file = get(handlers, identifier, minimal.api_key).raw.encode()
    small = EmailSender(aws_stack, attachment_max_bytes=len(file)).build(
        task, "export.completed", "me@example.org"
    )
    attached = [part.get_content() for part in small.iter_attachments()]
    assert attached == [file]
    large = EmailSender(aws_stack, attachment_max_bytes=len(file) - 1).build(
        task, "export.completed", "me@example.org"
    )
    assert list(large.iter_attachments()) == []
    assert "/v1/downloads/" in large.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize("body", [None, "", "[]", "{}"])
def test_without_report_polling_is_the_way(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant, body: str | None
) -> None:
    identifier = created_id(post(handlers, "abc@example.com", {"access_token": minimal.api_key}, body))
    assert task_of(identifier).notification is None
    run_worker(handlers, aws_stack)
    document = get(handlers, identifier, minimal.api_key).body
    assert document["info"] == {"type": "email", "id": "abc@example.com"}
    assert [len(kind) for kind in document["data"]] == [0, 1, 0, 0]


def test_a_percent_encoded_address_in_the_path(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant
) -> None:
    identifier = created_id(
        post(handlers, "abc@example.com", {"access_token": minimal.api_key}, None, encoded=True)
    )
    assert task_of(identifier).params == {"email": "abc@example.com"}


def test_a_file_too_big_to_answer_inline_is_a_redirect_to_it(
    handlers: dict[str, ModuleType],
    aws_stack: Settings,
    minimal: CreatedTenant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    identifier = created_id(post(handlers, "abc@example.com", {"access_token": minimal.api_key}, None))
    run_worker(handlers, aws_stack)
    inline = get(handlers, identifier, minimal.api_key).raw
    monkeypatch.setattr(copernica, "INLINE_MAX_BYTES", 100)
    redirected = get(handlers, identifier, minimal.api_key)
    assert redirected.status == 302
    assert fetch(redirected.headers["location"]).decode() == inline


# ------------------------------------------------------------------ errors
POST_ERRORS: list[tuple[str, str, dict[str, str], str | None, str]] = [
    ("no access_token", "abc@example.com", {}, None, "access_token is required"),
    ("wrong access_token", "abc@example.com", {"access_token": "mxk_wrong"}, None, "invalid access_token"),
    ("not an address", "not-an-address", {"access_token": "KEY"}, None, "is not an email address"),
    (
        "report neither",
        "abc@example.com",
        {"access_token": "KEY"},
        '{"report": "somewhere"}',
        "report must be an email",
    ),
    (
        "report bad email",
        "abc@example.com",
        {"access_token": "KEY"},
        '{"report": "a@b"}',
        "report is not usable",
    ),
    (
        "report http",
        "abc@example.com",
        {"access_token": "KEY", "report": "http://hooks.example.com/x"},
        None,
        "report is not usable: the URL must use https",
    ),
    ("body not JSON", "abc@example.com", {"access_token": "KEY"}, "{report", "not valid JSON"),
    ("body a string", "abc@example.com", {"access_token": "KEY"}, '"x"', "must be a JSON object"),
]


@pytest.mark.parametrize(
    ("case", "email", "query", "body", "message"), POST_ERRORS, ids=[c[0] for c in POST_ERRORS]
)
def test_post_errors_are_copernica_errors_and_write_nothing(
    handlers: dict[str, ModuleType],
    aws_stack: Settings,
    minimal: CreatedTenant,
    case: str,
    email: str,
    query: dict[str, str],
    body: str | None,
    message: str,
) -> None:
    filled = {k: minimal.api_key if v == "KEY" else v for k, v in query.items()}
    answer = post(handlers, email, filled, body)
    assert answer.status == 400  # the one status Copernica's PHP class reads as a failed POST
    assert set(answer.body) == {"error"}
    assert set(answer.body["error"]) == {"message"}
    assert message in answer.body["error"]["message"]
    assert "x-created" not in answer.headers
    assert stored_tasks(aws_stack) == 0
    assert queued_exports(aws_stack) == 0


def test_get_errors(handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant) -> None:
    identifier = created_id(post(handlers, "abc@example.com", {"access_token": minimal.api_key}, None))
    other = create_tenant("other", "other@example.org")
    for unknown in (str(uuid.uuid4().int), "12", "abc", str(2**128), "9" * 80):
        answer = get(handlers, unknown, minimal.api_key)
        assert answer.status == 404, unknown
        assert "no data request" in answer.body["error"]["message"]
    # Another tenant's identifier is indistinguishable from an unknown one.
    assert get(handlers, identifier, other.api_key).status == 404
    assert get(handlers, identifier, "mxk_wrong").body == {"error": {"message": "invalid access_token"}}
    # A task that is not a data request is not one here either.
    canonical = api_event(
        "POST",
        "/v1/exports",
        body={"type": "campaign_activity", "params": {"stat_id": "981"}},
        api_key=minimal.api_key,
    )
    task_uuid = call(handlers, "submit", canonical).body["task_uuid"]
    assert get(handlers, task_uuid, minimal.api_key).status == 404


def test_after_the_file_expires_the_id_is_gone(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant
) -> None:
    identifier = created_id(post(handlers, "abc@example.com", {"access_token": minimal.api_key}, None))
    run_worker(handlers, aws_stack)
    store = DynamoTaskStore()
    task = task_of(identifier)
    store.transition(task, {TaskStatus.COMPLETED}, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    answer = get(handlers, identifier, minimal.api_key)
    assert answer.status == 404
    assert "expired" in answer.body["error"]["message"]


def test_a_failed_request_is_410(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant
) -> None:
    identifier = created_id(post(handlers, "abc@example.com", {"access_token": minimal.api_key}, None))
    DynamoTaskStore().transition(
        task_of(identifier),
        {TaskStatus.NEW},
        status=TaskStatus.FAILED,
        error=TaskError(code="export_failed", message="store unreachable"),
    )
    answer = get(handlers, identifier, minimal.api_key)
    assert answer.status == 410
    assert answer.body == {"error": {"message": f"data request {identifier} failed: store unreachable"}}


# ------------------------------------------------------------------ /status and /data
NOT_AVAILABLE = {"status": "not available"}


def status_of(handlers: dict[str, ModuleType], identifier: str, token: str) -> Any:
    answer = get(handlers, identifier, token, "/status")
    assert answer.status == 200, answer.raw
    assert answer.headers["content-type"] == "application/json"  # exactly: the PHP class compares it
    return answer.body


def test_status_then_data_as_the_vendors_pages_describe(
    handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset
) -> None:
    email = busiest_address(data)
    identifier = created_id(post(handlers, email, {"access_token": data.tenant.api_key}, None))
    assert status_of(handlers, identifier, data.tenant.api_key) == {
        "status": "pending",
        "available": 0,
        "content-type": "application/json",
    }
    waiting = get(handlers, identifier, data.tenant.api_key, "/data")
    assert waiting.status == 404  # rest-get-datarequest-data: "not yet available ... a 404"
    assert waiting.body == {
        "error": {"message": f"the data of data request {identifier} is not available yet"}
    }

    assert run_worker(handlers, aws_stack) == 1
    ready = get(handlers, identifier, data.tenant.api_key, "/data")
    assert ready.status == 200
    assert ready.headers["content-type"] == "application/json"
    assert ready.body == contact_document(data, email)
    assert status_of(handlers, identifier, data.tenant.api_key) == {
        "status": "available",
        "available": len(ready.raw.encode()),  # the bytes /data answers
        "content-type": "application/json",
    }
    # The UUID spelling names the same request; the seed's own GET answers the same file.
    task_uuid = task_of(identifier).task_uuid
    assert get(handlers, task_uuid, data.tenant.api_key, "/data").raw == ready.raw
    assert get(handlers, identifier, data.tenant.api_key).raw == ready.raw


def test_status_of_what_we_know_nothing_about_is_not_available(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant
) -> None:
    identifier = created_id(post(handlers, "abc@example.com", {"access_token": minimal.api_key}, None))
    other = create_tenant("other", "other@example.org")
    for unknown in (str(uuid.uuid4().int), "12", "abc", str(2**128), "9" * 80):
        assert status_of(handlers, unknown, minimal.api_key) == NOT_AVAILABLE, unknown
        missing = get(handlers, unknown, minimal.api_key, "/data")
        assert (missing.status, missing.body) == (404, {"error": {"message": f"no data request {unknown}"}})
    assert status_of(handlers, identifier, other.api_key) == NOT_AVAILABLE  # another tenant's
    assert get(handlers, identifier, other.api_key, "/data").status == 404
    for tail in ("/status", "/data"):
        refused = get(handlers, identifier, "mxk_wrong", tail)
        assert (refused.status, refused.body) == (400, {"error": {"message": "invalid access_token"}})


def test_status_and_data_of_a_failed_or_expired_request(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant
) -> None:
    failed = created_id(post(handlers, "abc@example.com", {"access_token": minimal.api_key}, None))
    DynamoTaskStore().transition(
        task_of(failed),
        {TaskStatus.NEW},
        status=TaskStatus.FAILED,
        error=TaskError(code="export_failed", message="store unreachable"),
    )
    expired = created_id(post(handlers, "abc@example.com", {"access_token": minimal.api_key}, None))
    run_worker(handlers, aws_stack)
    DynamoTaskStore().transition(
        task_of(expired), {TaskStatus.COMPLETED}, expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    assert status_of(handlers, failed, minimal.api_key) == NOT_AVAILABLE
    assert status_of(handlers, expired, minimal.api_key) == NOT_AVAILABLE
    gone = get(handlers, failed, minimal.api_key, "/data")
    assert (gone.status, gone.body) == (
        410,
        {"error": {"message": f"data request {failed} failed: store unreachable"}},
    )
    old = get(handlers, expired, minimal.api_key, "/data")
    assert old.status == 404
    assert "expired" in old.body["error"]["message"]


def test_data_too_big_to_answer_inline_is_a_redirect_to_it(
    handlers: dict[str, ModuleType],
    aws_stack: Settings,
    minimal: CreatedTenant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    identifier = created_id(post(handlers, "abc@example.com", {"access_token": minimal.api_key}, None))
    run_worker(handlers, aws_stack)
    inline = get(handlers, identifier, minimal.api_key, "/data").raw
    monkeypatch.setattr(copernica, "INLINE_MAX_BYTES", 100)
    redirected = get(handlers, identifier, minimal.api_key, "/data")
    assert redirected.status == 302
    assert fetch(redirected.headers["location"]).decode() == inline
