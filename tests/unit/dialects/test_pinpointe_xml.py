"""Pinpointe's XML interface and the vendor's endpoint paths, through the real handlers:
an `<xmlrequest>` is the same request as the JSON one and is answered in XML, with the
same status codes and rules; a hostile document is refused before anything is read."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from types import ModuleType
from typing import Any

import pytest
from tests.builders import api_event
from tests.expectations import segment_subscribers
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
from mailexports.dialects.pinpointe_wire import LOGIN_FAILED, MAX_XML_DEPTH
from mailexports.exports.task_store import DynamoTaskStore
from mailexports.exports.task_view import presigned_url
from mailexports.tenants.models import CreatedTenant

pytestmark = pytest.mark.usefixtures("public_dns")

PROXY = "/pinpointe/{proxy+}"


def post(
    handlers: dict[str, ModuleType],
    body: str,
    *,
    path: str = "/pinpointe/xml.php",
    content_type: str = "application/xml",
    base64_body: bool = False,
) -> Answer:
    resource = "/pinpointe" if path == "/pinpointe" else PROXY
    event = api_event("POST", path, resource=resource, body=body, headers={"Content-Type": content_type})
    if resource == PROXY:
        event["pathParameters"] = {"proxy": path.removeprefix("/pinpointe/")}
    if base64_body:
        event["body"] = base64.b64encode(body.encode("latin-1")).decode()
        event["isBase64Encoded"] = True
    return call(handlers, "submit", event)


def xml_answer(answer: Answer) -> dict[str, str]:
    assert answer.headers["content-type"].startswith("text/xml"), answer.headers
    root = ET.fromstring(answer.raw)  # noqa: S314 -- our own answer, not untrusted input
    assert root.tag == "response"
    return {child.tag: child.text or "" for child in root}


def credentials(tenant: CreatedTenant) -> str:
    return f"<username>{tenant.username}</username><usertoken>{tenant.api_key}</usertoken>"


def segments_xml(tenant: CreatedTenant, hook: str = "https://hooks.example.com/pp") -> str:
    """Pretty-printed, with the declaration, as PHP's DOMDocument::saveXML writes it."""
    return f"""<?xml version="1.0"?>
<xmlrequest>
  {credentials(tenant)}
  <requesttype>Segments</requesttype>
  <requestmethod>GetSegmentSubscribersAsync</requestmethod>
  <details>
    <segmentid>seg-1</segmentid>
    <segmentid>seg-2</segmentid>
    <status>active</status>
    <include_membership>yes</include_membership>
    <customfields><item>First Name</item></customfields>
    <notify>
      <type>webhook</type>
      <value>{hook}</value>
    </notify>
  </details>
</xmlrequest>
"""


def newsletter_xml(tenant: CreatedTenant, details: str) -> str:
    return (
        f"<xmlrequest>{credentials(tenant)}<requesttype>Newsletters</requesttype>"
        f"<requestmethod>GetNewsletterContactDataSummaryAsync</requestmethod>"
        f"<details>{details}</details></xmlrequest>"
    )


NOTIFY = "<notify><type>email</type><value>reports@example.com</value></notify>"


def test_an_xmlrequest_exports_the_same_file_as_the_json_request(
    handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset
) -> None:
    answer = post(handlers, segments_xml(data.tenant))
    assert answer.status == 200, answer.raw
    fields = xml_answer(answer)
    assert fields["status"] == "SUCCESS"
    job_id = fields["data"]
    assert run_worker(handlers, aws_stack) == 1
    task = DynamoTaskStore().get(job_id, data.tenant.tenant_id)
    assert task.status == "completed"
    assert task.notification is not None
    assert (task.notification.type, task.notification.target) == ("webhook", "https://hooks.example.com/pp")
    want = segment_subscribers(data, ["seg-1", "seg-2"], "active", True, ["First Name"])
    assert want
    assert json.loads(fetch(presigned_url(task.files[0]))) == {
        "status": "SUCCESS",
        "data": {"subscribers": want, "count": len(want)},
    }


def test_a_newsletter_xmlrequest_keeps_the_yyyymmdd_rules(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant
) -> None:
    details = f"<stat>981</stat><startdate>20250301</startdate><enddate>20250302</enddate>{NOTIFY}"
    answer = post(handlers, newsletter_xml(minimal, details), content_type="text/xml")
    assert answer.status == 200, answer.raw
    task = DynamoTaskStore().get(xml_answer(answer)["data"], minimal.tenant_id)
    assert task.task_type == "campaign_activity"
    assert task.params["stat_id"] == "981"
    assert (str(task.params["start_date"]), str(task.params["end_date"])) == ("2025-03-01", "2025-03-02")


def test_xml_is_recognised_by_its_first_character_whatever_the_content_type(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant
) -> None:
    body = "\n  " + newsletter_xml(minimal, f"<stat>981</stat>{NOTIFY}")
    answer = post(handlers, body, path="/pinpointe", content_type="application/x-www-form-urlencoded")
    assert answer.status == 200, answer.raw
    assert xml_answer(answer)["status"] == "SUCCESS"


