"""What the generator makes and at which rates: the options, the shares, and sizing by event count.

Every rate is a constant here, so a reader (or a test) can see why a dataset
looks the way it does; `expected_events_per_recipient` derives the mean event
count from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from mailexports.marketing.records import ContactStatus

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


DEFAULT_START = date(2025, 3, 1)


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
