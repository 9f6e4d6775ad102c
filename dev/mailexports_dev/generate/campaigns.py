"""Campaigns and their sends: ids, audiences, send times, and the message each recipient got."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import NamedTuple

from mailexports_dev.generate.contacts import Person
from mailexports_dev.generate.draws import key, to_json
from mailexports_dev.generate.model import AUDIENCE_ALL_EVERY, SEND_HOURS, SEND_SPACING_DAYS, GenerateOptions
from mailexports_dev.generate.timefmt import DAY_MS, epoch_ms, iso_ms, rfc5322
from mailexports_dev.generate.vocabulary import CAMPAIGN_THEMES, SENDER

# How often each of a campaign's links is clicked (cumulative, first link most).
_LINK_WEIGHTS = (0.55, 0.80, 0.95, 1.0)


class Campaign(NamedTuple):
    campaign_id: str
    name: str
    subject: str
    links: tuple[str, ...]
    audience_segment: int | None  # index into the segments, or None for every active contact


class CampaignPlan:
    """The campaigns of one seed and the schedule of its sends (send `s` is of campaign `s % campaigns`)."""

    def __init__(self, options: GenerateOptions) -> None:
        self.options = options
        self._start_ms = epoch_ms(options.start)
        self._stat_base = 100_000 + key(options.seed, "stat") % 800_000
        self.campaigns = [self._campaign(k) for k in range(options.campaigns)]

    def campaign_of(self, s: int) -> Campaign:
        return self.campaigns[s % len(self.campaigns)]

    def stat_id(self, s: int) -> str:
        return str(self._stat_base + s)

    def send_ms(self, s: int) -> int:
        rng = random.Random(key(self.options.seed, f"send-time:{s}"))
        first_hour, last_hour = SEND_HOURS
        minute = int(rng.random() * (last_hour - first_hour) * 60)
        day_ms = (s * SEND_SPACING_DAYS) * DAY_MS
        return self._start_ms + day_ms + first_hour * 3_600_000 + minute * 60_000

    def lines(self) -> Iterator[str]:
        """The `campaign` lines, then the `send` lines."""
        for campaign in self.campaigns:
            yield to_json(
                {
                    "kind": "campaign",
                    "campaign_id": campaign.campaign_id,
                    "name": campaign.name,
                    "subject": campaign.subject,
                }
            )
        for s in range(self.options.sends):
            yield to_json(
                {
                    "kind": "send",
                    "stat_id": self.stat_id(s),
                    "campaign_id": self.campaign_of(s).campaign_id,
                    "sent_at": iso_ms(self.send_ms(s)),
                }
            )

    def _campaign(self, k: int) -> Campaign:
        name, subject, slug = CAMPAIGN_THEMES[k % len(CAMPAIGN_THEMES)]
        if k >= len(CAMPAIGN_THEMES):
            name = f"{name} ({k // len(CAMPAIGN_THEMES) + 1})"
        # A distinct prefix per k keeps ids unique: "1100" + 9 digits, "1101" + 9 digits, ...
        campaign_id = f"{1100 + k}{key(self.options.seed, f'campaign:{k}') % 10**9:09d}"
        tracking = f"utm_source=newsletter&utm_campaign={campaign_id}"
        links = (
            f"https://www.example.com/{slug}?{tracking}",
            f"https://www.example.com/pricing?{tracking}",
            f"https://blog.example.org/{slug}-story?{tracking}",
            "https://www.example.com/account/preferences",
        )
        segments = self.options.segments
        audience = None if k % AUDIENCE_ALL_EVERY == 0 or not segments else k % segments
        return Campaign(campaign_id, name, subject, links, audience)


def pick_link(links: tuple[str, ...], draw: float) -> str:
    for link, cumulative in zip(links, _LINK_WEIGHTS, strict=True):
        if draw < cumulative:
            return link
    return links[-1]


def mime(person: Person, campaign: Campaign, stat_id: str, sent_ms: int) -> str:
    """A short text/plain message as the MTA saw it (CRLF line ends)."""
    first, last = person.first, person.last
    contact_id = person.contact_id
    unsubscribe = f"https://www.example.com/u/{stat_id}/{contact_id}"
    headers = (
        f"From: {SENDER}\r\n"
        f'To: "{first.ascii} {last.ascii}" <{person.email}>\r\n'
        f"Subject: {campaign.subject}\r\n"
        f"Date: {rfc5322(sent_ms)}\r\n"
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
