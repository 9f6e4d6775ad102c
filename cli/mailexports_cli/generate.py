"""`mailexports generate`: a realistic, deterministic synthetic dataset in the import format.

The output is the NDJSON import format of DESIGN.md ("Marketing data and its
import format"), in this order: `field`, `tag`, `contact`, `campaign`, `send`
lines, then for every send and every recipient a `message` line followed by
that recipient's `event` lines in time order, and finally `survey_response`
lines. The same options always give the same bytes.

Nothing is held per contact or per event, so memory stays flat from a handful of
contacts to millions. A contact's identity (name, email, status, segments) is a
hash of its index, so a send can re-derive its recipients instead of storing
them; profile details only the contact line needs (custom fields, tags,
sign-up time) come from one seeded `random.Random` walking the contacts in
order, and a send's events from one `random.Random` per send walking its
recipients in contact order.

Who gets what:
- contacts are `1..N`; about `ACTIVE_SHARE` of them are active;
- send `s` belongs to campaign `s % campaigns`; campaign `k` goes to all active
  contacts when `k % AUDIENCE_ALL_EVERY == 0` (campaign 0 included) or when there
  are no segments, otherwise to the active members of one segment;
- each recipient gets `expected_events_per_recipient()` (about 2.5) event lines
  and one message line.

Sizing for an event count: one send to all active contacts has about
`contacts * ACTIVE_SHARE * expected_events_per_recipient()` event lines (plus one
message line per recipient), so ~100,000 events need ~47,500 contacts;
`options_for_send_events(100_000)` (or `--events-per-send 100000`) computes it.
For example `--contacts 40000 --sends 1` gives ~84,000 events and ~34,000 messages.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import itertools
import json
import math
import os
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from typing import Any, NamedTuple, TextIO

from mailexports.marketing.records import ContactStatus, EventType

# ---- contacts

# Contact status shares (sum to 1).
STATUS_SHARES: tuple[tuple[ContactStatus, float], ...] = (
    (ContactStatus.ACTIVE, 0.85),
    (ContactStatus.INACTIVE, 0.05),
    (ContactStatus.UNSUBSCRIBED, 0.06),
    (ContactStatus.BOUNCED, 0.04),
)
ACTIVE_SHARE = STATUS_SHARES[0][1]
# Contacts sign up over this many days before --start, oldest ids first.
SIGNUP_WINDOW_DAYS = 365
# Independent chance of carrying each tag (so some contacts carry none).
TAG_SHARES: dict[str, float] = {
    "newsletter": 0.55,
    "customer": 0.30,
    "trial": 0.12,
    "webinar": 0.10,
    "beta": 0.08,
    "vip": 0.04,
}
# Membership chance of seg-1, seg-2, ... (cycled): segments overlap, ~40% of contacts are in none of three.
SEGMENT_SHARES = (0.40, 0.25, 0.15, 0.60, 0.10)
# Contacts that never gave a city and country.
NO_LOCATION_SHARE = 0.08
# Contacts with no last name on file.
NO_LAST_NAME_SHARE = 0.03
# Plan shares (the remainder has no plan recorded).
PLAN_SHARES = (("free", 0.45), ("starter", 0.25), ("pro", 0.15), ("enterprise", 0.05))

# ---- sends and recipients

# Sends go out every few days after --start ...
SEND_SPACING_DAYS = 3
# ... at a random minute between these hours (UTC).
SEND_HOURS = (8, 17)
# Campaign k goes to every active contact when k % AUDIENCE_ALL_EVERY == 0, else to one segment.
AUDIENCE_ALL_EVERY = 3
# The sending rate: recipient n of a send gets its message n / rate seconds after the send.
SEND_RATE_PER_S = 50

# First-attempt outcome of a message (sum to 1).
DELIVERED_SHARE = 0.96
SOFT_BOUNCE_SHARE = 0.02
HARD_BOUNCE_SHARE = 0.015
REJECT_SHARE = 0.005
# Soft-bounced messages that a later retry delivers (so the latest status is `delivered`).
SOFT_BOUNCE_RETRY_SHARE = 0.30

# Delivered recipients who open at least once (about 25% of all recipients).
OPENER_SHARE = 0.26
# Chance of each further open by an opener (a geometric count).
REPEAT_OPEN_CHANCE = 0.40
# Cap on opens per recipient.
MAX_OPENS = 12
# Openers who click (about 3.5% of all recipients).
CLICKER_SHARE = 0.14
# Chance of each further click by a clicker.
REPEAT_CLICK_CHANCE = 0.25
# Cap on clicks per recipient.
MAX_CLICKS = 6
# Delivered recipients who mark the message as spam.
COMPLAINT_SHARE = 0.001
# Delivered recipients who unsubscribe from it.
UNSUBSCRIBE_SHARE = 0.003

# Engagement delays decay exponentially: most within hours (mean FAST), a tail over days (mean SLOW).
FAST_ENGAGEMENT_SHARE = 0.80
FAST_ENGAGEMENT_MEAN_S = 2 * 3600
SLOW_ENGAGEMENT_MEAN_S = 36 * 3600
# No open comes later than this after delivery.
MAX_ENGAGEMENT_DELAY_S = 30 * 86400
# A click follows one of the recipient's opens after about this long.
CLICK_AFTER_OPEN_MEAN_S = 90
# Opens and clicks from the contact's usual device and address (the rest: anywhere).
HOME_DEVICE_SHARE = 0.75

# ---- surveys

# Share of contacts who answered each survey.
SURVEY_SHARES = {"s-1": 0.03, "s-2": 0.015}
# Survey answers arrive within this many days after --start.
SURVEY_WINDOW_DAYS = 30

# ---- vocabulary (display name, ASCII spelling for headers and email addresses)

FIRST_NAMES = (
    ("Ann", "Ann"), ("James", "James"), ("Maria", "Maria"), ("Wei", "Wei"),
    ("Olivia", "Olivia"), ("Noah", "Noah"), ("Zoë", "Zoe"), ("José", "Jose"),
    ("Priya", "Priya"), ("Liam", "Liam"), ("Chloé", "Chloe"), ("Björn", "Bjorn"),
    ("Fatima", "Fatima"), ("Kenji", "Kenji"), ("Amara", "Amara"), ("Lucas", "Lucas"),
    ("Sofia", "Sofia"), ("Mateo", "Mateo"), ("Hannah", "Hannah"), ("Omar", "Omar"),
    ("Emma", "Emma"), ("Ivan", "Ivan"), ("Grace", "Grace"), ("Siobhán", "Siobhan"),
)  # fmt: skip
LAST_NAMES = (
    ("Smith", "Smith"), ("Müller", "Mueller"), ("García", "Garcia"), ("Chen", "Chen"),
    ("O'Brien", "O'Brien"), ("Kowalski", "Kowalski"), ("Nguyen", "Nguyen"),
    ("Johnson", "Johnson"), ("Rossi", "Rossi"), ("Tanaka", "Tanaka"), ("Dubois", "Dubois"),
    ("Okafor", "Okafor"), ("Silva", "Silva"), ("Andersson", "Andersson"), ("Patel", "Patel"),
    ("Novak", "Novak"), ("Brown", "Brown"), ("Kim", "Kim"), ("Haddad", "Haddad"),
    ("Walsh", "Walsh"),
)  # fmt: skip
# Only reserved example domains (RFC 2606).
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
# Local-part stems; the contact id is always appended after a final dot, which keeps emails unique.
EMAIL_STYLES: tuple[Callable[[str, str], str], ...] = (
    lambda first, last: f"{first}.{last}",
    lambda first, last: f"{first}{last}",
    lambda first, last: f"{first[0]}.{last}",
    lambda first, last: f"{first}_{last}",
    lambda first, last: f"{last}.{first}",
)
LOCATIONS = (
    ("Berlin", "Germany"), ("São Paulo", "Brazil"), ("Lyon", "France"),
    ("Austin", "United States"), ("Chicago", "United States"), ("Toronto", "Canada"),
    ("Kraków", "Poland"), ("Osaka", "Japan"), ("Melbourne", "Australia"),
    ("Dublin", "Ireland"), ("Madrid", "Spain"), ("London", "United Kingdom"),
    ("Lagos", "Nigeria"), ("Pune", "India"),
)  # fmt: skip
# The custom fields, in field_id order "1", "2", ...
FIELD_NAMES = ("First Name", "Last Name", "City", "Country", "Plan")
# name, subject, URL slug; campaign k uses entry k % len.
CAMPAIGN_THEMES = (
    ("Spring sale", "Spring is here: 20% off everything", "spring-sale"),
    ("March newsletter", "What is new this month", "newsletter"),
    ("Product update", "Three features you asked for", "product-update"),
    ("Webinar invitation", "Join our live demo on Thursday", "webinar"),
    ("Customer survey", "Two minutes to help us improve?", "survey"),
    ("Summer clearance", "Last chance: summer clearance", "summer-clearance"),
    ("Welcome series", "Welcome aboard, here is how to start", "welcome"),
    ("Black Friday", "Black Friday starts now", "black-friday"),
)
# Documentation address ranges (RFC 5737): opens and clicks come from these.
IP_PREFIXES = ("192.0.2", "198.51.100", "203.0.113")
# Reading devices: (user agent of the opening mail client or image proxy, user agent of the clicking browser).
_WEBKIT = "AppleWebKit/605.1.15 (KHTML, like Gecko)"
_CHROME = "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0"
_IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)"
_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"
_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"
_ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8)"
DEVICES = (
    (f"{_IPHONE} {_WEBKIT} Mobile/15E148", f"{_IPHONE} {_WEBKIT} Version/17.4 Mobile/15E148 Safari/604.1"),
    (
        "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
        f"{_WINDOWS} {_CHROME} Safari/537.36",
    ),
    (
        "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
        f"{_WINDOWS} {_CHROME} Safari/537.36 Edg/124.0.2478.67",
    ),
    (f"{_MAC} {_WEBKIT}", f"{_MAC} {_WEBKIT} Version/17.4 Safari/605.1.15"),
    (f"{_ANDROID} {_CHROME} Mobile Safari/537.36", f"{_ANDROID} {_CHROME} Mobile Safari/537.36"),
)
SENDER = '"Northwind News" <news@example.com>'
DEFAULT_START = date(2025, 3, 1)

_ACTIVE = ContactStatus.ACTIVE.value
_SEND = EventType.SEND.value
_DELIVERY = EventType.DELIVERY.value
_SOFT_BOUNCE = EventType.SOFT_BOUNCE.value
_HARD_BOUNCE = EventType.HARD_BOUNCE.value
_REJECT = EventType.REJECT.value
_OPEN = EventType.OPEN.value
_CLICK = EventType.CLICK.value
_COMPLAINT = EventType.COMPLAINT.value
_UNSUBSCRIBE = EventType.UNSUBSCRIBE.value


@dataclass(frozen=True, slots=True)
class GenerateOptions:
    """What to generate; the defaults make a small dataset (~1,000 lines)."""

    contacts: int = 200
    sends: int = 2
    campaigns: int = 2
    segments: int = 3
    seed: int = 1
    start: date = DEFAULT_START

    def __post_init__(self) -> None:
        for name in ("contacts", "sends", "campaigns", "segments"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.sends and not self.campaigns:
            raise ValueError("sends need at least one campaign")


def generate_lines(options: GenerateOptions = GenerateOptions()) -> Iterator[str]:
    """The dataset, lazily, one JSON document per item (no trailing newline)."""
    return _Dataset(options).lines()


def write_dataset(options: GenerateOptions, out: TextIO) -> int:
    """Write the dataset to `out`, one line each; returns the number of lines."""
    count = 0
    for chunk in itertools.batched(generate_lines(options), 2048, strict=False):
        out.write("\n".join(chunk))
        out.write("\n")
        count += len(chunk)
    return count


def expected_events_per_recipient() -> float:
    """Mean event lines per recipient implied by the rate constants."""
    delivered = DELIVERED_SHARE + SOFT_BOUNCE_SHARE * SOFT_BOUNCE_RETRY_SHARE
    opens = sum(REPEAT_OPEN_CHANCE**n for n in range(MAX_OPENS))
    clicks = sum(REPEAT_CLICK_CHANCE**n for n in range(MAX_CLICKS))
    engagement = OPENER_SHARE * (opens + CLICKER_SHARE * clicks)
    # `send`, the first-attempt outcome, retried deliveries, then what delivered mail causes.
    return (
        2
        + SOFT_BOUNCE_SHARE * SOFT_BOUNCE_RETRY_SHARE
        + delivered * (engagement + COMPLAINT_SHARE + UNSUBSCRIBE_SHARE)
    )


def options_for_send_events(events: int, *, seed: int = 1, start: date = DEFAULT_START) -> GenerateOptions:
    """One send to all active contacts with about `events` event lines (within a few %)."""
    per_contact = ACTIVE_SHARE * expected_events_per_recipient()
    contacts = math.ceil(events / per_contact)
    return GenerateOptions(contacts=contacts, sends=1, campaigns=1, seed=seed, start=start)


# ---- deterministic hashing and time spelling

_MASK64 = (1 << 64) - 1
_SCALE64 = float(1 << 64)
_DAY_MS = 86_400_000
_EPOCH = date(1970, 1, 1)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # fmt: skip

_to_json: Callable[[Any], str] = json.JSONEncoder(separators=(",", ":")).encode


def _mix64(x: int) -> int:
    """A fast, well-spread 64-bit hash of an integer (the splitmix64 finaliser)."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def _key(seed: int, purpose: str) -> int:
    """A 64-bit key for one purpose of one seed, stable across runs and platforms."""
    digest = hashlib.blake2b(f"{seed}:{purpose}".encode(), digest_size=8).digest()
    return int.from_bytes(digest)


