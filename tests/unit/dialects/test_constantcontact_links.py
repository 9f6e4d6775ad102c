"""Constant Contact v2 (seed 004): one link's clicks, `.../tracking/clicks/{linkId}` (the
SDK's get_campaign_clicks_by_link_id), on a campaign with common links and a rare one."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from tests.expectations import link_id, tracking_rows
from tests.unit.dialects.support import Dataset
from tests.unit.dialects.test_constantcontact import listing
from tests.unit.dialects.test_constantcontact import pages as every_page

import mailexports.dialects.constantcontact as constantcontact
from mailexports.config import Settings
from mailexports.marketing.records import parse_line
from mailexports.marketing.writer import MarketingWriter
from mailexports.tenants.models import CreatedTenant
from mailexports.tenants.service import create_tenant


def path_of(campaign_id: str, link: str | None) -> str:
    """One link's clicks, or (None) all the campaign's."""
    clicks = f"/constantcontact/v2/emailmarketing/campaigns/{campaign_id}/tracking/clicks"
    return clicks if link is None else f"{clicks}/{link}"


def pages(handlers: dict[str, ModuleType], key: str, campaign_id: str, link: str, **query: str) -> list[Any]:
    """Every page, following next_link as the SDK's next_page does (each must be this link's)."""
    return every_page(handlers, key, campaign_id, f"clicks/{link}", **query)


CAMPAIGN = "1100557700001"
OTHER_CAMPAIGN = "1100557700002"
COMMON = ["https://example.com/sale", "https://example.com/sale?utm_source=mail&x=1"]
RARE = "https://example.org/ünï"


def click_lines() -> list[dict[str, Any]]:
    """Campaign CAMPAIGN: 30 contacts clicking 66 times, mostly two common links and three
    times a rare one, some clicks in the same millisecond; OTHER_CAMPAIGN: a link of its own."""
    lines: list[dict[str, Any]] = [
        {"kind": "campaign", "campaign_id": CAMPAIGN, "name": "Links"},
        {"kind": "campaign", "campaign_id": OTHER_CAMPAIGN, "name": "Other"},
        {"kind": "send", "stat_id": "s-1", "campaign_id": CAMPAIGN, "sent_at": "2025-03-01T09:00:00Z"},
        {"kind": "send", "stat_id": "s-2", "campaign_id": OTHER_CAMPAIGN, "sent_at": "2025-03-01T09:00:00Z"},
    ]
    for n in range(30):
        contact = {"contact_id": str(700 + n), "email": f"clicker{n}@example.com"}
        lines.append({"kind": "contact", **contact, "status": "active"})
        for k in range(2):
            url = RARE if (n, k) in {(3, 0), (17, 1), (28, 0)} else COMMON[(n + k) % 2]
            at = f"2025-03-01T10:{n:02d}:{k * 7:02d}.{n % 4:03d}Z" if n % 5 else "2025-03-01T11:00:00.000Z"
            lines.append(
                {
                    "kind": "event",
                    "event_id": f"k-{n}-{k}",
                    "type": "click",
                    "stat_id": "s-1",
                    **contact,
                    "at": at,
                    "url": url,
                }
            )
    lines += [
        {"kind": "event", "event_id": f"k-{n}-2", "type": "click", "stat_id": "s-1", "contact_id": str(700 + n),
         "email": f"clicker{n}@example.com", "at": "2025-03-01T12:00:00.000Z", "url": COMMON[0]}
        for n in range(6)
    ]  # fmt: skip
    lines.append(
        {"kind": "event", "event_id": "o-1", "type": "click", "stat_id": "s-2", "contact_id": "700",
         "email": "clicker0@example.com", "at": "2025-03-01T10:00:00.000Z", "url": "https://example.net/elsewhere"}
    )  # fmt: skip
    return lines


@pytest.fixture
def data(tenant: CreatedTenant) -> Dataset:
    lines = click_lines()
    MarketingWriter(tenant.tenant_id).write([parse_line(json.dumps(line)) for line in lines])
    return Dataset(lines, tenant)


def link_rows(data: Dataset, campaign_id: str, link: str, since: str | None = None) -> list[dict[str, Any]]:
    return [row for row in tracking_rows(data, campaign_id, "clicks", since) if row["link_id"] == link]


def links_of(data: Dataset, campaign_id: str) -> list[str]:
    """The campaign's links, most clicked first."""
    rows = tracking_rows(data, campaign_id, "clicks", None)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["link_id"]] = counts.get(row["link_id"], 0) + 1
    return sorted(counts, key=lambda link: (-counts[link], link))


