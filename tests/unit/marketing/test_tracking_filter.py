"""A filtered tracking listing (marketing/tracking_listing.py, `keep`): it reads at most
its budget of events per page, may end a page short with a cursor, and across pages
lists every kept event exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from mailexports.config import Settings
from mailexports.marketing import keys
from mailexports.marketing.reader import MarketingReader
from mailexports.marketing.records import CampaignRecord, EventRecord, SendRecord
from mailexports.marketing.tracking_listing import _page, _TrackingRow
from mailexports.marketing.views import TrackingEvent
from mailexports.marketing.vocabulary import EventType, iso_ms
from mailexports.marketing.writer import MarketingWriter

TENANT = "tenant-f"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
RARE = "https://example.com/rare"
COMMON = "https://example.com/common"


def url_of(n: int) -> str:
    return RARE if n % 9 == 4 else COMMON if n % 2 else f"https://example.com/other/{n % 5}"


@pytest.fixture
def clicks(aws_stack: Settings) -> list[EventRecord]:
    """60 clicks of one campaign over many shards, some sharing a millisecond."""
    events = [
        EventRecord(
            event_id=f"c{n:03d}",
            type=EventType.CLICK,
            stat_id="s1",
            contact_id=str(n % 23),
            email=f"user{n % 23}@example.com",
            at=T0 + timedelta(seconds=n // 3),
            url=url_of(n),
        )
        for n in range(60)
    ]
    assert len({keys.shard_of(e.contact_id) for e in events}) > 4
    MarketingWriter(TENANT).write(
        [CampaignRecord(campaign_id="c-1"), SendRecord(stat_id="s1", campaign_id="c-1", sent_at=T0), *events]
    )
    return events


def newest_first(events: list[EventRecord], url: str | None) -> list[str]:
    chosen = [e for e in events if url is None or e.url == url]
    return [e.event_id for e in sorted(chosen, key=lambda e: (iso_ms(e.at), e.event_id), reverse=True)]


class Counting:
    """A `keep` that keeps one URL and counts the events it was shown (every event a page reads)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen = 0

    def __call__(self, event: TrackingEvent) -> bool:
        self.seen += 1
        return event.url == self.url


def filtered_pages(url: str, limit: int, budget: int) -> tuple[list[list[str]], list[int]]:
    """Every page's event ids, and how many events each page looked at."""
    reader = MarketingReader(TENANT)
    pages, looked = [], []
    cursor = None
    while True:
        keep = Counting(url)
        page = reader.tracking_page("c-1", "click", limit=limit, cursor=cursor, keep=keep, budget=budget)
        pages.append([e.event_id for e in page.items])
        looked.append(keep.seen)
        assert all(e.url == url for e in page.items)
        if page.next_cursor is None:
            return pages, looked
        cursor = page.next_cursor


@pytest.mark.parametrize(("limit", "budget"), [(1, 4), (2, 7), (3, 60), (5, 2000), (500, 10)])
@pytest.mark.parametrize("url", [RARE, COMMON])
def test_pages_list_each_kept_event_once_reading_at_most_the_budget(
    clicks: list[EventRecord], url: str, limit: int, budget: int
) -> None:
    pages, looked = filtered_pages(url, limit, budget)
    assert [event for page in pages for event in page] == newest_first(clicks, url)
    assert all(len(page) <= limit for page in pages)
    # A page looks at its budget, plus the one event that tells it there is more.
    assert all(seen <= budget + 1 for seen in looked)
    # Every click is read by exactly one page, and no page reads more than the budget.
    assert len(pages) >= -(-len(clicks) // budget)


def test_a_filter_nothing_passes_pages_through_the_budget_to_an_empty_end(clicks: list[EventRecord]) -> None:
    pages, looked = filtered_pages("https://example.com/never", 10, 25)
    assert pages == [[], [], []]  # 60 clicks, 25 a page
    assert looked == [26, 26, 10]


def test_unfiltered_pages_ignore_the_budget(clicks: list[EventRecord]) -> None:
    reader = MarketingReader(TENANT)
    page = reader.tracking_page("c-1", "click", limit=50, budget=3)
    assert [e.event_id for e in page.items] == newest_first(clicks, None)[:50]
    assert page.next_cursor is not None


def test_a_full_page_stops_at_the_next_kept_event_not_at_the_budget(clicks: list[EventRecord]) -> None:
    """Full, it reads on only to find one more kept event (so its cursor leads to one), and
    resumes right after its own last event."""
    keep = Counting(COMMON)
    reader = MarketingReader(TENANT)
    first = reader.tracking_page("c-1", "click", limit=2, keep=keep, budget=2000)
    want = newest_first(clicks, COMMON)
    assert [e.event_id for e in first.items] == want[:2]
    assert keep.seen < 10
    second = reader.tracking_page("c-1", "click", limit=2, cursor=first.next_cursor, keep=Counting(COMMON))
    assert [e.event_id for e in second.items] == want[2:4]


# ---------------------------------------------------------------- the page rule alone
def rows(n: int) -> Iterator[_TrackingRow]:
    for i in range(n, 0, -1):
        event = TrackingEvent(
            event_id=f"e{i}", campaign_id="c", stat_id="s", contact_id="1", email="a@example.com", at=T0,
            url="keep" if i % 3 == 0 else "drop",
        )  # fmt: skip
        yield _TrackingRow(f"{i:04d}", event)


def kept(event: TrackingEvent) -> bool:
    return event.url == "keep"


@pytest.mark.parametrize(
    ("n", "limit", "budget", "ids", "cursor"),
    [
        (10, 5, 4, ["e9"], "0007"),  # the budget ends the page: the cursor is the last event read
        (10, 2, 100, ["e9", "e6"], "0004"),  # full, it reads on to the next kept event (e3)
        (10, 5, 100, ["e9", "e6", "e3"], None),  # the events ran out
        (9, 5, 9, ["e9", "e6", "e3"], None),  # exactly the budget, and nothing after it
        (9, 5, 8, ["e9", "e6", "e3"], "0002"),  # one event past the budget: a page to come
    ],
)
def test_the_page_rule(n: int, limit: int, budget: int, ids: list[str], cursor: str | None) -> None:
    pulled = 0

    def counted() -> Iterator[_TrackingRow]:
        nonlocal pulled
        for row in rows(n):
            pulled += 1
            yield row

    page = _page(counted(), limit, kept, budget)
    assert [e.event_id for e in page.items] == ids
    assert page.next_cursor == cursor
    assert pulled <= budget + 1
