"""Pinpointe's own client against the running local stack: the WordPress plugin
`pinpointe-form-integration`, class `PinpointeService`, method `call()` in
`includes/pinpointe-service.class.php`. PHP is not available here, so the plugin's
request building and response parsing are re-done step by step below, each step
named after the PHP it stands for; only the base URL points at the stack.

Two releases are reproduced, as both are in use:
- 1.7 (WordPress.org SVN, mirrored as common-repository/pinpointe-form-integration):
  `wp_remote_post`; JSON (`wp_json_encode`, `Content-Type: application/json`) when the
  configured API URL contains `json`, else XML. Any HTTP status but 200 is its error
  branch, which reads `errormessage` from the JSON body; a 200 is a success only when
  `$response->status === 'SUCCESS'` at the top level, and then `data` is the result.
  (In XML mode 1.7 compares a SimpleXMLElement with `===`, which is never true: that
  mode cannot succeed against any server, so its XML is judged by the earlier release.)
- the earlier cURL release (mirrored as WPPlugins/pinpointe-form-integration): XML only
  (`arrayToXml` onto `<xmlrequest />`, pretty-printed by DOMDocument, no self-closing
  tags, `Content-Type: application/xml`), no HTTP status check, success when
  `simplexml_load_string($body)->status == 'SUCCESS'`, result `json_decode(json_encode(
  $xml->data), true)`; anything else throws "There was a problem: <body>".
"""

from __future__ import annotations

import json
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.integration.conftest import RunningStack

pytestmark = pytest.mark.integration

LOGIN_FAILED = "Unable to verify user credentials"


