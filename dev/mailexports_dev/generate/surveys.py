"""`survey_response` lines: a share of contacts answer each survey within a window after --start."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from mailexports_dev.generate.contacts import Contacts
from mailexports_dev.generate.draws import key, mix64, threshold, to_json
from mailexports_dev.generate.model import SURVEY_SHARES, SURVEY_WINDOW_DAYS, GenerateOptions
from mailexports_dev.generate.timefmt import DAY_MS, epoch_ms, iso_ms


def survey_lines(options: GenerateOptions, contacts: Contacts) -> Iterator[str]:
    start_ms = epoch_ms(options.start)
    window_ms = SURVEY_WINDOW_DAYS * DAY_MS
    for n, (survey_id, share) in enumerate(SURVEY_SHARES.items()):
        survey_key = key(options.seed, f"survey:{survey_id}")
        limit = threshold(share)
        for i in range(options.contacts):
            h = mix64(survey_key ^ i)
            if h >= limit:
                continue
            person = contacts.person(i)
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
            yield to_json(
                {
                    "kind": "survey_response",
                    "response_id": f"r-{survey_id}-{person.contact_id}",
                    "survey_id": survey_id,
                    "email": person.email,
                    "at": iso_ms(start_ms + int(rng.random() * window_ms)),
                    "answers": answers,
                }
            )