@pytest.fixture
def campaign(data: Dataset) -> str:
    assert [len(link_rows(data, CAMPAIGN, link)) for link in links_of(data, CAMPAIGN)] == [34, 29, 3]
    assert link_id(CAMPAIGN, RARE) == links_of(data, CAMPAIGN)[-1]
    return CAMPAIGN


@pytest.mark.parametrize("limit", [None, "2"])
def test_each_link_lists_exactly_its_clicks(
    handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset, campaign: str, limit: str | None
) -> None:
    query = {"limit": limit} if limit else {}
    for link in links_of(data, campaign):
        got = [
            row
            for page in pages(handlers, data.tenant.api_key, campaign, link, **query)
            for row in page["results"]
        ]
        assert got == link_rows(data, campaign, link)
        assert got


def test_created_since_carries_across_pages(
    handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset, campaign: str
) -> None:
    link = links_of(data, campaign)[0]
    everything = link_rows(data, campaign, link)
    since = everything[len(everything) // 2]["click_date"]
    answers = pages(handlers, data.tenant.api_key, campaign, link, limit="1", created_since=since)
    assert [row for page in answers for row in page["results"]] == link_rows(data, campaign, link, since)
    assert len(answers) > 1


@pytest.mark.parametrize("budget", [1, 3, 7, 20])
def test_a_page_reads_at_most_the_budget_and_resumes_exactly(
    handlers: dict[str, ModuleType],
    aws_stack: Settings,
    data: Dataset,
    campaign: str,
    monkeypatch: pytest.MonkeyPatch,
    budget: int,
) -> None:
    """With a small budget, pages end early (short or empty, with a next_link); followed to
    the end they list the link's clicks exactly once each, newest first."""
    monkeypatch.setattr(constantcontact, "LINK_BUDGET", budget)
    clicks = len(tracking_rows(data, campaign, "clicks", None))
    rarest = links_of(data, campaign)[-1]
    answers = pages(handlers, data.tenant.api_key, campaign, rarest, limit="5")
    assert [row for page in answers for row in page["results"]] == link_rows(data, campaign, rarest)
    assert all(len(page["results"]) <= min(5, budget) for page in answers)
    assert len(answers) >= -(-clicks // budget)  # every click read once, at most `budget` a page
    assert any(page["results"] == [] for page in answers[:-1])  # empty pages that still go on


def test_a_link_no_click_has_is_an_empty_listing(
    handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset, campaign: str
) -> None:
    (foreign,) = links_of(data, OTHER_CAMPAIGN)  # a link of another campaign
    for link in ("1", "4503599627370495", "123456789012345678901234567890", foreign):
        assert pages(handlers, data.tenant.api_key, campaign, link) == [
            {"meta": {"pagination": {}}, "results": []}
        ]


def test_leading_zeros_name_the_same_link(
    handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset, campaign: str
) -> None:
    link = links_of(data, campaign)[0]
    (page,) = pages(handlers, data.tenant.api_key, campaign, f"00{link}")
    assert page["results"] == link_rows(data, campaign, link)


def test_another_tenants_campaign_is_not_found(
    handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset, campaign: str
) -> None:
    other = create_tenant("other", "other@example.org")
    link = links_of(data, campaign)[0]
    answer = listing(handlers, path_of(campaign, link), {"api_key": other.api_key})
    assert answer.status == 404
    assert answer.body == [
        {"error_key": "http.status.not_found", "error_message": f"Campaign ID {campaign} not found."}
    ]


def test_a_next_pages_only_the_listing_that_handed_it_out(
    handlers: dict[str, ModuleType], aws_stack: Settings, data: Dataset, campaign: str
) -> None:
    key = data.tenant.api_key
    first, second = links_of(data, campaign)[:2]
    first_link, all_clicks = path_of(campaign, first), path_of(campaign, None)
    tokens = {}
    for path in (first_link, all_clicks):
        link = listing(handlers, path, {"api_key": key, "limit": "1"}).body["meta"]["pagination"]["next_link"]
        tokens[path] = parse_qs(urlsplit(link).query)["next"][0]
    for path, token in (
        (path_of(campaign, second), tokens[first_link]),  # another link's
        (first_link, tokens[all_clicks]),  # the campaign's whole listing's
        (all_clicks, tokens[first_link]),  # a link's, on the whole listing
    ):
        answer = listing(handlers, path, {"api_key": key, "next": token})
        assert answer.status == 400, answer.raw
        assert answer.body[0]["error_key"] == "query.param.invalid"
        assert "next parameter" in answer.body[0]["error_message"]