def _threshold(share: float) -> int:
    """A 64-bit hash is below this with probability `share`."""
    return int(share * _SCALE64)


# Lookup tables for the clock part of a timestamp: formatting is the hot path.
_ISO_MINUTES = tuple(f"T{h:02d}:{m:02d}:" for h in range(24) for m in range(60))
_ISO_SECONDS = tuple(f"{second:02d}." for second in range(60))
_ISO_MILLIS = tuple(f"{milli:03d}Z" for milli in range(1000))
_CLOCK_MINUTES = tuple(minute.removeprefix("T") for minute in _ISO_MINUTES)


@functools.lru_cache(maxsize=4096)
def _iso_day(day: int) -> str:
    return (_EPOCH + timedelta(days=day)).isoformat()


def _iso_ms(ms: int) -> str:
    """`records.iso_ms` of epoch milliseconds, without building a datetime."""
    day, rest = divmod(ms, _DAY_MS)
    minute, rest = divmod(rest, 60_000)
    second, milli = divmod(rest, 1000)
    return _iso_day(day) + _ISO_MINUTES[minute] + _ISO_SECONDS[second] + _ISO_MILLIS[milli]


@functools.lru_cache(maxsize=4096)
def _rfc5322_day(day: int) -> str:
    d = _EPOCH + timedelta(days=day)
    return f"{_WEEKDAYS[d.weekday()]}, {d.day:02d} {_MONTHS[d.month - 1]} {d.year} "


