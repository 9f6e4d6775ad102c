"""Contacts: who they are (a pure function of the index) and their import lines.

A contact's identity (name, email, status, segments) is a hash of its index, so a
send re-derives its recipients instead of storing them; profile details only the
contact line needs (custom fields, tags, sign-up time) come from one seeded
`random.Random` walking the contacts in order.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import NamedTuple

from mailexports_dev.generate.draws import key, mix64, threshold, to_json
from mailexports_dev.generate.model import (
    NO_LAST_NAME_SHARE,
    NO_LOCATION_SHARE,
    PLAN_SHARES,
    SEGMENT_SHARES,
    SIGNUP_WINDOW_DAYS,
    STATUS_SHARES,
    TAG_SHARES,
    GenerateOptions,
)
from mailexports_dev.generate.timefmt import DAY_MS, epoch_ms, iso_ms
from mailexports_dev.generate.vocabulary import (
    EMAIL_DOMAINS,
    EMAIL_STYLES,
    FIELD_NAMES,
    FIRST_NAMES,
    LAST_NAMES,
    LOCATIONS,
)


class Name(NamedTuple):
    display: str  # as the contact wrote it: custom fields, message body
    ascii: str  # for mail headers
    slug: str  # for email addresses


def _names(pairs: tuple[tuple[str, str], ...]) -> tuple[Name, ...]:
    return tuple(
        Name(display, ascii, "".join(c for c in ascii.lower() if c.isalnum())) for display, ascii in pairs
    )


_FIRST = _names(FIRST_NAMES)
_LAST = _names(LAST_NAMES)


class Person(NamedTuple):
    """What a send needs of a contact; a pure function of the contact's index."""

    contact_id: str
    email: str  # lowercase ASCII letters, digits and `._@-`: safe inside a JSON string as is
    first: Name
    last: Name


def field_and_tag_lines() -> Iterator[str]:
    """The custom field definitions and the tags, which precede the contacts."""
    for n, name in enumerate(FIELD_NAMES, start=1):
        yield to_json({"kind": "field", "field_id": str(n), "name": name})
    for tag in TAG_SHARES:
        yield to_json({"kind": "tag", "tag": tag})


class Contacts:
    """Contacts `1..N` of one seed: identity by index, and their `contact` lines in order."""

    def __init__(self, options: GenerateOptions) -> None:
        self.options = options
        seed = options.seed
        self._status_key = key(seed, "status")
        self._person_key = key(seed, "person")
        self._segment_keys = [key(seed, f"segment:{j}") for j in range(options.segments)]
        self._segment_thresholds = [
            threshold(SEGMENT_SHARES[j % len(SEGMENT_SHARES)]) for j in range(options.segments)
        ]
        self._status_thresholds: list[tuple[int, str]] = []
        cumulative = 0.0
        for status, share in STATUS_SHARES:
            cumulative += share
            self._status_thresholds.append((threshold(cumulative), status.value))
        self._start_ms = epoch_ms(options.start)

    def status(self, i: int) -> str:
        draw = mix64(self._status_key ^ i)
        for limit, status in self._status_thresholds:
            if draw < limit:
                return status
        return self._status_thresholds[-1][1]

    def person(self, i: int) -> Person:
        # One hash, sliced: first name, last name, domain, email style.
        h = mix64(self._person_key ^ i)
        first = _FIRST[(h & 0xFFFF) % len(_FIRST)]
        last = _LAST[(h >> 16 & 0xFFFF) % len(_LAST)]
        domain = EMAIL_DOMAINS[(h >> 32 & 0xFFFF) % len(EMAIL_DOMAINS)]
        style = EMAIL_STYLES[(h >> 48) % len(EMAIL_STYLES)]
        contact_id = str(i + 1)
        return Person(contact_id, f"{style(first.slug, last.slug)}.{contact_id}@{domain}", first, last)

    def in_segment(self, i: int, j: int) -> bool:
        return mix64(self._segment_keys[j] ^ i) < self._segment_thresholds[j]

    def lines(self) -> Iterator[str]:
        # Profile details nobody else needs come from one stream; identities are per index.
        profiles = random.Random(key(self.options.seed, "profiles"))
        for i in range(self.options.contacts):
            yield self._contact_line(i, profiles)

    def _contact_line(self, i: int, rng: random.Random) -> str:
        person = self.person(i)
        # Ids grow with sign-up time, as in a real database.
        window_ms = SIGNUP_WINDOW_DAYS * DAY_MS
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
        segments = [f"seg-{j + 1}" for j in range(self.options.segments) if self.in_segment(i, j)]
        return to_json(
            {
                "kind": "contact",
                "contact_id": person.contact_id,
                "email": person.email,
                "status": self.status(i),
                "created_at": iso_ms(created_ms),
                "custom_fields": custom_fields,
                "tags": tags,
                "segments": segments,
            }
        )
