"""EventBridge rate() and cron() expressions: what is accepted, what is refused and why,
and the next slot, across month ends, special day forms and DST in a time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from mailexports.schedules.expressions import Cron, ExpressionError, Rate, parse

UTC_ZONE = ZoneInfo("UTC")
NEW_YORK = ZoneInfo("America/New_York")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def slots(expression: str, after: str, count: int, zone: ZoneInfo = UTC_ZONE) -> list[str]:
    cron = parse(expression)
    assert isinstance(cron, Cron)
    moment, out = at(after), []
    for _ in range(count):
        found = cron.next_after(moment, zone)
        assert found is not None
        out.append(found.astimezone(zone).isoformat())
        moment = found
    return out


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("rate(1 minute)", 60), ("rate(15 minutes)", 900), ("rate(1 hour)", 3600), ("rate(2 days)", 172800)],
)
def test_rates(text: str, seconds: int) -> None:
    assert parse(text) == Rate(seconds)


def test_a_rate_counts_from_its_anchor_and_skips_missed_periods() -> None:
    rate = Rate(3600)
    anchor = at("2025-01-01T00:00:00Z")
    assert rate.next_after(at("2024-12-31T23:00:00Z"), anchor) == anchor
    assert rate.next_after(anchor, anchor) == at("2025-01-01T01:00:00Z")
    # Down for five hours: the next slot is the first after now, not five catch-up slots.
    assert rate.next_after(at("2025-01-01T05:30:00Z"), anchor) == at("2025-01-01T06:00:00Z")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("rate(1 minutes)", "singular"),
        ("rate(5 minute)", "plural"),
        ("rate(0 days)", "positive"),
        ("rate(2 weeks)", "minute(s), hour(s) or day(s)"),
        ("every day", "must be"),
        ("cron(0 2 * * ?)", "6 fields"),
        ("cron(0 2 * * * *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 2 ? * ? *)", "exactly one of day-of-month and day-of-week"),
        ("cron(60 2 * * ? *)", "minutes value '60'"),
        ("cron(0 24 * * ? *)", "hours value '24'"),
        ("cron(0 2 32 * ? *)", "day-of-month value '32'"),
        ("cron(0 2 * 13 ? *)", "month value '13'"),
        ("cron(0 2 ? * 8 *)", "day-of-week value '8'"),
        ("cron(0 2 * * ? 2300)", "year value '2300'"),
        ("cron(0 2 L-3 * ? *)", "only L, LW and <day>W"),
        ("cron(0 2 ? * 2L,3 *)", "L and # must stand alone"),
        ("cron(0 5-2 * * ? *)", "runs backwards"),
        ("cron(0 2 * FOO ? *)", "month value 'FOO'"),
    ],
)
def test_bad_expressions_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(ExpressionError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse(text)


def test_lists_ranges_steps_and_names() -> None:
    assert slots("cron(0/20 9-10 ? * MON-FRI *)", "2025-05-02T10:30:00Z", 4) == [
        "2025-05-02T10:40:00+00:00",  # Friday
        "2025-05-05T09:00:00+00:00",  # then Monday: the weekend is skipped
        "2025-05-05T09:20:00+00:00",
        "2025-05-05T09:40:00+00:00",
    ]
    assert slots("cron(15 6 1,15 JAN,JUL ? *)", "2025-01-20T00:00:00Z", 2) == [
        "2025-07-01T06:15:00+00:00",
        "2025-07-15T06:15:00+00:00",
    ]


def test_the_special_day_forms() -> None:
    assert slots("cron(0 10 L * ? *)", "2024-02-01T00:00:00Z", 1) == ["2024-02-29T10:00:00+00:00"]
    assert slots("cron(0 10 LW * ? *)", "2025-05-01T00:00:00Z", 1) == ["2025-05-30T10:00:00+00:00"]
    # 15 June 2025 is a Sunday: the nearest weekday is Monday the 16th.
    assert slots("cron(0 10 15W * ? *)", "2025-06-01T00:00:00Z", 1) == ["2025-06-16T10:00:00+00:00"]
    assert slots("cron(0 10 ? * 6L *)", "2025-01-01T00:00:00Z", 1) == ["2025-01-31T10:00:00+00:00"]
    assert slots("cron(0 10 ? * MON#2 *)", "2025-01-01T00:00:00Z", 1) == ["2025-01-13T10:00:00+00:00"]


def test_a_year_field_ends_the_schedule() -> None:
    cron = parse("cron(0 0 1 1 ? 2025)")
    assert isinstance(cron, Cron)
    assert cron.next_after(at("2024-06-01T00:00:00Z"), UTC_ZONE) == at("2025-01-01T00:00:00Z")
    assert cron.next_after(at("2025-01-01T00:00:00Z"), UTC_ZONE) is None


def test_a_daily_time_stays_on_the_wall_clock_across_dst() -> None:
    # 02:30 does not exist on 9 March 2025 in New York: that run happens when the gap ends.
    assert slots("cron(30 2 * * ? *)", "2025-03-07T12:00:00Z", 4, NEW_YORK) == [
        "2025-03-08T02:30:00-05:00",
        "2025-03-09T03:30:00-04:00",
        "2025-03-10T02:30:00-04:00",
        "2025-03-11T02:30:00-04:00",
    ]
    # 9:00 local is 14:00 UTC in winter and 13:00 UTC in summer.
    assert [at(s).hour for s in slots("cron(0 9 * * ? *)", "2025-03-08T00:00:00Z", 2, NEW_YORK)] == [14, 13]


def test_a_time_that_happens_twice_runs_once_and_no_slot_repeats() -> None:
    hourly = slots("cron(0 * * * ? *)", "2025-11-02T04:30:00Z", 4, NEW_YORK)
    assert hourly == [
        "2025-11-02T01:00:00-04:00",  # the first 01:00 only
        "2025-11-02T02:00:00-05:00",
        "2025-11-02T03:00:00-05:00",
        "2025-11-02T04:00:00-05:00",
    ]
    spring = slots("cron(0 * * * ? *)", "2025-03-09T05:30:00Z", 3, NEW_YORK)
    assert spring == ["2025-03-09T01:00:00-05:00", "2025-03-09T03:00:00-04:00", "2025-03-09T04:00:00-04:00"]
    assert len({at(s) for s in spring}) == 3
