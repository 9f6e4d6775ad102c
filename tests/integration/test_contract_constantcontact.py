"""The Constant Contact dialect judged by the vendor's own published client: the PyPI
`constantcontact` package (the v2 Python SDK, 0.3.4), unpatched, pointed at the running
local stack only through its `base_url` argument.

What the SDK does with an answer (read from its source, constantcontact/baseservice.py
and emailmarketingservice.py): it always sends `api_key=<client_id>` and
`Authorization: Bearer <token>`; it decodes the body as JSON; a body whose first element
has an `error_message` comes back as that one `{"error_key", "error_message"}` dict; a
tracking answer with `results` becomes a `Result_Set` of `Activity_Report`s; and
`next_page(next_link)` keeps what follows `/v2/` of the link, puts its base URL before
it and sends its api_key again.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from tests.expectations import Lines, link_id, tracking_rows
from tests.integration.conftest import RunningStack, stack_environment

with warnings.catch_warnings():
    # Its contact.py compares `len(...) is 0`, which Python 3.8+ warns about when compiling
    # it (and which still works: small ints are shared); nothing else needs a shim on 3.13.
    warnings.simplefilter("ignore", SyntaxWarning)
    from constantcontact import Activity_Report, ConstantContact, Result_Set
    from constantcontact.baseservice import BaseService

pytestmark = pytest.mark.integration

PAGE = 4  # small pages, so every listing takes several
# Every field the SDK's Activity_Report maps; a row of ours must fill exactly those of its kind.
REPORT_FIELDS = (
    "activity_type", "bounce_code", "bounce_date", "bounce_description", "bounce_message", "bounces",
    "campaign_id", "click_date", "clicks", "contact_id", "email_address", "forward_date", "forwards",
    "link_id", "link_uri", "open_date", "opens", "send_date", "unsubscribe_date", "unsubscribe_reason",
    "unsubscribe_source",
)  # fmt: skip
FILLED = {
    "opens": ("activity_type", "campaign_id", "contact_id", "email_address", "open_date"),
    "clicks": ("activity_type", "campaign_id", "contact_id", "email_address", "link_id", "link_uri", "click_date"),
}  # fmt: skip


CAMPAIGN = "1100557700001"
LINKS = [
    "https://example.com/sale",
    "https://example.com/sale?utm_source=mail&x=1",
    "https://example.org/ünï",
]


def activity_lines() -> list[dict[str, Any]]:
    """One campaign's send: 11 contacts, each opening once and clicking one or two of three
    links (so both listings take several pages and clicks name more than one link)."""
    lines: list[dict[str, Any]] = [
        {"kind": "campaign", "campaign_id": CAMPAIGN, "name": "Contract", "subject": "Hello"},
        {"kind": "send", "stat_id": "cc-1", "campaign_id": CAMPAIGN, "sent_at": "2025-03-01T09:00:00Z"},
    ]
    for n in range(11):
        contact = {"contact_id": str(500 + n), "email": f"reader{n}@example.com"}
        lines.append({"kind": "contact", **contact, "status": "active", "created_at": "2025-01-01T00:00:00Z"})
        base = {"stat_id": "cc-1", **contact}
        lines.append(
            {
                "kind": "event",
                "event_id": f"o-{n}",
                "type": "open",
                **base,
                "at": f"2025-03-01T10:{n:02d}:00.5Z",
            }
        )
        for k, url in enumerate(LINKS[n % 3 : n % 3 + 1 + n % 2]):
            at = f"2025-03-01T11:{n:02d}:{k:02d}.25Z"
            lines.append(
                {"kind": "event", "event_id": f"c-{n}-{k}", "type": "click", **base, "at": at, "url": url}
            )
    return lines


def cli(stack: RunningStack, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "mailexports_cli.main", *args],
        env=stack_environment(stack.state_file),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def lines() -> Lines:
    return Lines(activity_lines())


@pytest.fixture(scope="module")
def key(local_stack: RunningStack, lines: Lines, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tenant of its own holding `lines`, made and loaded as an operator does it."""
    created = json.loads(cli(local_stack, "tenant", "create", "cc-contract", "--username", "cc@example.com"))
    data = tmp_path_factory.mktemp("cc-contract") / "activity.ndjson"
    data.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines.lines))
    cli(local_stack, "load", str(data), "--tenant", "cc-contract")
    return str(created["api_key"])


