"""A tenant over its submit rate is refused in each dialect's own error shape, with
Retry-After, and nothing is written: 429 where the vendor's clients read the status
(Pinpointe, Copernica), in-band with HTTP 200 for Selzy, whose clients treat any other
status as a transport failure. (Constant Contact's routes only read: nothing to limit.)"""

from __future__ import annotations

import json
from types import ModuleType

import pytest
from tests.builders import api_event
from tests.unit.dialects.support import Answer, call, form_event, stored_tasks

from mailexports.config import Settings, get_settings
from mailexports.exports import submit_rate
from mailexports.tenants.models import CreatedTenant

pytestmark = pytest.mark.usefixtures("public_dns")


@pytest.fixture
def one_a_minute(aws_stack: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SUBMIT_BURST", "1")
    monkeypatch.setenv("SUBMIT_RATE_PER_SECOND", str(1 / 60))
    # Both submits at one instant: on a busy machine a second between them made Retry-After 59.
    monkeypatch.setattr(submit_rate, "wall_clock", lambda: 1_800_000_000.0)
    get_settings.cache_clear()
    return get_settings()


def twice(submit: object) -> tuple[Answer, Answer]:
    assert callable(submit)
    return submit(), submit()


def test_pinpointe_json_and_xml(
    handlers: dict[str, ModuleType], one_a_minute: Settings, minimal: CreatedTenant
) -> None:
    details = {"stat": "981", "notify": {"type": "webhook", "value": "https://hooks.example.com/p"}}
    body = {
        "username": minimal.username,
        "usertoken": minimal.api_key,
        "requesttype": "Newsletters",
        "requestmethod": "GetNewsletterContactDataSummaryAsync",
        "details": details,
    }
    first, refused = twice(
        lambda: call(handlers, "submit", api_event("POST", "/pinpointe", body=json.dumps(body)))
    )
    assert first.status == 200, first.raw
    assert refused.status == 429
    assert refused.headers["retry-after"] == "60"
    assert refused.body["status"] == "ERROR"
    assert "too many exports" in refused.body["errormessage"]

    xml = (
        f"<xmlrequest><username>{minimal.username}</username><usertoken>{minimal.api_key}</usertoken>"
        "<requesttype>Newsletters</requesttype><requestmethod>GetNewsletterContactDataSummaryAsync</requestmethod>"
        "<details><stat>981</stat><notify><type>webhook</type><value>https://hooks.example.com/p</value>"
        "</notify></details></xmlrequest>"
    )
    answer = call(handlers, "submit", api_event("POST", "/pinpointe/xml.php", body=xml))
    assert answer.status == 429
    assert answer.headers["retry-after"]
    assert "<status>ERROR</status>" in answer.raw
    assert stored_tasks(one_a_minute) == 1


def test_selzy_in_band_with_its_call_limit_code(
    handlers: dict[str, ModuleType], one_a_minute: Settings, minimal: CreatedTenant
) -> None:
    params = [("api_key", minimal.api_key), ("campaign_id", "1100394165287")]
    path = "/selzy/en/api/async/getCampaignDeliveryStats"
    first, refused = twice(lambda: call(handlers, "submit", form_event("POST", path, params)))
    assert first.status == 200
    assert "result" in first.body, first.raw
    assert refused.status == 200
    assert refused.body["code"] == "api_call_limit_exceeded_for_api_key"
    assert "too many exports" in refused.body["error"]
    assert refused.headers["retry-after"] == "60"
    assert stored_tasks(one_a_minute) == 1


def test_copernica(handlers: dict[str, ModuleType], one_a_minute: Settings, minimal: CreatedTenant) -> None:
    def post() -> Answer:
        event = api_event(
            "POST",
            "/copernica/v3/email/abc@example.com/datarequest",
            resource="/copernica/v3/email/{email}/datarequest",
            body="{}",
            query={"access_token": minimal.api_key},
            headers={"Content-Type": "application/json"},
        )
        event["pathParameters"] = {"email": "abc@example.com"}
        return call(handlers, "submit", event)

    first, refused = twice(post)
    assert first.status == 201, first.raw
    assert refused.status == 429
    assert refused.headers["retry-after"] == "60"
    assert "too many exports" in refused.body["error"]["message"]
    assert stored_tasks(one_a_minute) == 1
