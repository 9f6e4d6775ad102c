"""A send's recipients: one `message` line each, followed by that recipient's `event` lines in time order.

The hot path of the generator: lines are built as strings (every value spliced in
is known JSON-safe; tests re-encode to prove it), and a send's events come from one
`random.Random` per send walking its recipients in contact order, so nothing is held
per contact or per event.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from operator import itemgetter

from mailexports.marketing.records import ContactStatus, EventType
from mailexports_dev.generate.campaigns import CampaignPlan, mime, pick_link
from mailexports_dev.generate.contacts import Contacts
from mailexports_dev.generate.draws import engagement_delay_ms, exp_ms, geometric, key, mix64, to_json
from mailexports_dev.generate.model import (
    CLICK_AFTER_OPEN_MEAN_S,
    CLICKER_SHARE,
    COMPLAINT_SHARE,
    DELIVERED_SHARE,
    HARD_BOUNCE_SHARE,
    HOME_DEVICE_SHARE,
    MAX_CLICKS,
    MAX_ENGAGEMENT_DELAY_S,
    MAX_OPENS,
    OPENER_SHARE,
    REPEAT_CLICK_CHANCE,
    REPEAT_OPEN_CHANCE,
    SEND_RATE_PER_S,
    SOFT_BOUNCE_RETRY_SHARE,
    SOFT_BOUNCE_SHARE,
    UNSUBSCRIBE_SHARE,
    GenerateOptions,
)
from mailexports_dev.generate.timefmt import iso_ms
from mailexports_dev.generate.vocabulary import DEVICES, IP_PREFIXES

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

# The user agents already as JSON strings, for the hand-built event lines.
_OPEN_AGENTS_JSON = tuple(to_json(opener) for opener, _ in DEVICES)
_CLICK_AGENTS_JSON = tuple(to_json(clicker) for _, clicker in DEVICES)
# One event of a recipient: (at_ms, type, the JSON members after "at", each with a leading comma).
Event = tuple[int, str, str]
_at = itemgetter(0)


class SendEvents:
    """The message and event lines of every send of one seed."""

    def __init__(self, options: GenerateOptions, contacts: Contacts, plan: CampaignPlan) -> None:
        self.options = options
        self._contacts = contacts
        self._plan = plan
        self._device_key = key(options.seed, "device")

    def lines(self) -> Iterator[str]:
        for s in range(self.options.sends):
            yield from self.send_lines(s)

    def send_lines(self, s: int) -> Iterator[str]:
        """One send's message and event lines, recipients in contact order."""
        contacts = self._contacts
        campaign = self._plan.campaign_of(s)
        stat_id = self._plan.stat_id(s)
        send_ms = self._plan.send_ms(s)
        segment = campaign.audience_segment
        links_json = tuple(to_json(link) for link in campaign.links)
        rng = random.Random(key(self.options.seed, f"send:{s}"))
        position = 0
        for i in range(self.options.contacts):
            if contacts.status(i) != _ACTIVE or (segment is not None and not contacts.in_segment(i, segment)):
                continue
            person = contacts.person(i)
            sent_ms = send_ms + position * 1000 // SEND_RATE_PER_S + int(rng.random() * 20)
            position += 1
            contact_id, email = person.contact_id, person.email
            yield (
                f'{{"kind":"message","message_id":"m-{stat_id}-{contact_id}","stat_id":"{stat_id}",'
                f'"contact_id":"{contact_id}","email":"{email}","sent_at":"{iso_ms(sent_ms)}",'
                f'"mime":{to_json(mime(person, campaign, stat_id, sent_ms))}}}'
            )
            event_id = f'{{"kind":"event","event_id":"e-{stat_id}-{contact_id}-'
            who = f'"stat_id":"{stat_id}","contact_id":"{contact_id}","email":"{email}","at":"'
            events = self._recipient_events(rng, i, sent_ms, links_json)
            for n, (at_ms, kind, extra) in enumerate(events, start=1):
                yield f'{event_id}{n}","type":"{kind}",{who}{iso_ms(at_ms)}"{extra}}}'

    def _recipient_events(
        self, rng: random.Random, i: int, sent_ms: int, links_json: tuple[str, ...]
    ) -> list[Event]:
        """One recipient's events in time order; draws from the send's `rng`."""
        events: list[Event] = [(sent_ms, _SEND, "")]
        outcome = rng.random()
        delivered_ms: int | None = None
        if outcome < DELIVERED_SHARE:
            delivered_ms = sent_ms + 300 + exp_ms(rng, 1.5)
        elif outcome < DELIVERED_SHARE + SOFT_BOUNCE_SHARE:
            bounced_ms = sent_ms + 1000 + exp_ms(rng, 30)
            events.append((bounced_ms, _SOFT_BOUNCE, ""))
            if rng.random() < SOFT_BOUNCE_RETRY_SHARE:
                delivered_ms = bounced_ms + 900_000 + exp_ms(rng, 2700)
        elif outcome < DELIVERED_SHARE + SOFT_BOUNCE_SHARE + HARD_BOUNCE_SHARE:
            events.append((sent_ms + 500 + exp_ms(rng, 3), _HARD_BOUNCE, ""))
        else:
            events.append((sent_ms + int(rng.random() * 200), _REJECT, ""))
        if delivered_ms is None:
            return events
        events.append((delivered_ms, _DELIVERY, ""))

        open_times: list[int] = []
        if rng.random() < OPENER_SHARE:
            latest_ms = delivered_ms + MAX_ENGAGEMENT_DELAY_S * 1000
            at_ms = delivered_ms
            for _ in range(geometric(rng, REPEAT_OPEN_CHANCE, MAX_OPENS)):
                at_ms = min(at_ms + 1000 + engagement_delay_ms(rng), latest_ms)
                ip, device = self._device(rng, i)
                events.append((at_ms, _OPEN, f',"ip":"{ip}","user_agent":{_OPEN_AGENTS_JSON[device]}'))
                open_times.append(at_ms)
            if rng.random() < CLICKER_SHARE:
                for _ in range(geometric(rng, REPEAT_CLICK_CHANCE, MAX_CLICKS)):
                    opened_ms = open_times[int(rng.random() * len(open_times))]
                    at_ms = opened_ms + 2000 + exp_ms(rng, CLICK_AFTER_OPEN_MEAN_S)
                    ip, device = self._device(rng, i)
                    url = pick_link(links_json, rng.random())
                    agent = _CLICK_AGENTS_JSON[device]
                    events.append((at_ms, _CLICK, f',"ip":"{ip}","user_agent":{agent},"url":{url}'))

        reaction = rng.random()
        if reaction < COMPLAINT_SHARE + UNSUBSCRIBE_SHARE:
            # People react after reading when they read at all, else from the inbox list.
            after_ms = open_times[0] if open_times else delivered_ms
            kind = _COMPLAINT if reaction < COMPLAINT_SHARE else _UNSUBSCRIBE
            events.append((after_ms + 5000 + exp_ms(rng, 600), kind, ""))

        events.sort(key=_at)
        return events

    def _device(self, rng: random.Random, i: int) -> tuple[str, int]:
        """Address and device (an index into DEVICES) of one open or click: usually the contact's own."""
        home = rng.random() < HOME_DEVICE_SHARE
        h = mix64(self._device_key ^ i) if home else rng.getrandbits(64)
        ip = f"{IP_PREFIXES[h % len(IP_PREFIXES)]}.{1 + (h >> 8) % 254}"
        return ip, (h >> 16) % len(DEVICES)

    # -- surveys
