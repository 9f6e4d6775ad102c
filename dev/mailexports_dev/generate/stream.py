"""The dataset as a stream of lines, in the import format's order, and writing it out.

Nothing is held per contact or per event, so memory stays flat from a handful of
contacts to millions.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TextIO

from mailexports_dev.generate.campaigns import CampaignPlan
from mailexports_dev.generate.contacts import Contacts, field_and_tag_lines
from mailexports_dev.generate.events import SendEvents
from mailexports_dev.generate.model import GenerateOptions
from mailexports_dev.generate.surveys import survey_lines

DEFAULT_OPTIONS = GenerateOptions()


def generate_lines(options: GenerateOptions = DEFAULT_OPTIONS) -> Iterator[str]:
    """The dataset, lazily, one JSON document per item (no trailing newline)."""
    contacts = Contacts(options)
    plan = CampaignPlan(options)
    yield from field_and_tag_lines()
    yield from contacts.lines()
    yield from plan.lines()
    yield from SendEvents(options, contacts, plan).lines()
    yield from survey_lines(options, contacts)


def write_dataset(options: GenerateOptions, out: TextIO) -> int:
    """Write the dataset to `out`, one line each; returns the number of lines."""
    count = 0
    for chunk in itertools.batched(generate_lines(options), 2048, strict=False):
        out.write("\n".join(chunk))
        out.write("\n")
        count += len(chunk)
    return count