def _rfc5322(ms: int) -> str:
    """The `Date:` header spelling of epoch milliseconds (RFC 5322, UTC)."""
    day, rest = divmod(ms, _DAY_MS)
    return f"{_rfc5322_day(day)}{_CLOCK_MINUTES[rest // 60_000]}{rest // 1000 % 60:02d} +0000"


def _epoch_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1000


def _exp_ms(rng: random.Random, mean_s: float) -> int:
    """An exponentially distributed delay in milliseconds."""
    return int(-math.log(1.0 - rng.random()) * mean_s * 1000)


def _engagement_delay_ms(rng: random.Random) -> int:
    fast = rng.random() < FAST_ENGAGEMENT_SHARE
    return _exp_ms(rng, FAST_ENGAGEMENT_MEAN_S if fast else SLOW_ENGAGEMENT_MEAN_S)


def _geometric(rng: random.Random, repeat_chance: float, cap: int) -> int:
    count = 1
    while count < cap and rng.random() < repeat_chance:
        count += 1
    return count


# ---- the dataset


class _Name(NamedTuple):
    display: str  # as the contact wrote it: custom fields, message body
    ascii: str  # for mail headers
    slug: str  # for email addresses


def _names(pairs: tuple[tuple[str, str], ...]) -> tuple[_Name, ...]:
    return tuple(
        _Name(display, ascii, "".join(c for c in ascii.lower() if c.isalnum())) for display, ascii in pairs
    )


