"""EventBridge's schedule expressions, `rate(...)` and six-field `cron(...)`, parsed and stepped.

    cron(minutes hours day-of-month month day-of-week year)

as EventBridge writes it: `, - * /` everywhere, `?` in exactly one of the two day
fields, `L` and `nW`/`LW` in day-of-month, `nL` (last such weekday) and `n#k` (k-th
such weekday) in day-of-week, days 1-7 = SUN-SAT, months and days also by name. Anything
else is refused with the reason (`ExpressionError`), never guessed at.

Cron times are wall-clock times in the schedule's time zone. A time the clocks skip
(spring forward) runs when the gap ends; a time that happens twice (fall back) runs once,
at its first occurrence. A rate is a fixed period from an anchor (the schedule's start).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {
    name: i
    for i, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
MIN_YEAR, MAX_YEAR = 1970, 2199


class ExpressionError(ValueError):
    """The expression is not one EventBridge accepts (or not one this service supports)."""


@dataclass(frozen=True)
class Rate:
    seconds: int

    def next_after(self, after: datetime, anchor: datetime) -> datetime:
        """The first `anchor + k * period` strictly after `after` (k >= 0)."""
        if after < anchor:
            return anchor
        steps = int((after - anchor).total_seconds() // self.seconds) + 1
        return anchor + timedelta(seconds=steps * self.seconds)


@dataclass(frozen=True)
class Cron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: frozenset[int]
    years: frozenset[int]
    # Exactly one of the two day rules applies (the other field is `?`).
    month_days: frozenset[int] | None  # plain days of the month
    last_day: bool  # `L`
    weekday_near: int | None  # `nW`: the weekday nearest day n; 0 means `LW`
    week_days: frozenset[int] | None  # 1 = Sunday ... 7 = Saturday
    last_week_day: int | None  # `nL`
    nth_week_day: tuple[int, int] | None  # `n#k`

    def next_after(self, after: datetime, zone: ZoneInfo) -> datetime | None:
        """The first slot strictly after `after` (UTC), or None when there is none before MAX_YEAR."""
        day = after.astimezone(zone).date() - timedelta(days=1)  # a gap may move a slot past midnight
        while day.year <= MAX_YEAR:
            if day.year not in self.years:
                day = date(day.year + 1, 1, 1)
                continue
            if day.month not in self.months:
                day = _first_of_next_month(day)
                continue
            if self._day_matches(day):
                for hour in self.hours:
                    for minute in self.minutes:
                        slot = datetime.combine(day, time(hour, minute), zone).astimezone(UTC)
                        if slot > after:
                            return slot
            day += timedelta(days=1)
        return None

    def _day_matches(self, day: date) -> bool:
        last = calendar.monthrange(day.year, day.month)[1]
        weekday = (day.isoweekday() % 7) + 1  # Sunday = 1
        if self.week_days is not None:
            return weekday in self.week_days
        if self.last_week_day is not None:
            return weekday == self.last_week_day and day.day + 7 > last
        if self.nth_week_day is not None:
            wanted, nth = self.nth_week_day
            return weekday == wanted and (day.day - 1) // 7 + 1 == nth
        if self.last_day:
            return day.day == last
        if self.weekday_near is not None:
            return day.day == _nearest_weekday(day.year, day.month, self.weekday_near or last, last)
        return self.month_days is not None and day.day in self.month_days


Expression = Rate | Cron


def parse(text: str) -> Expression:
    text = text.strip()
    rate = re.fullmatch(r"rate\(\s*(\S+)\s+(\S+)\s*\)", text)
    if rate:
        return _rate(*rate.groups())
    cron = re.fullmatch(r"cron\((.*)\)", text)
    if cron:
        return _cron(cron.group(1).split())
    raise ExpressionError(
        'must be "rate(<value> <unit>)" or "cron(<minutes> <hours> <day> <month> <weekday> <year>)"'
    )


def next_run(expression: Expression, after: datetime, zone: ZoneInfo, anchor: datetime) -> datetime | None:
    if isinstance(expression, Rate):
        return expression.next_after(after, anchor)
    return expression.next_after(after, zone)


def _rate(value: str, unit: str) -> Rate:
    if not value.isdigit() or int(value) < 1:
        raise ExpressionError(f"rate value must be a positive whole number, got {value!r}")
    amount = int(value)
    singular = unit.rstrip("s") if unit.endswith("s") else unit
    if singular not in _UNITS:
        raise ExpressionError(f"rate unit must be minute(s), hour(s) or day(s), got {unit!r}")
    if (amount == 1) != (unit == singular):  # EventBridge: rate(1 minute), rate(5 minutes)
        raise ExpressionError(
            f"rate({amount} {unit}): use the {'singular' if amount == 1 else 'plural'} unit"
        )
    return Rate(amount * _UNITS[singular])


def _cron(fields: list[str]) -> Cron:
    if len(fields) != 6:
        raise ExpressionError(
            f"cron needs 6 fields (minutes hours day month weekday year), got {len(fields)}"
        )
    minute, hour, month_day, month, week_day, year = fields
    if (month_day == "?") == (week_day == "?"):
        raise ExpressionError("exactly one of day-of-month and day-of-week must be '?'")
    no_day_rule: dict[str, Any] = {
        "month_days": None,
        "last_day": False,
        "weekday_near": None,
        "week_days": None,
        "last_week_day": None,
        "nth_week_day": None,
    }
    day_rule = _month_day_rule(month_day) if week_day == "?" else _week_day_rule(week_day)
    return Cron(
        minutes=tuple(sorted(_values(minute, "minutes", 0, 59))),
        hours=tuple(sorted(_values(hour, "hours", 0, 23))),
        months=frozenset(_values(month, "month", 1, 12, _MONTHS)),
        years=frozenset(_values(year, "year", MIN_YEAR, MAX_YEAR)),
        **{**no_day_rule, **day_rule},
    )


def _month_day_rule(text: str) -> dict[str, object]:
    if text == "L":
        return {"last_day": True}
    if text == "LW":
        return {"weekday_near": 0}
    near = re.fullmatch(r"(\d{1,2})W", text)
    if near:
        return {"weekday_near": _bounded(near.group(1), "day-of-month", 1, 31)}
    if "L" in text or "W" in text or "#" in text:
        raise ExpressionError(f"day-of-month {text!r}: only L, LW and <day>W are supported there")
    return {"month_days": frozenset(_values(text, "day-of-month", 1, 31))}


def _week_day_rule(text: str) -> dict[str, object]:
    if text == "L":
        return {"week_days": frozenset({7})}
    last = re.fullmatch(r"(\w{1,3})L", text)
    if last:
        return {"last_week_day": _bounded(last.group(1), "day-of-week", 1, 7, _DAYS)}
    nth = re.fullmatch(r"(\w{1,3})#(\d)", text)
    if nth:
        which = _bounded(nth.group(2), "day-of-week", 1, 5)
        return {"nth_week_day": (_bounded(nth.group(1), "day-of-week", 1, 7, _DAYS), which)}
    if "L" in text or "#" in text:  # no day name contains either letter
        raise ExpressionError(f"day-of-week {text!r}: L and # must stand alone (e.g. 6L, 2#1)")
    return {"week_days": frozenset(_values(text, "day-of-week", 1, 7, _DAYS))}


def _values(text: str, name: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    """A field of `,`-separated items, each `*`, `n`, `a-b`, optionally `/step`."""
    values: set[int] = set()
    for item in text.split(","):
        base, _, step_text = item.partition("/")
        step = _bounded(step_text, name, 1, high - low + 1) if step_text else 1
        if base == "*":
            first, last = low, high
        elif "-" in base:
            start, _, end = base.partition("-")
            first, last = _bounded(start, name, low, high, names), _bounded(end, name, low, high, names)
            if first > last:
                raise ExpressionError(f"{name} range {base!r} runs backwards")
        else:
            first = _bounded(base, name, low, high, names)
            last = high if step_text else first  # `5/15` means from 5, every 15
        values.update(range(first, last + 1, step))
    return values


def _bounded(text: str, name: str, low: int, high: int, names: dict[str, int] | None = None) -> int:
    value = (names or {}).get(text.upper()) if not text.isdigit() else int(text)
    if value is None or not low <= value <= high:
        raise ExpressionError(f"{name} value {text!r} is not allowed (must be {low}-{high})")
    return value


def _first_of_next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _nearest_weekday(year: int, month: int, target: int, last: int) -> int:
    """The weekday (Mon-Fri) nearest day `target`, without leaving the month (Quartz's `W`)."""
    target = min(target, last)
    weekday = date(year, month, target).weekday()  # Monday = 0
    if weekday == 5:  # Saturday: Friday before, or Monday after when the 1st
        return target - 1 if target > 1 else target + 2
    if weekday == 6:  # Sunday: Monday after, or Friday before when the month's last
        return target + 1 if target < last else target - 2
    return target
