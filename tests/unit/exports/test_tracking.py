"""The tracking listing's query parameters, checked by exports/tracking.py (the data layer
trusts what it is given). Moved from tests/unit/marketing/test_reader.py with their assertions."""

from __future__ import annotations

import pytest

from mailexports import opaque
from mailexports.config import Settings
from mailexports.errors import NotFound, ValidationFailed
from mailexports.exports.tracking import encode_position, tracking_page
from mailexports.marketing.records import CampaignRecord
from mailexports.marketing.writer import MarketingWriter

TENANT = "tenant-a"


@pytest.fixture
def campaign(aws_stack: Settings) -> str:
    MarketingWriter(TENANT).write([CampaignRecord(campaign_id="c-1", name="Spring")])
    return "c-1"


def cursor_at(position: str, campaign_id: str = "c-1", activity: str = "opens") -> str:
    """A cursor as the listing wraps it, around `position` (the reader's part)."""
    return opaque.encode_json({"r": position, "s": None, "c": campaign_id, "a": activity})


@pytest.mark.parametrize(
    "position",
    ["", "!!!", "bm90IGEga2V5", encode_position("2025-03-01T09:00:00Z#e"), "w4g", "a" * 3000, "YQ=="],
)
def test_tracking_page_rejects_a_garbage_cursor(campaign: str, position: str) -> None:
    with pytest.raises(ValidationFailed, match="cursor"):
        tracking_page(TENANT, campaign, "opens", cursor=cursor_at(position))


@pytest.mark.parametrize("cursor", ["", "!!!", "e30", opaque.encode_json({"r": 1})])
def test_a_cursor_that_is_not_ours_is_refused(campaign: str, cursor: str) -> None:
    with pytest.raises(ValidationFailed, match="cursor"):
        tracking_page(TENANT, campaign, "opens", cursor=cursor)


def test_a_cursor_with_a_broken_created_since_is_refused(campaign: str) -> None:
    good = encode_position("2025-03-01T09:00:00.000Z#e")
    for since in ("yesterday", "2025-03-01T09:00:00"):
        forged = opaque.encode_json({"r": good, "s": since, "c": campaign, "a": "opens"})
        with pytest.raises(ValidationFailed, match="cursor"):
            tracking_page(TENANT, campaign, "opens", cursor=forged)


def test_a_cursor_of_another_listing_is_refused(campaign: str) -> None:
    position = encode_position("2025-03-01T09:00:00.000Z#e")
    assert tracking_page(TENANT, campaign, "opens", cursor=cursor_at(position)).items == []
    with pytest.raises(ValidationFailed, match="cursor"):
        tracking_page(TENANT, campaign, "clicks", cursor=cursor_at(position))


@pytest.mark.parametrize(("activity", "limit", "field"), [("opens", 0, "limit"), ("clicks", 501, "limit")])
def test_tracking_page_rejects_bad_arguments(campaign: str, activity: str, limit: int, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        tracking_page(TENANT, campaign, activity, limit=limit)
    assert caught.value.details[0]["field"] == field


def test_an_unknown_listing_or_campaign_is_not_found(campaign: str) -> None:
    with pytest.raises(NotFound):
        tracking_page(TENANT, campaign, "views")
    with pytest.raises(NotFound):
        tracking_page(TENANT, "no-such-campaign", "opens")