_FIRST = _names(FIRST_NAMES)
_LAST = _names(LAST_NAMES)


class _Person(NamedTuple):
    """What a send needs of a contact; a pure function of the contact's index."""

    contact_id: str
    email: str  # lowercase ASCII letters, digits and `._@-`: safe inside a JSON string as is
    first: _Name
    last: _Name


class _Campaign(NamedTuple):
    campaign_id: str
    name: str
    subject: str
    links: tuple[str, ...]
    audience_segment: int | None  # index into the segments, or None for every active contact


# How often each of a campaign's links is clicked (cumulative, first link most).
_LINK_WEIGHTS = (0.55, 0.80, 0.95, 1.0)
# The user agents already as JSON strings, for the hand-built event lines.
_OPEN_AGENTS_JSON = tuple(_to_json(opener) for opener, _ in DEVICES)
_CLICK_AGENTS_JSON = tuple(_to_json(clicker) for _, clicker in DEVICES)
# One event of a recipient: (at_ms, type, the JSON members after "at", each with a leading comma).
_Event = tuple[int, str, str]


class _Dataset:
    def __init__(self, options: GenerateOptions) -> None:
        self.options = options
        seed = options.seed
        self._status_key = _key(seed, "status")
        self._person_key = _key(seed, "person")
        self._device_key = _key(seed, "device")
        self._segment_keys = [_key(seed, f"segment:{j}") for j in range(options.segments)]
        self._segment_thresholds = [
            _threshold(SEGMENT_SHARES[j % len(SEGMENT_SHARES)]) for j in range(options.segments)
        ]
        self._status_thresholds: list[tuple[int, str]] = []
        cumulative = 0.0
        for status, share in STATUS_SHARES:
            cumulative += share
            self._status_thresholds.append((_threshold(cumulative), status.value))
        self._start_ms = _epoch_ms(options.start)
        self._stat_base = 100_000 + _key(seed, "stat") % 800_000
        self._campaigns = [self._campaign(k) for k in range(options.campaigns)]

    def lines(self) -> Iterator[str]:
        for n, name in enumerate(FIELD_NAMES, start=1):
            yield _to_json({"kind": "field", "field_id": str(n), "name": name})
        for tag in TAG_SHARES:
            yield _to_json({"kind": "tag", "tag": tag})
        # Profile details nobody else needs come from one stream; identities are per index.
        profiles = random.Random(_key(self.options.seed, "profiles"))
        for i in range(self.options.contacts):
            yield self._contact_line(i, profiles)
        for campaign in self._campaigns:
            yield _to_json(
                {
                    "kind": "campaign",
                    "campaign_id": campaign.campaign_id,
                    "name": campaign.name,
                    "subject": campaign.subject,
                }
            )
        for s in range(self.options.sends):
            yield _to_json(
                {
                    "kind": "send",
                    "stat_id": self._stat_id(s),
                    "campaign_id": self._campaigns[s % len(self._campaigns)].campaign_id,
                    "sent_at": _iso_ms(self._send_ms(s)),
                }
            )
        for s in range(self.options.sends):
            yield from self._send_lines(s)
        yield from self._survey_lines()

    # -- contacts

    def _status(self, i: int) -> str:
        draw = _mix64(self._status_key ^ i)
        for threshold, status in self._status_thresholds:
            if draw < threshold:
                return status
        return self._status_thresholds[-1][1]

    def _person(self, i: int) -> _Person:
        # One hash, sliced: first name, last name, domain, email style.
        h = _mix64(self._person_key ^ i)
        first = _FIRST[(h & 0xFFFF) % len(_FIRST)]
        last = _LAST[(h >> 16 & 0xFFFF) % len(_LAST)]
        domain = EMAIL_DOMAINS[(h >> 32 & 0xFFFF) % len(EMAIL_DOMAINS)]
        style = EMAIL_STYLES[(h >> 48) % len(EMAIL_STYLES)]
        contact_id = str(i + 1)
        return _Person(contact_id, f"{style(first.slug, last.slug)}.{contact_id}@{domain}", first, last)

    def _in_segment(self, i: int, j: int) -> bool:
        return _mix64(self._segment_keys[j] ^ i) < self._segment_thresholds[j]

    def _contact_line(self, i: int, rng: random.Random) -> str:
        person = self._person(i)
        # Ids grow with sign-up time, as in a real database.
        window_ms = SIGNUP_WINDOW_DAYS * _DAY_MS
        created_ms = self._start_ms - window_ms + int((i + rng.random()) * window_ms / self.options.contacts)
        custom_fields: dict[str, str] = {"First Name": person.first.display}
        if rng.random() >= NO_LAST_NAME_SHARE:
            custom_fields["Last Name"] = person.last.display
        if rng.random() >= NO_LOCATION_SHARE:
            city, country = LOCATIONS[int(rng.random() * len(LOCATIONS))]
            custom_fields["City"] = city
            custom_fields["Country"] = country
        plan_draw = rng.random()
        for plan, share in PLAN_SHARES:
            if plan_draw < share:
                custom_fields["Plan"] = plan
                break
            plan_draw -= share
        tags = [tag for tag, share in TAG_SHARES.items() if rng.random() < share]
        segments = [f"seg-{j + 1}" for j in range(self.options.segments) if self._in_segment(i, j)]
        return _to_json(
            {
                "kind": "contact",
                "contact_id": person.contact_id,
                "email": person.email,
                "status": self._status(i),
                "created_at": _iso_ms(created_ms),
                "custom_fields": custom_fields,
                "tags": tags,
                "segments": segments,
            }
        )

    # -- campaigns and sends

    def _campaign(self, k: int) -> _Campaign:
        name, subject, slug = CAMPAIGN_THEMES[k % len(CAMPAIGN_THEMES)]
        if k >= len(CAMPAIGN_THEMES):
            name = f"{name} ({k // len(CAMPAIGN_THEMES) + 1})"
        # A distinct prefix per k keeps ids unique: "1100" + 9 digits, "1101" + 9 digits, ...
        campaign_id = f"{1100 + k}{_key(self.options.seed, f'campaign:{k}') % 10**9:09d}"
        tracking = f"utm_source=newsletter&utm_campaign={campaign_id}"
        links = (
            f"https://www.example.com/{slug}?{tracking}",
            f"https://www.example.com/pricing?{tracking}",
            f"https://blog.example.org/{slug}-story?{tracking}",
            "https://www.example.com/account/preferences",
        )
        segments = self.options.segments
        audience = None if k % AUDIENCE_ALL_EVERY == 0 or not segments else k % segments
        return _Campaign(campaign_id, name, subject, links, audience)

    def _stat_id(self, s: int) -> str:
        return str(self._stat_base + s)

    def _send_ms(self, s: int) -> int:
        rng = random.Random(_key(self.options.seed, f"send-time:{s}"))
        first_hour, last_hour = SEND_HOURS
        minute = int(rng.random() * (last_hour - first_hour) * 60)
        day_ms = (s * SEND_SPACING_DAYS) * _DAY_MS
        return self._start_ms + day_ms + first_hour * 3_600_000 + minute * 60_000

    def _send_lines(self, s: int) -> Iterator[str]:
        """A send's message and event lines. The hot path: lines are built as strings
        (every value spliced in is known JSON-safe; tests re-encode to prove it)."""
        campaign = self._campaigns[s % len(self._campaigns)]
        stat_id = self._stat_id(s)
        send_ms = self._send_ms(s)
        segment = campaign.audience_segment
        links_json = tuple(_to_json(link) for link in campaign.links)
        rng = random.Random(_key(self.options.seed, f"send:{s}"))
        position = 0
        for i in range(self.options.contacts):
            if self._status(i) != _ACTIVE or (segment is not None and not self._in_segment(i, segment)):
                continue
            person = self._person(i)
            sent_ms = send_ms + position * 1000 // SEND_RATE_PER_S + int(rng.random() * 20)
            position += 1
            contact_id, email = person.contact_id, person.email
            yield (
                f'{{"kind":"message","message_id":"m-{stat_id}-{contact_id}","stat_id":"{stat_id}",'
                f'"contact_id":"{contact_id}","email":"{email}","sent_at":"{_iso_ms(sent_ms)}",'
                f'"mime":{_to_json(_mime(person, campaign, stat_id, sent_ms))}}}'
            )
            event_id = f'{{"kind":"event","event_id":"e-{stat_id}-{contact_id}-'
            who = f'"stat_id":"{stat_id}","contact_id":"{contact_id}","email":"{email}","at":"'
            events = self._recipient_events(rng, i, sent_ms, links_json)
            for n, (at_ms, kind, extra) in enumerate(events, start=1):
                yield f'{event_id}{n}","type":"{kind}",{who}{_iso_ms(at_ms)}"{extra}}}'

    def _recipient_events(
        self, rng: random.Random, i: int, sent_ms: int, links_json: tuple[str, ...]
    ) -> list[_Event]:
        """One recipient's events in time order; draws from the send's `rng`."""
        events: list[_Event] = [(sent_ms, _SEND, "")]
        outcome = rng.random()
        delivered_ms: int | None = None
        if outcome < DELIVERED_SHARE:
            delivered_ms = sent_ms + 300 + _exp_ms(rng, 1.5)
        elif outcome < DELIVERED_SHARE + SOFT_BOUNCE_SHARE:
            bounced_ms = sent_ms + 1000 + _exp_ms(rng, 30)
            events.append((bounced_ms, _SOFT_BOUNCE, ""))
            if rng.random() < SOFT_BOUNCE_RETRY_SHARE:
                delivered_ms = bounced_ms + 900_000 + _exp_ms(rng, 2700)
        elif outcome < DELIVERED_SHARE + SOFT_BOUNCE_SHARE + HARD_BOUNCE_SHARE:
            events.append((sent_ms + 500 + _exp_ms(rng, 3), _HARD_BOUNCE, ""))
        else:
            events.append((sent_ms + int(rng.random() * 200), _REJECT, ""))
        if delivered_ms is None:
            return events
        events.append((delivered_ms, _DELIVERY, ""))

        open_times: list[int] = []
        if rng.random() < OPENER_SHARE:
            latest_ms = delivered_ms + MAX_ENGAGEMENT_DELAY_S * 1000
            at_ms = delivered_ms
            for _ in range(_geometric(rng, REPEAT_OPEN_CHANCE, MAX_OPENS)):
                at_ms = min(at_ms + 1000 + _engagement_delay_ms(rng), latest_ms)
                ip, device = self._device(rng, i)
                events.append((at_ms, _OPEN, f',"ip":"{ip}","user_agent":{_OPEN_AGENTS_JSON[device]}'))
                open_times.append(at_ms)
            if rng.random() < CLICKER_SHARE:
                for _ in range(_geometric(rng, REPEAT_CLICK_CHANCE, MAX_CLICKS)):
                    opened_ms = open_times[int(rng.random() * len(open_times))]
                    at_ms = opened_ms + 2000 + _exp_ms(rng, CLICK_AFTER_OPEN_MEAN_S)
                    ip, device = self._device(rng, i)
                    url = _pick_link(links_json, rng.random())
                    agent = _CLICK_AGENTS_JSON[device]
                    events.append((at_ms, _CLICK, f',"ip":"{ip}","user_agent":{agent},"url":{url}'))

        reaction = rng.random()
        if reaction < COMPLAINT_SHARE + UNSUBSCRIBE_SHARE:
            # People react after reading when they read at all, else from the inbox list.
            after_ms = open_times[0] if open_times else delivered_ms
            kind = _COMPLAINT if reaction < COMPLAINT_SHARE else _UNSUBSCRIBE
            events.append((after_ms + 5000 + _exp_ms(rng, 600), kind, ""))

        events.sort(key=_at)
        return events

    def _device(self, rng: random.Random, i: int) -> tuple[str, int]:
        """Address and device (an index into DEVICES) of one open or click: usually the contact's own."""
        home = rng.random() < HOME_DEVICE_SHARE
        h = _mix64(self._device_key ^ i) if home else rng.getrandbits(64)
        ip = f"{IP_PREFIXES[h % len(IP_PREFIXES)]}.{1 + (h >> 8) % 254}"
        return ip, (h >> 16) % len(DEVICES)

    # -- surveys

    def _survey_lines(self) -> Iterator[str]:
        window_ms = SURVEY_WINDOW_DAYS * _DAY_MS
        for n, (survey_id, share) in enumerate(SURVEY_SHARES.items()):
            key = _key(self.options.seed, f"survey:{survey_id}")
            threshold = _threshold(share)
            for i in range(self.options.contacts):
                h = _mix64(key ^ i)
                if h >= threshold:
                    continue
                person = self._person(i)
                rng = random.Random(h)
                answers: dict[str, Any]
                if n % 2 == 0:
                    score = min(10, int(rng.triangular(0, 11, 9)))
                    answers = {"nps": score}
                    if rng.random() < 0.3:
                        answers["comment"] = "Love it" if score >= 8 else "Could be faster"
                else:
                    answers = {
                        "topics": [t for t in ("product", "events", "offers") if rng.random() < 0.5],
                        "frequency": ("weekly", "monthly")[int(rng.random() * 2)],
                    }
                yield _to_json(
                    {
                        "kind": "survey_response",
                        "response_id": f"r-{survey_id}-{person.contact_id}",
                        "survey_id": survey_id,
                        "email": person.email,
                        "at": _iso_ms(self._start_ms + int(rng.random() * window_ms)),
                        "answers": answers,
                    }
                )