@pytest.fixture(scope="module")
def other_key(local_stack: RunningStack) -> str:
    """A second tenant's key in the same stack."""
    created = json.loads(
        cli(local_stack, "tenant", "create", "cc-other", "--username", "cc-other@example.com")
    )
    return str(created["api_key"])


@pytest.fixture(autouse=True)
def sdk_defaults() -> Iterator[None]:
    """BaseService.request's `header={}` default is one dict shared by every call, and the
    SDK merges each service's headers into it; restore it so no test's headers leak."""
    defaults = BaseService.request.__defaults__ or ()
    saved = [dict(d) if isinstance(d, dict) else None for d in defaults]
    yield
    for default, copy in zip(defaults, saved, strict=True):
        if isinstance(default, dict) and copy is not None:
            default.clear()
            default.update(copy)


def client(stack: RunningStack, app_key: str, token: str) -> ConstantContact:
    return ConstantContact(app_key, token, base_url=f"{stack.api_url}/constantcontact/v2")


def every_page(sdk: ConstantContact, first: Any) -> list[Result_Set]:
    """The first page and every next one, by the SDK's own paging."""
    pages = [first]
    while (link := pages[-1].get_next_page()) is not None:
        assert link.startswith("/v2/emailmarketing/campaigns/")  # the vendor's own path
        pages.append(sdk.next_page(link))
    return pages


def as_rows(pages: list[Result_Set], activity: str) -> list[dict[str, Any]]:
    """Each Activity_Report read back through the SDK's getters, checked field by field."""
    rows = []
    for page in pages:
        assert isinstance(page, Result_Set)
        assert len(page.get_set()) <= PAGE
        for report in page.get_set():
            assert isinstance(report, Activity_Report)
            values = {name: getattr(report, f"get_{name}")() for name in REPORT_FIELDS}
            assert {name for name, value in values.items() if value is not None} == set(FILLED[activity])
            rows.append({name: values[name] for name in FILLED[activity]})
    return rows


