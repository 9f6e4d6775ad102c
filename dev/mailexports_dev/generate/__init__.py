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

The modules, by job: `model` (options, rates, sizing), `vocabulary`, `draws`
(hashing and random delays), `timefmt`, `contacts`, `campaigns` (and the message
each recipient got), `events` (a send's message and event lines), `surveys`,
`stream` (the order of the lines, and writing them) and `command` (the CLI).
"""

from __future__ import annotations

from mailexports_dev.generate.model import (
    ACTIVE_SHARE,
    DEFAULT_START,
    DELIVERED_SHARE,
    HARD_BOUNCE_SHARE,
    SOFT_BOUNCE_RETRY_SHARE,
    SOFT_BOUNCE_SHARE,
    STATUS_SHARES,
    GenerateOptions,
    expected_events_per_recipient,
    options_for_send_events,
)
from mailexports_dev.generate.stream import generate_lines, write_dataset

__all__ = [
    "ACTIVE_SHARE",
    "DEFAULT_START",
    "DELIVERED_SHARE",
    "HARD_BOUNCE_SHARE",
    "SOFT_BOUNCE_RETRY_SHARE",
    "SOFT_BOUNCE_SHARE",
    "STATUS_SHARES",
    "GenerateOptions",
    "expected_events_per_recipient",
    "generate_lines",
    "options_for_send_events",
    "write_dataset",
]
