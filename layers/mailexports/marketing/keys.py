"""Key layout of the marketing-data table (docs/data-model.md explains each choice).

Every key starts with the tenant, so no query can cross tenants. A send's events,
a campaign's recipients and a segment's members are spread over `SHARDS`
partitions by a hash of the contact id: a million-recipient send writes to many
partitions at once and readers query the shards in parallel.

| item             | pk                                 | sk                          | index keys         |
|------------------|------------------------------------|-----------------------------|--------------------|
| field            | T#{t}#FIELDS                       | F#{field_id}                |                    |
| tag              | T#{t}#TAGS                         | TAG#{tag}                   |                    |
| contact          | T#{t}#C#{contact_id}               | PROFILE                     |                    |
| segment member   | T#{t}#SEG#{segment}#{shard}        | C#{contact_id}              |                    |
| campaign         | T#{t}#CAMP#{campaign_id}           | META                        |                    |
| send by campaign | T#{t}#CAMP#{campaign_id}           | SEND#{stat_id}              |                    |
| send by stat     | T#{t}#STAT#{stat_id}               | META                        |                    |
| open or click    | T#{t}#STAT#{stat_id}#{shard}       | C#{contact_id}#{at}#{id}    | gsi1, gsi2, gsi4(*)|
| other event      | T#{t}#STAT#{stat_id}#D#{shard}     | C#{contact_id}#{at}#{id}    |                    |
| recipient status | T#{t}#CAMP#{campaign_id}#R#{shard} | C#{contact_id}              | gsi3, gsi4 (**)    |
| message          | T#{t}#MSG#{message_id}             | MSG                         | gsi2 (email)       |
| survey response  | T#{t}#SURVEY#{response_id}         | RESPONSE                    | gsi2 (email)       |

(*) gsi1 = the campaign's activity by time, gsi2 = by email,
gsi4 = the send's activity by arrival (same partition key as the event, shard included).
(**) gsi3 = by changed_at, gsi4 = by arrival (the recipient's status change reaching us).
"""

from __future__ import annotations

import zlib
from datetime import datetime

from mailexports.marketing.vocabulary import iso_ms

# Partitions per send, campaign-recipient set and segment. Changing it needs a re-import.
# 32: a 100 GB export is read by 32 slices, at 32 partitions' read limit (bench_scale).
SHARDS = 32

# A character sorting after "#", so `C#{id}$` is past every sort key of contact `id`.
AFTER = "$"


def shard_of(contact_id: str) -> int:
    return zlib.crc32(contact_id.encode()) % SHARDS


def tenant(tenant_id: str) -> str:
    return f"T#{tenant_id}"


# ---- partition keys
def fields_pk(tenant_id: str) -> str:
    return f"{tenant(tenant_id)}#FIELDS"


def tags_pk(tenant_id: str) -> str:
    return f"{tenant(tenant_id)}#TAGS"


def contact_pk(tenant_id: str, contact_id: str) -> str:
    return f"{tenant(tenant_id)}#C#{contact_id}"


def segment_pk(tenant_id: str, segment_id: str, shard: int) -> str:
    return f"{tenant(tenant_id)}#SEG#{segment_id}#{shard}"


def campaign_pk(tenant_id: str, campaign_id: str) -> str:
    return f"{tenant(tenant_id)}#CAMP#{campaign_id}"


def stat_pk(tenant_id: str, stat_id: str) -> str:
    return f"{tenant(tenant_id)}#STAT#{stat_id}"


def activity_events_pk(tenant_id: str, stat_id: str, shard: int) -> str:
    """A send's opens and clicks: what `campaign_activity` reads, and nothing else."""
    return f"{stat_pk(tenant_id, stat_id)}#{shard}"


def delivery_events_pk(tenant_id: str, stat_id: str, shard: int) -> str:
    """A send's other events (send, delivery, bounces, complaint, unsubscribe, reject): kept
    apart so an activity read does not read, and pay for, two or more of them per recipient."""
    return f"{stat_pk(tenant_id, stat_id)}#D#{shard}"


def recipients_pk(tenant_id: str, campaign_id: str, shard: int) -> str:
    return f"{campaign_pk(tenant_id, campaign_id)}#R#{shard}"


def message_pk(tenant_id: str, message_id: str) -> str:
    return f"{tenant(tenant_id)}#MSG#{message_id}"


def survey_pk(tenant_id: str, response_id: str) -> str:
    return f"{tenant(tenant_id)}#SURVEY#{response_id}"


# ---- sort keys
PROFILE = "PROFILE"
META = "META"


def field_sk(field_id: str) -> str:
    return f"F#{field_id}"


def tag_sk(tag: str) -> str:
    return f"TAG#{tag}"


def send_sk(stat_id: str) -> str:
    return f"SEND#{stat_id}"


def member_sk(contact_id: str) -> str:
    return f"C#{contact_id}"


def event_sk(contact_id: str, at: datetime, event_id: str) -> str:
    return f"C#{contact_id}#{iso_ms(at)}#{event_id}"


def after_contact(contact_id: str) -> str:
    """A sort key past every event of `contact_id` (`C#{id}#...`), to resume after it.

    Not for segment members (`C#{id}` alone): there `sk > C#{id}` is the bound."""
    return f"C#{contact_id}{AFTER}"


# ---- index keys
def tracking_gsi1pk(tenant_id: str, campaign_id: str, activity: str, shard: int) -> str:
    """A campaign's opens (or clicks), one shard: the listing reads them newest first."""
    return f"{campaign_pk(tenant_id, campaign_id)}#{activity}#{shard}"


def tracking_gsi1sk(at: datetime, event_id: str) -> str:
    return f"{iso_ms(at)}#{event_id}"


def email_gsi2pk(tenant_id: str, email: str) -> str:
    return f"{tenant(tenant_id)}#E#{email.lower()}"


def email_gsi2sk(kind: str, at: datetime, item_id: str) -> str:
    """`kind` is MSG, OPEN, CLICK or SURVEY: one query per kind, each in time order."""
    return f"{kind}#{iso_ms(at)}#{item_id}"


def status_gsi3sk(changed_at: datetime, contact_id: str) -> str:
    return f"{iso_ms(changed_at)}#{contact_id}"


def arrival_gsi4sk(arrived_at: str, *ids: str) -> str:
    """`{arrived_at}#{id}#...`: a range `BETWEEN {from} AND {until}` holds exactly the items that
    arrived in [from, until), because `{until}` sorts before every `{until}#...`."""
    return "#".join((arrived_at, *ids))