@pytest.mark.parametrize("activity", ["opens", "clicks"])
def test_every_page_and_every_field_through_the_sdk(
    local_stack: RunningStack, lines: Lines, key: str, activity: str
) -> None:
    sdk = client(local_stack, key, key)
    fetch = sdk.get_campaign_opens if activity == "opens" else sdk.get_campaign_clicks
    pages = every_page(sdk, fetch(CAMPAIGN, limit=PAGE))
    want = tracking_rows(lines, CAMPAIGN, activity, None)
    assert len(pages) == -(-len(want) // PAGE) > 2
    assert as_rows(pages, activity) == want
    if activity == "clicks":
        links = {(row["link_uri"], row["link_id"]) for row in as_rows(pages, activity)}
        assert {uri for uri, _ in links} == set(LINKS)
        assert len({link for _, link in links}) == len(links) == len(LINKS)  # one stable id per link
        assert all(link == link_id(CAMPAIGN, uri) for uri, link in links)


def test_each_links_clicks_through_the_sdk(local_stack: RunningStack, lines: Lines, key: str) -> None:
    """get_campaign_clicks_by_link_id, then next_page on what it returns, for every link."""
    sdk = client(local_stack, key, key)
    everything = tracking_rows(lines, CAMPAIGN, "clicks", None)
    page_counts = []
    for uri in LINKS:
        link = link_id(CAMPAIGN, uri)
        pages = every_page(sdk, sdk.get_campaign_clicks_by_link_id(CAMPAIGN, link, limit=PAGE))
        want = [row for row in everything if row["link_uri"] == uri]
        page_counts.append(len(pages))
        assert len(pages) == -(-len(want) // PAGE)
        assert as_rows(pages, "clicks") == want
        (page,) = every_page(sdk, sdk.get_campaign_clicks_by_link_id(CAMPAIGN, link))  # the default 500
        assert [dict(report) for report in page.get_set()] == want
    assert max(page_counts) > 1  # next_page on a link's listing was followed


def test_a_link_without_clicks_and_a_malformed_one_through_the_sdk(
    local_stack: RunningStack, key: str
) -> None:
    sdk = client(local_stack, key, key)
    (page,) = every_page(sdk, sdk.get_campaign_clicks_by_link_id(CAMPAIGN, "1100557700099"))
    assert page.get_set() == []
    answer = sdk.get_campaign_clicks_by_link_id(CAMPAIGN, "not-a-link")
    assert answer["error_key"] == "query.param.invalid"
    assert "link_id" in answer["error_message"]


def test_the_sdks_default_page_of_500(local_stack: RunningStack, lines: Lines, key: str) -> None:
    sdk = client(local_stack, key, key)
    (page,) = every_page(sdk, sdk.get_campaign_clicks(CAMPAIGN))
    assert [dict(report) for report in page.get_set()] == tracking_rows(lines, CAMPAIGN, "clicks", None)


def test_created_since_through_the_sdk(local_stack: RunningStack, lines: Lines, key: str) -> None:
    everything = tracking_rows(lines, CAMPAIGN, "opens", None)
    since = everything[len(everything) // 2]["open_date"]
    sdk = client(local_stack, key, key)
    pages = every_page(sdk, sdk.get_campaign_opens(CAMPAIGN, created_since=since, limit=PAGE))
    want = tracking_rows(lines, CAMPAIGN, "opens", since)
    assert len(pages) > 1
    assert as_rows(pages, "opens") == want


@pytest.mark.parametrize(("app_key", "token"), [("KEY", "KEY"), ("KEY", ""), ("", "KEY")])
def test_the_key_as_app_key_as_access_token_or_both(
    local_stack: RunningStack, lines: Lines, key: str, app_key: str, token: str
) -> None:
    sdk = client(local_stack, key if app_key else "", key if token else "")
    pages = every_page(sdk, sdk.get_campaign_opens(CAMPAIGN, limit=PAGE))  # next_page: the same credentials
    assert as_rows(pages, "opens") == tracking_rows(lines, CAMPAIGN, "opens", None)


UNAUTHORIZED = "http.status.authentication.invalid_token"


@pytest.mark.parametrize(
    ("app_key", "token", "message"),
    [
        ("wrong", "wrong", "invalid api_key"),
        ("KEY", "OTHER", "api_key and the Bearer access token belong to different accounts"),
        ("OTHER", "KEY", "api_key and the Bearer access token belong to different accounts"),
        ("KEY", "wrong", "invalid access token"),
        ("", "wrong", "invalid access token"),
    ],
)
def test_refused_credentials_come_back_as_the_sdks_error(
    local_stack: RunningStack, key: str, other_key: str, app_key: str, token: str, message: str
) -> None:
    keys = {"KEY": key, "OTHER": other_key}
    sdk = client(local_stack, keys.get(app_key, app_key), keys.get(token, token))
    for answer in (sdk.get_campaign_opens(CAMPAIGN), sdk.get_campaign_clicks(CAMPAIGN)):
        assert not isinstance(answer, Result_Set)
        assert set(answer) == {"error_key", "error_message"}
        assert answer["error_key"] == UNAUTHORIZED
        assert message in answer["error_message"]


def test_another_tenants_campaign_is_the_sdks_404_error(local_stack: RunningStack, other_key: str) -> None:
    sdk = client(local_stack, other_key, other_key)
    for campaign in (CAMPAIGN, "404404"):
        not_found = {
            "error_key": "http.status.not_found",
            "error_message": f"Campaign ID {campaign} not found.",
        }
        assert sdk.get_campaign_clicks(campaign) == not_found
        assert sdk.get_campaign_clicks_by_link_id(campaign, link_id(CAMPAIGN, LINKS[0])) == not_found


def test_an_accept_header_without_json_is_the_sdks_406_error(local_stack: RunningStack, key: str) -> None:
    sdk = client(local_stack, key, key)
    sdk.emailmarketing_service.header["Accept"] = "text/html"  # the SDK sends its service's headers
    assert sdk.get_campaign_opens(CAMPAIGN) == {
        "error_key": "http.status.not_acceptable",
        "error_message": "Unsupported accept header value, must be application/json",
    }


def test_a_bad_next_link_is_an_error_page_with_no_next(local_stack: RunningStack, key: str) -> None:
    sdk = client(local_stack, key, key)
    page = sdk.next_page(f"/v2/emailmarketing/campaigns/{CAMPAIGN}/tracking/opens?next=forged")
    assert isinstance(page, Result_Set)  # next_page wraps whatever came back
    assert page["error_key"] == "query.param.invalid"
    assert "next parameter" in page["error_message"]
    assert page.get_next_page() is None