XXE = """<?xml version="1.0"?>
<!DOCTYPE xmlrequest [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<xmlrequest><username>&secret;</username></xmlrequest>"""
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    + "]><xmlrequest><username>&lol9;</username></xmlrequest>"
)
XML_REFUSALS: list[tuple[str, str, str]] = [
    (
        "mismatched tag",
        "<xmlrequest><username>x</xmlrequest>",
        "not well-formed XML (mismatched tag at line 1",
    ),
    ("not closed", "<xmlrequest><username>x</username>", "not well-formed XML"),
    ("undeclared entity", "<xmlrequest><username>&e;</username></xmlrequest>", "undefined entity"),
    ("external entity (XXE)", XXE, "DOCTYPE"),
    ("billion laughs", LAUGHS, "DOCTYPE"),
    (
        "another root",
        "<request><username>x</username></request>",
        "root element must be <xmlrequest>, not <request>",
    ),
    ("too deep", "<xmlrequest>" + "<a>" * MAX_XML_DEPTH + "</a>" * MAX_XML_DEPTH + "</xmlrequest>", "deeper"),
    ("json sent as xml", '{"username": "x"}', "not well-formed XML"),
    ("empty", "  ", "empty"),
]


@pytest.mark.parametrize(("case", "body", "message"), XML_REFUSALS, ids=[c[0] for c in XML_REFUSALS])
def test_a_bad_xml_document_is_a_400_in_xml_naming_the_problem(
    handlers: dict[str, ModuleType], aws_stack: Settings, case: str, body: str, message: str
) -> None:
    answer = post(handlers, body)
    assert answer.status == 400, answer.raw
    fields = xml_answer(answer)
    assert fields["status"] == "ERROR"
    assert message in fields["errormessage"]
    assert "root:" not in answer.raw  # nothing of /etc/passwd was read
    assert stored_tasks(aws_stack) == 0
    assert queued_exports(aws_stack) == 0


XML_RULES: list[tuple[str, str, str]] = [
    ("no stat", NOTIFY, "details.stat is required"),
    ("dashed startdate", f"<stat>981</stat><startdate>2025-03-01</startdate>{NOTIFY}", "YYYYMMDD"),
    ("no notify", "<stat>981</stat>", "details.notify is required"),
    ("empty notify", "<stat>981</stat><notify></notify>", "details.notify must be an object"),
    ("unknown stat", f"<stat>999999</stat>{NOTIFY}", "no campaign send with stat_id 999999"),
]


@pytest.mark.parametrize(("case", "details", "message"), XML_RULES, ids=[c[0] for c in XML_RULES])
def test_the_json_rules_hold_for_xml_requests(
    handlers: dict[str, ModuleType],
    aws_stack: Settings,
    minimal: CreatedTenant,
    case: str,
    details: str,
    message: str,
) -> None:
    answer = post(handlers, newsletter_xml(minimal, details))
    assert answer.status == 400, answer.raw
    fields = xml_answer(answer)
    assert set(fields) == {"status", "errormessage"}
    assert fields["status"] == "ERROR"
    assert message in fields["errormessage"]
    assert stored_tasks(aws_stack) == 0


def test_an_xml_answer_escapes_what_it_echoes(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant
) -> None:
    body = newsletter_xml(minimal, NOTIFY).replace("Newsletters", "&lt;b&gt;Lists&amp;")
    answer = post(handlers, body)
    assert answer.status == 400, answer.raw
    assert "unknown requesttype '<b>Lists&'" in xml_answer(answer)["errormessage"]


@pytest.mark.parametrize(
    "login",
    [
        "<username>someone@else.example</username><usertoken>mxk_not_a_key</usertoken>",
        "<username>x</username>",
        "<usertoken><item>a</item><item>b</item></usertoken><username>x</username>",
    ],
)
def test_a_failed_xml_login_is_the_vendors_401_failed(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant, login: str
) -> None:
    body = newsletter_xml(minimal, f"<stat>981</stat>{NOTIFY}").replace(credentials(minimal), login)
    answer = post(handlers, body)
    assert answer.status == 401, answer.raw
    assert xml_answer(answer) == {"status": "FAILED", "errormessage": LOGIN_FAILED}
    assert stored_tasks(aws_stack) == 0


def test_json_at_the_vendors_endpoint_path(
    handlers: dict[str, ModuleType], aws_stack: Settings, minimal: CreatedTenant
) -> None:
    request: dict[str, Any] = {
        "username": minimal.username,
        "usertoken": minimal.api_key,
        "requesttype": "seg",
        "requestmethod": "GetSegmentSubscribersAsync",
        "details": {"segmentid": "seg-1", "notify": {"type": "email", "value": "reports@example.com"}},
    }
    answer = post(
        handlers, json.dumps(request), path="/pinpointe/apijson.php", content_type="application/json"
    )
    assert answer.status == 200, answer.raw
    assert answer.headers["content-type"] == "application/json"
    assert answer.body["status"] == "SUCCESS"
    assert DynamoTaskStore().get(answer.body["data"], minimal.tenant_id).task_type == "segment_contacts"

    request["usertoken"] = "mxk_not_a_key"
    refused = post(
        handlers, json.dumps(request), path="/pinpointe/v2/apijson.php", content_type="application/json"
    )
    assert refused.status == 401
    assert refused.body == {"status": "FAILED", "errormessage": LOGIN_FAILED}


def test_a_json_body_that_is_not_utf8_is_a_400(handlers: dict[str, ModuleType], aws_stack: Settings) -> None:
    answer = post(handlers, '{"username": "\xe9"}', content_type="application/json", base64_body=True)
    assert answer.status == 400, answer.raw
    assert answer.body["status"] == "ERROR"
    assert "not valid UTF-8" in answer.body["errormessage"]
