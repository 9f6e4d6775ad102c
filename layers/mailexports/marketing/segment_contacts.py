"""Access pattern `segment_contacts` (the contacts in any of some segments) and the
existence check of a segment."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Generator, Iterable, Sequence
from operator import attrgetter, itemgetter
from typing import Any, Final, NamedTuple

from mailexports.errors import ValidationFailed
from mailexports.marketing import arguments, codec, keys
from mailexports.marketing.codec import WireItem
from mailexports.marketing.profiles import with_profiles
from mailexports.marketing.shards import ShardReader, with_pk
from mailexports.marketing.views import ContactView
from mailexports.marketing.vocabulary import ContactStatus
from mailexports.observability import logger

_MEMBERS_BUFFERED: Final = 32_000  # segment members per page, summed over the partitions read
_MIN_MEMBER_PAGE: Final = 100
_PROFILE = ("contact_id", "email", "status", "created_at", "custom_fields", "tags", "segments")


class _MemberRow(NamedTuple):
    sk: str
    contact_id: str


def _member_row(item: WireItem) -> _MemberRow:
    return _MemberRow(codec.required(item, "sk"), codec.required(item, "contact_id"))


def contact_view(item: WireItem) -> ContactView:
    return ContactView(
        contact_id=codec.required(item, "contact_id"),
        email=codec.required(item, "email"),
        status=codec.string(item, "status") or ContactStatus.ACTIVE.value,
        created_at=codec.string(item, "created_at"),
        custom_fields=codec.plain_attr(item, "custom_fields", {}),
        tags=codec.plain_attr(item, "tags", []),
        segments=codec.plain_attr(item, "segments", []),
    )


def segment_exists(reader: ShardReader, segment_id: str) -> bool:
    """True when the segment has at least one member (a segment is its members)."""
    arguments.identifier(segment_id, "segment_id")
    with reader.workers() as pool:
        probes = [
            pool.submit(
                reader.query,
                {
                    "KeyConditionExpression": "pk = :pk",
                    "ExpressionAttributeValues": {
                        ":pk": {"S": keys.segment_pk(reader.tenant, segment_id, shard)}
                    },
                    "ProjectionExpression": "pk",
                    "Limit": 1,
                },
                None,
            )
            for shard in range(keys.SHARDS)
        ]
        return any(future.result()[0] for future in probes)


def segment_contacts(
    reader: ShardReader,
    segment_ids: Iterable[str],
    *,
    status: str | None = None,
    after_contact: str | None = None,
    shards: Sequence[int] | None = None,
) -> Generator[ContactView]:
    """The contacts in ANY of `segment_ids`, each once, in member sort-key order
    (`C#{contact_id}`: by contact id), optionally only those with `status`
    (None or "any" = all). Pass the last contact written as `after_contact` to resume.

    Members are read from every (segment, shard) partition in parallel and merged;
    a contact in several segments meets itself in the merge and is kept once. The
    profiles come by BatchGetItem, a few batches ahead of the consumer. The status
    lives on the profile, so it is filtered here, after the read. A member whose
    profile no longer lists any of the segments (a stale member item) is left out:
    the profile is the truth about membership. `shards`: only those (a fan-out slice;
    a contact's memberships all live in its one shard, so it is still kept once).
    """
    partitions = arguments.shards(shards)
    wanted = list(dict.fromkeys(arguments.identifier(s, "segment_ids") for s in segment_ids))
    if not wanted:
        raise ValidationFailed(
            "segment_ids needs at least one segment", [{"field": "segment_ids", "issue": "empty"}]
        )
    if status in (None, "any"):
        only: str | None = None
    elif status in {s.value for s in ContactStatus}:
        only = status
    else:
        raise ValidationFailed(
            f"status must be any, {', '.join(s.value for s in ContactStatus)}; not {status!r}",
            [{"field": "status", "issue": "unknown status"}],
        )
    values: dict[str, Any] = {}
    key_condition = "pk = :pk"
    if after_contact is not None:
        # Members are `C#{id}` exactly, so "after c" is `sk > C#{c}` (`C#{c}$` would skip `C#{c}!`).
        values[":after"] = {"S": keys.member_sk(arguments.identifier(after_contact, "after_contact"))}
        key_condition += " AND sk > :after"
    projection, names = codec.projection("sk", "contact_id")
    # Many segments mean many partitions, each holding up to two pages: smaller pages
    # keep the members buffered about the same whatever the number of segments.
    read = len(wanted) * keys.SHARDS  # a slice keeps the full-read page size: the same pages
    request = {
        "KeyConditionExpression": key_condition,
        "ProjectionExpression": projection,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "Limit": reader.page_size or max(_MIN_MEMBER_PAGE, _MEMBERS_BUFFERED // read),
    }
    return _segment_contacts(reader, wanted, only, request, partitions)


def _segment_contacts(
    reader: ShardReader,
    segment_ids: list[str],
    status: str | None,
    request: dict[str, Any],
    shards: Sequence[int],
) -> Generator[ContactView]:
    wanted = set(segment_ids)
    with reader.workers() as pool:
        partitions = [
            reader.rows(pool, with_pk(request, keys.segment_pk(reader.tenant, segment, shard)), _member_row)
            for segment in segment_ids
            for shard in shards
        ]
        merged = heapq.merge(*partitions, key=itemgetter(0))
        contacts = (contact_id for contact_id, _ in itertools.groupby(merged, key=attrgetter("contact_id")))
        for contact_id, profile in with_profiles(reader, pool, contacts, lambda c: c, _PROFILE):
            if profile is None:
                logger.warning("segment member without a profile", extra={"contact_id": contact_id})
                continue
            view = contact_view(profile)
            if status is not None and view.status != status:
                continue
            if "segments" in profile and not wanted.intersection(view.segments):
                continue
            yield view
