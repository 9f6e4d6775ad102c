"""Contract: the published UniSender/Selzy client, npm `unisender` 1.1.1 (node-unisender),
run unchanged against the local stack's Selzy routes.

The client is pinned in tests/contract/node/package-lock.json and installed by
`make contract-clients` (which `make test` runs), or here on first use. It is pointed at
the stack only through its own base-URL setting (tests/contract/node/unisender_calls.js
says how). What the client does with an answer is all there is to check: it POSTs a form
to `<url>/<lang>/api/<method>?format=json`, resolves with the parsed body when it has a
`result`, and otherwise rejects with the parsed body (the vendor's `{"error", "code"}`)
or, for a body that is not JSON, with the parse error. It maps no field itself, so each
answer is compared whole.

PyPI `pyunisend` 0.1.0 (2011) was tried and is not used: it is Python 2 only (urllib2)
and requires `distribute`, so it cannot be installed on Python 3.13.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from mailexports_dev.generate import GenerateOptions, generate_lines
from mailexports_dev.local.demo import DEMO_SEED
from tests.expectations import SELZY_SEND_RESULT, Lines, selzy_report
from tests.integration.conftest import RunningStack
from tests.integration.test_dialects import get_json, wait_for, webhook
from tests.unit.notify.receiver import WebhookReceiver

pytestmark = pytest.mark.integration

NODE_PROJECT = Path(__file__).resolve().parents[1] / "contract" / "node"
RUNNER = NODE_PROJECT / "unisender_calls.js"
STATS = "async/getCampaignDeliveryStats"
RESULT = "async/getTaskResult"
Client = Callable[..., list[dict[str, Any]]]


def install_clients() -> None:
    """`npm ci` from the committed lock file, unless `make contract-clients` already did."""
    if (NODE_PROJECT / "node_modules" / "unisender" / "package.json").is_file():
        return
    npm = shutil.which("npm")
    assert npm is not None, "npm is missing beside node: install Node.js with npm"
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(NODE_PROJECT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def unisender(request: pytest.FixtureRequest) -> Client:
    """Run calls through the npm client, pointed at the stack's `/selzy` base URL."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the npm `unisender` client contract test needs it")
    install_clients()
    local_stack: RunningStack = request.getfixturevalue("local_stack")  # only once node is there
    installed = json.loads((NODE_PROJECT / "node_modules" / "unisender" / "package.json").read_text())
    assert installed["version"] == "1.1.1"

    def run(
        calls: list[dict[str, Any]], *, api_key: str | None = None, lang: str = "en"
    ) -> list[dict[str, Any]]:
        plan = {
            "base_url": f"{local_stack.api_url}/selzy",
            "api_key": local_stack.demo["api_key"] if api_key is None else api_key,
            "lang": lang,
            "calls": calls,
        }
        done = subprocess.run(
            [node, str(RUNNER), json.dumps(plan)], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        outcomes: list[dict[str, Any]] = json.loads(done.stdout)
        assert len(outcomes) == len(calls)
        return outcomes

    return run


@pytest.fixture(scope="module")
def demo_lines(local_stack: RunningStack) -> Lines:
    options = GenerateOptions(contacts=int(local_stack.demo["contacts"]), seed=DEMO_SEED)
    return Lines([json.loads(line) for line in generate_lines(options)])


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


def resolved(outcome: dict[str, Any]) -> dict[str, Any]:
    assert set(outcome) == {"resolved"}, outcome
    value: dict[str, Any] = outcome["resolved"]
    return value


def rejected(outcome: dict[str, Any]) -> dict[str, Any]:
    """The vendor's error exactly as the client hands it over (never a parse failure)."""
    assert set(outcome) == {"rejected"}, outcome
    reason: dict[str, Any] = outcome["rejected"]
    assert set(reason) == {"error", "code"}, reason
    return reason


def completed(unisender: Client, task_uuid: str, lang: str = "en") -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        answer = resolved(unisender([{"method": RESULT, "params": {"task_uuid": task_uuid}}], lang=lang)[0])
        result: dict[str, Any] = answer["result"]
        if result["status"] != "completed":
            assert answer == {
                "result": {
                    "task_uuid": task_uuid,
                    "task_type": "getCampaignDeliveryStats",
                    "status": result["status"],
                }
            }
            assert result["status"] in ("new", "processing")
            return None
        return answer

    return wait_for("a completed task", probe)


VENDOR_CODE = re.compile(r"^(ok_[a-z_]+|err_[a-z_]+|not_sent)$")
SELZY_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def assert_vendor_report(document: dict[str, Any], field_ids: list[str]) -> None:
    """The shape a client of the vendor's report reads, row by row."""
    assert set(document) == {"result"}
    assert set(document["result"]) == {"fields", "data"}
    fields = document["result"]["fields"]
    assert fields == ["email", "send_result", "last_update", *field_ids]
    for row in document["result"]["data"]:
        assert len(row) == len(fields)
        record = dict(zip(fields, row, strict=True))
        assert "@" in record["email"]
        assert VENDOR_CODE.match(record["send_result"]), record
        assert record["send_result"] in SELZY_SEND_RESULT.values()
        assert SELZY_TIME.match(record["last_update"]), record


# ------------------------------------------------------------------ the success path
def test_delivery_stats_task_result_and_file_through_the_client(
    unisender: Client, local_stack: RunningStack, demo_lines: Lines, hooks: WebhookReceiver
) -> None:
    demo = local_stack.demo
    params = {
        "campaign_id": demo["campaign_id"],
        "field_ids": ["1", "2"],  # the client sends field_ids[0]=1&field_ids[1]=2
        "notify_url": hooks.url("/selzy-client"),
    }
    answer = resolved(unisender([{"method": STATS, "params": params}])[0])
    task_uuid = answer["result"]["task_uuid"]
    assert str(uuid.UUID(task_uuid)) == task_uuid
    assert answer == {"result": {"task_uuid": task_uuid, "status": "new"}}

    done = completed(unisender, task_uuid)
    link = done["result"]["file_to_download"]
    assert done == {
        "result": {
            "task_uuid": task_uuid,
            "task_type": "getCampaignDeliveryStats",
            "status": "completed",
            "file_to_download": link,
        }
    }
    assert urlparse(link).scheme in ("http", "https")
    document = get_json(link)
    assert_vendor_report(document, ["1", "2"])
    assert document == selzy_report(demo_lines, demo["campaign_id"], None, ["1", "2"])
    assert document["result"]["data"]

    # The notify_url gets the completed getTaskResult JSON, its link a long-lived one.
    sent = json.loads(webhook(hooks, "/selzy-client", demo["webhook_secret"]).body)
    assert sent == {"result": {**done["result"], "file_to_download": sent["result"]["file_to_download"]}}
    assert get_json(sent["result"]["file_to_download"]) == document


def test_another_language_and_changed_since(
    unisender: Client, local_stack: RunningStack, demo_lines: Lines
) -> None:
    demo = local_stack.demo
    everything = selzy_report(demo_lines, demo["campaign_id"], None, [])["result"]["data"]
    since = everything[len(everything) // 2][2]
    params = {"campaign_id": demo["campaign_id"], "changed_since": since}
    answer = resolved(unisender([{"method": STATS, "params": params}], lang="ru")[0])
    done = completed(unisender, answer["result"]["task_uuid"], lang="ru")
    document = get_json(done["result"]["file_to_download"])
    assert_vendor_report(document, [])
    want = selzy_report(demo_lines, demo["campaign_id"], f"{since.replace(' ', 'T')}.000Z", [])
    assert document == want
    assert 0 < len(want["result"]["data"]) < len(everything)


# ------------------------------------------------------------------ every error path the client has
def test_a_wrong_key_reaches_the_caller_as_invalid_api_key(
    unisender: Client, local_stack: RunningStack
) -> None:
    calls = [
        {"method": STATS, "params": {"campaign_id": local_stack.demo["campaign_id"]}},
        {"method": RESULT, "params": {"task_uuid": str(uuid.uuid4())}},
    ]
    for outcome in unisender(calls, api_key="mxk_not_a_key"):
        assert rejected(outcome) == {"error": "invalid api_key", "code": "invalid_api_key"}
    for outcome in unisender(calls, api_key=""):
        assert rejected(outcome) == {"error": "api_key is required", "code": "invalid_api_key"}


def test_bad_arguments_reach_the_caller_as_invalid_arg(unisender: Client, local_stack: RunningStack) -> None:
    campaign_id = local_stack.demo["campaign_id"]
    calls = [
        {"method": STATS, "params": {}},
        {"method": STATS, "params": {"campaign_id": "404404"}},
        {"method": STATS, "params": {"campaign_id": campaign_id, "changed_since": "yesterday"}},
        {"method": STATS, "params": {"campaign_id": campaign_id, "field_ids": ["1", "999"]}},
        {"method": STATS, "params": {"campaign_id": campaign_id, "notify_url": "http://hooks.example.com/x"}},
        {"method": RESULT, "params": {}},
        {"method": RESULT, "params": {"task_uuid": str(uuid.uuid4())}},
        {"method": RESULT, "params": {"task_uuid": "not-a-task"}},
    ]
    named = [
        "campaign_id",
        "campaign_id",
        "changed_since",
        "999",
        "notify_url",
        "task_uuid",
        "task_uuid",
        "task_uuid",
    ]
    for outcome, field in zip(unisender(calls), named, strict=True):
        reason = rejected(outcome)
        assert reason["code"] == "invalid_arg", reason
        assert field in reason["error"], reason


def test_a_language_that_is_not_two_letters_is_invalid_arg(
    unisender: Client, local_stack: RunningStack
) -> None:
    calls = [{"method": STATS, "params": {"campaign_id": local_stack.demo["campaign_id"]}}]
    reason = rejected(unisender(calls, lang="eng")[0])
    assert reason["code"] == "invalid_arg"
    assert "language" in reason["error"]
    assert "eng" in reason["error"]


def test_the_clients_own_methods_reach_the_caller_as_unknown_method(unisender: Client) -> None:
    """By name the client calls the vendor's other methods, e.g. its synchronous
    getCampaignDeliveryStats: in-band unknown_method, not a transport failure."""
    calls = [
        {"method": "getCampaignDeliveryStats", "params": {"campaign_id": "1"}},
        {"method": "getLists", "params": {}},
    ]
    for outcome, method in zip(unisender(calls), ["getCampaignDeliveryStats", "getLists"], strict=True):
        reason = rejected(outcome)
        assert reason["code"] == "unknown_method"
        assert method in reason["error"]