class PluginException(Exception):
    """The `\\Exception` PinpointeService::call() throws: the plugin's only failure signal."""

    def __init__(self, message: str, http_status: int, errormessage: object = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.errormessage = errormessage  # what the error branch read from the body


# ------------------------------------------------------------------ PHP stand-ins
def wp_json_encode(value: Any) -> str:
    """json_encode's defaults: compact, `\\uXXXX` for non-ASCII, `/` escaped as `\\/`."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/")


def php_reset(value: object) -> object:
    """reset(): the first element of an array. Given a string, PHP 7 warns and returns
    NULL (PHP 8 throws a TypeError instead; either way the call has already failed)."""
    if isinstance(value, list):
        return value[0] if value else False
    if isinstance(value, dict):
        return next(iter(value.values()), False)
    return None


def array_to_xml(values: dict[str, Any], root: ET.Element) -> ET.Element:
    """PinpointeService::arrayToXml(): an array becomes a child element of that name,
    except `value` (one `<value>` per item) and, in 1.7, `tags` (one `<tag>` per item);
    a scalar becomes a text child. A PHP list would give elements named 0, 1, ... (not
    XML), so a caller of the plugin's XML mode passes one segment id as a string."""
    for key, value in values.items():
        if isinstance(value, list) and key in ("value", "tags"):
            for item in value:
                ET.SubElement(root, "tag" if key == "tags" else key).text = str(item)
        elif isinstance(value, dict):
            array_to_xml(value, ET.SubElement(root, key))
        elif isinstance(value, list):
            raise ValueError(f"the plugin would write <0> for {key}: not XML")
        else:
            # SimpleXMLElement::addChild takes the text unescaped; nothing here needs escaping.
            assert not set(str(value)) & set("<>&"), value
            ET.SubElement(root, key).text = str(value)
    return root


def dom_save_xml(root: ET.Element) -> str:
    """DOMDocument('1.0') with formatOutput, saveXML(..., LIBXML_NOEMPTYTAG)."""
    ET.indent(root, space="  ")
    text = ET.tostring(root, encoding="unicode", short_empty_elements=False)
    return f'<?xml version="1.0"?>\n{text}\n'


def simplexml_status_and_data(body: str) -> tuple[str, dict[str, str]]:
    """simplexml_load_string($body): `->status` compared as a string (`==`), and
    json_decode(json_encode($xml->data), true) of a text-only element: ["0" => text]."""
    root = ET.fromstring(body)  # noqa: S314 -- the stack's own answer
    status = root.findtext("status") or ""
    data = root.find("data")
    return status, ({"0": data.text or ""} if data is not None else {})


# ------------------------------------------------------------------ the two releases
@dataclass
class PinpointeService:
    """Release 1.7's PinpointeService: setApiUrl(), setCredentials(), call()."""

    api_url: str
    username: str
    user_token: str

    def call(self, request_type: str, method: str, data: dict[str, Any]) -> Any:
        if not self.username or not self.user_token:
            raise PluginException("You must set API credentials before calling the Pinpointe API.", 0)
        request = {
            "username": self.username,
            "usertoken": self.user_token,
            "requesttype": request_type,
            "requestmethod": method,
            "details": data,
        }
        is_json = "json" in self.api_url  # strpos($this->apiUrl, 'json') !== false
        assert is_json, "1.7's XML mode can never succeed; see the module docstring"
        response = requests.post(
            self.api_url,
            data=wp_json_encode(request).encode(),
            headers={"Content-Type": "application/json"},
            timeout=60,
        )
        body = response.text
        if response.status_code != 200:
            errormessage = json.loads(body)["errormessage"]  # json_decode($error_data, true)['errormessage']
            message = php_reset(errormessage)
            raise PluginException(
                f"API call of type {request_type} failed: {message or ''}", response.status_code, errormessage
            )
        decoded = json.loads(body)  # json_decode($responseBody): an object
        if isinstance(decoded, dict) and decoded.get("status") == "SUCCESS":
            if data.get("id") == "-999":
                return True
            return json.loads(wp_json_encode(decoded.get("data")))  # xmlToArray($response->data)
        raise PluginException(f"There was a problem: {body}", response.status_code)


@dataclass
class LegacyPinpointeService:
    """The earlier cURL release's PinpointeService::call(): XML only."""

    api_url: str
    username: str
    user_token: str

    def call(self, request_type: str, method: str, data: dict[str, Any]) -> Any:
        request = {
            "username": self.username,
            "usertoken": self.user_token,
            "requesttype": request_type,
            "requestmethod": method,
            "details": data,
        }
        xml = dom_save_xml(array_to_xml(request, ET.Element("xmlrequest")))
        response = requests.post(
            self.api_url, data=xml.encode(), headers={"Content-Type": "application/xml"}, timeout=60
        )
        status, result = simplexml_status_and_data(response.text)  # no HTTP status check at all
        if status == "SUCCESS":
            return True if data.get("id") == "-999" else result
        raise PluginException(f"There was a problem: {response.text}", response.status_code)


# ------------------------------------------------------------------ helpers
def segments_details(segments: Any, notify_to: str) -> dict[str, Any]:
    return {
        "segmentid": segments,
        "status": "active",
        "include_membership": "true",
        "customfields": ["First Name"],
        "notify": {"type": "email", "value": notify_to},
    }


def finished_task(stack: RunningStack, job_id: str, timeout: float = 90) -> dict[str, Any]:
    """The job through the canonical API, once the stack's worker has finished it."""
    headers = {"Authorization": f"Bearer {stack.demo['api_key']}"}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = requests.get(f"{stack.api_url}/v1/exports/{job_id}", headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text
        task: dict[str, Any] = answer.json()
        if task["status"] not in ("new", "processing"):
            return task
        time.sleep(0.25)
    pytest.fail(f"job {job_id} not finished after {timeout} s")


# ------------------------------------------------------------------ 1.7, JSON mode
def test_the_plugins_json_call_sees_success_and_the_job_id(local_stack: RunningStack) -> None:
    demo = local_stack.demo
    service = PinpointeService(
        f"{local_stack.api_url}/pinpointe/apijson.php", demo["username"], demo["api_key"]
    )
    job_id = service.call(
        "Segments",
        "GetSegmentSubscribersAsync",
        segments_details(["seg-1", "seg-2"], "pp-contract@example.com"),
    )
    assert isinstance(job_id, str)
    assert str(uuid.UUID(job_id)) == job_id
    task = finished_task(local_stack, job_id)
    assert task["status"] == "completed", task
    assert task["task_type"] == "segment_contacts"
    assert task["params"]["segment_ids"] == ["seg-1", "seg-2"]
    document = requests.get(task["file_to_download"], timeout=10).json()
    assert document["status"] == "SUCCESS"
    assert document["data"]["count"] == len(document["data"]["subscribers"]) > 0


def test_the_plugins_json_call_with_bad_credentials_takes_its_error_branch(local_stack: RunningStack) -> None:
    demo = local_stack.demo
    service = PinpointeService(
        f"{local_stack.api_url}/pinpointe/apijson.php", demo["username"], "not-a-token"
    )
    with pytest.raises(PluginException) as failure:
        service.call("Segments", "GetSegmentSubscribersAsync", segments_details("seg-1", "a@example.com"))
    assert failure.value.http_status == 401
    assert failure.value.errormessage == LOGIN_FAILED
    assert str(failure.value).startswith("API call of type Segments failed:")


@pytest.mark.parametrize(
    ("request_type", "method", "details", "message"),
    [
        ("Segments", "GetSegmentSubscribersAsync", {"segmentid": "seg-404"}, "no segment seg-404"),
        ("Newsletters", "GetNewsletterContactDataSummaryAsync", {"startdate": "2025-01-01"}, "YYYYMMDD"),
        (
            "Newsletters",
            "GetNewsletterContactDataSummaryAsync",
            {"notify": None},
            "details.notify is required",
        ),
        # The plugin's own connection test (helper_ping) asks for lists, which this service has not.
        ("lists", "GetLists", {"id": "-999"}, "unknown requesttype 'lists'"),
    ],
)
def test_the_plugins_json_call_with_a_bad_request_takes_its_error_branch(
    local_stack: RunningStack, request_type: str, method: str, details: dict[str, Any], message: str
) -> None:
    demo = local_stack.demo
    data: dict[str, Any] = {
        "segmentid": "seg-1",
        "stat": demo["stat_id"],
        "notify": {"type": "email", "value": "a@example.com"},
        **details,
    }
    data = {key: value for key, value in data.items() if value is not None}
    service = PinpointeService(
        f"{local_stack.api_url}/pinpointe/apijson.php", demo["username"], demo["api_key"]
    )
    with pytest.raises(PluginException) as failure:
        service.call(request_type, method, data)
    assert failure.value.http_status == 400
    assert isinstance(failure.value.errormessage, str)
    assert message in failure.value.errormessage


# ------------------------------------------------------------------ earlier release, XML
def test_the_legacy_plugins_xml_call_sees_success_and_the_job_id(local_stack: RunningStack) -> None:
    demo = local_stack.demo
    service = LegacyPinpointeService(
        f"{local_stack.api_url}/pinpointe/xml.php", demo["username"], demo["api_key"]
    )
    details = {"stat": demo["stat_id"], "notify": {"type": "email", "value": "pp-xml@example.com"}}
    result = service.call("Newsletters", "GetNewsletterContactDataSummaryAsync", details)
    assert set(result) == {"0"}
    task = finished_task(local_stack, result["0"])
    assert task["status"] == "completed", task
    assert task["task_type"] == "campaign_activity"
    assert task["params"]["stat_id"] == demo["stat_id"]


@pytest.mark.parametrize(
    ("token", "details", "http_status", "shown"),
    [
        ("not-a-token", {"segmentid": "seg-1"}, 401, f"<status>FAILED</status><errormessage>{LOGIN_FAILED}"),
        (None, {"segmentid": "seg-404"}, 400, "no segment seg-404"),
    ],
)
def test_the_legacy_plugins_xml_call_reports_failures(
    local_stack: RunningStack, token: str | None, details: dict[str, Any], http_status: int, shown: str
) -> None:
    demo = local_stack.demo
    service = LegacyPinpointeService(
        f"{local_stack.api_url}/pinpointe/xml.php", demo["username"], token or demo["api_key"]
    )
    data = {**details, "notify": {"type": "email", "value": "a@example.com"}}
    with pytest.raises(PluginException) as failure:
        service.call("Segments", "GetSegmentSubscribersAsync", data)
    assert failure.value.http_status == http_status
    assert str(failure.value).startswith("There was a problem: <?xml")
    assert shown in str(failure.value)


# ------------------------------------------------------------------ plain HTTP
def test_apijson_php_and_xml_over_plain_http(local_stack: RunningStack) -> None:
    demo = local_stack.demo
    request = {
        "username": demo["username"],
        "usertoken": demo["api_key"],
        "requesttype": "seg",
        "requestmethod": "GetSegmentSubscribersAsync",
        "details": segments_details(["seg-1"], "pp-http@example.com"),
    }
    answer = requests.post(f"{local_stack.api_url}/pinpointe/apijson.php", json=request, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert set(answer.json()) == {"status", "data"}
    assert answer.json()["status"] == "SUCCESS"

    xml = (
        f"<xmlrequest><username>{demo['username']}</username><usertoken>{demo['api_key']}</usertoken>"
        "<requesttype>Segments</requesttype><requestmethod>GetSegmentSubscribersAsync</requestmethod>"
        "<details><segmentid>seg-1</segmentid><segmentid>seg-2</segmentid>"
        "<notify><type>email</type><value>pp-http@example.com</value></notify></details></xmlrequest>"
    )
    answer = requests.post(
        f"{local_stack.api_url}/pinpointe", data=xml, headers={"Content-Type": "text/xml"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(answer.text)  # noqa: S314 -- the stack's own answer
    assert (root.tag, root.findtext("status")) == ("response", "SUCCESS")
    task = finished_task(local_stack, root.findtext("data") or "")
    assert task["params"]["segment_ids"] == ["seg-1", "seg-2"]

    malformed = requests.post(f"{local_stack.api_url}/pinpointe/xml.php", data="<xmlrequest><a>", timeout=10)
    assert malformed.status_code == 400
    assert "not well-formed XML" in (ET.fromstring(malformed.text).findtext("errormessage") or "")  # noqa: S314