_at = itemgetter(0)


def _pick_link(links: tuple[str, ...], draw: float) -> str:
    for link, cumulative in zip(links, _LINK_WEIGHTS, strict=True):
        if draw < cumulative:
            return link
    return links[-1]


def _mime(person: _Person, campaign: _Campaign, stat_id: str, sent_ms: int) -> str:
    """A short text/plain message as the MTA saw it (CRLF line ends)."""
    first, last = person.first, person.last
    contact_id = person.contact_id
    unsubscribe = f"https://www.example.com/u/{stat_id}/{contact_id}"
    headers = (
        f"From: {SENDER}\r\n"
        f'To: "{first.ascii} {last.ascii}" <{person.email}>\r\n'
        f"Subject: {campaign.subject}\r\n"
        f"Date: {_rfc5322(sent_ms)}\r\n"
        f"Message-ID: <m-{stat_id}-{contact_id}@mail.example.com>\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: text/plain; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: 8bit\r\n"
        f"List-Unsubscribe: <{unsubscribe}>\r\n"
    )
    body = (
        f"Hi {first.display},\r\n\r\n{campaign.subject}\r\n"
        f"Read more: {campaign.links[0]}\r\n\r\n"
        f"Unsubscribe: {unsubscribe}\r\n"
    )
    return f"{headers}\r\n{body}"


# ---- command line


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="write a synthetic dataset in the NDJSON import format",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    defaults = GenerateOptions()
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--contacts", type=_count, default=defaults.contacts, metavar="N")
    size.add_argument(
        "--events-per-send",
        type=_count,
        metavar="N",
        help="size --contacts so that a send to every active contact has about N events",
    )
    parser.add_argument("--sends", type=_count, default=defaults.sends, metavar="N")
    parser.add_argument("--campaigns", type=_count, default=defaults.campaigns, metavar="N")
    parser.add_argument("--segments", type=_count, default=defaults.segments, metavar="N")
    parser.add_argument("--seed", type=int, default=defaults.seed, metavar="S")
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        default=defaults.start,
        metavar="YYYY-MM-DD",
        help="first send day (UTC); contacts sign up in the year before it",
    )
    parser.add_argument("--out", metavar="FILE", help="write here instead of stdout ('-')")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    contacts = args.contacts
    if args.events_per_send is not None:
        contacts = options_for_send_events(args.events_per_send).contacts
    try:
        options = GenerateOptions(
            contacts=contacts,
            sends=args.sends,
            campaigns=args.campaigns,
            segments=args.segments,
            seed=args.seed,
            start=args.start,
        )
    except ValueError as error:
        print(f"mailexports generate: {error}", file=sys.stderr)
        return 2
    if args.out and args.out != "-":
        with open(args.out, "w", encoding="utf-8", newline="\n") as out:
            count = write_dataset(options, out)
        print(f"wrote {count} lines to {args.out}", file=sys.stderr)
        return 0
    try:
        write_dataset(options, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader stopped early (`| head`): not an error; keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
