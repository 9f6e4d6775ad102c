"""Reads a tenant's marketing data for the exports and the listings: by Query, never Scan.

Every access pattern of DESIGN.md reads only keys that start with the tenant
(keys.py), so one tenant can never see another's data.

Sharded partitions (a send's events, a campaign's recipients, a segment's
members) are read in parallel, one thread per partition, page by page: each
partition keeps the page being consumed plus at most one page being fetched,
so memory is bounded by partitions x 2 pages whatever the export's size. The
partitions are merged (heapq.merge) on the very sort key DynamoDB orders them
by, so the output order is deterministic and a cursor taken from it resumes
exactly where an uninterrupted read would have gone on.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import itertools
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from mailexports import aws
from mailexports.config import get_settings
from mailexports.errors import ValidationFailed
from mailexports.marketing import keys
from mailexports.marketing.records import ContactStatus, EventType, iso_ms
from mailexports.marketing.views import (
    Campaign,
    Click,
    ContactActivity,
    ContactData,
    ContactView,
    EmailEvent,
    Message,
    Open,
    RecipientStatus,
    Send,
    SurveyResponse,
    TrackingEvent,
    TrackingPage,
)
from mailexports.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = Mapping[str, Any]  # one item as the low-level client returns it ({"attr": {"S": ...}})
Page = tuple[list[Any], dict[str, Any] | None]  # converted rows, LastEvaluatedKey

ENGAGEMENT: Final = frozenset({EventType.OPEN.value, EventType.CLICK.value})
TRACKING_MAX_LIMIT: Final = 500
BATCH_GET_KEYS: Final = 100  # BatchGetItem's per-request maximum
_BATCHES_IN_FLIGHT: Final = 4  # profile batches fetched ahead of the consumer
_MIMES_IN_FLIGHT: Final = 8  # S3 bodies fetched ahead of the consumer
_BATCH_ATTEMPTS: Final = 10
_MEMBERS_BUFFERED: Final = 32_000  # segment members per page, summed over the partitions read
_MIN_MEMBER_PAGE: Final = 100
_CURSOR_KEY = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z#.+", re.DOTALL)


class ReadIncomplete(RuntimeError):
    """DynamoDB kept some keys unprocessed after every retry (sustained throttling)."""


class _EventRow(NamedTuple):
    sk: str
    contact_id: str
    email: str
    type: str
    at: str
    ip: str | None
    user_agent: str | None
    url: str | None


class _MemberRow(NamedTuple):
    sk: str
    contact_id: str


class _RecipientRow(NamedTuple):
    gsi3sk: str
    contact_id: str
    email: str
    status: str
    changed_at: str


class _TrackingRow(NamedTuple):
    gsi1sk: str
    event: TrackingEvent


class _MessageRow(NamedTuple):
    message: dict[str, str]
    mime: str | None
    mime_s3_key: str | None


# ---------------------------------------------------------------- attribute values
def _s(item: Item, name: str) -> str | None:
    value = item.get(name)
    return value.get("S") if value else None


def _req(item: Item, name: str) -> str:
    value = _s(item, name)
    if value is None:
        raise ValueError(f"marketing item {_s(item, 'pk')}/{_s(item, 'sk')} lacks {name!r}")
    return value


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def _plain(value: Mapping[str, Any]) -> Any:
    """A DynamoDB attribute value as plain JSON-ready Python (numbers as int/float, not Decimal)."""
    kind, raw = next(iter(value.items()))
    match kind:
        case "S" | "BOOL":
            return raw
        case "N":
            return _number(raw)
        case "M":
            return {name: _plain(v) for name, v in raw.items()}
        case "L":
            return [_plain(v) for v in raw]
        case "NULL":
            return None
        case "SS":
            return sorted(raw)
        case "NS":
            return sorted(_number(v) for v in raw)
        case "B":
            return base64.b64encode(raw).decode()
        case _:
            raise ValueError(f"unsupported attribute type {kind}")


def _plain_attr(item: Item, name: str, default: Any) -> Any:
    value = item.get(name)
    return default if value is None else _plain(value)


def _names(*attributes: str) -> tuple[str, dict[str, str]]:
    """A ProjectionExpression over `attributes`, every name aliased (reserved words are many)."""
    aliases = {f"#{name}": name for name in attributes}
    return ", ".join(aliases), aliases


# ---------------------------------------------------------------- input checks
def _utc(value: datetime | None, field: str) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValidationFailed(
            f"{field} must carry a time zone", [{"field": field, "issue": "naive datetime"}]
        )
    return iso_ms(value)


def _id(value: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(f"{field} is required", [{"field": field, "issue": "empty"}])
    return value


def _activity(value: str) -> str:
    if value not in ENGAGEMENT:
        raise ValidationFailed(
            f"activity must be 'open' or 'click', not {value!r}",
            [{"field": "activity", "issue": "unknown activity"}],
        )
    return str(value)


def encode_cursor(gsi1sk: str) -> str:
    return base64.urlsafe_b64encode(gsi1sk.encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> str:
    """The gsi1sk a tracking cursor stands for; anything else is the caller's mistake."""
    problem = ValidationFailed(
        "cursor is not a cursor this listing returned",
        [{"field": "cursor", "issue": "invalid cursor"}],
    )
    if not isinstance(cursor, str) or not 0 < len(cursor) <= 2048:
        raise problem
    try:
        text = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, ValueError):
        raise problem from None
    if not _CURSOR_KEY.fullmatch(text):
        raise problem
    return text


def _batched(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


# ---------------------------------------------------------------- the reader
class MarketingReader:
    """One tenant's marketing data, read for exports and listings.

    `query_count` counts every DynamoDB request made (Query, GetItem and
    BatchGetItem, retries included); the benchmark reports it.
    """

    def __init__(
        self,
        tenant_id: str,
        *,
        table_name: str | None = None,
        data_bucket: str | None = None,
        max_workers: int = 16,
        page_size: int | None = None,
    ) -> None:
        """`page_size` caps the items a Query evaluates (its `Limit`); None lets DynamoDB's
        1 MB page decide. Lower it to bound a worker's memory more tightly."""
        self._tenant = _id(tenant_id, "tenant_id")
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        if page_size is not None and page_size < 1:
            raise ValueError("page_size must be at least 1")
        self._table = table_name or get_settings().marketing_table
        self._data_bucket = data_bucket
        self._max_workers = max_workers
        self._page_size = page_size
        self._db: DynamoDBClient = aws.dynamodb()
        self._lock = threading.Lock()
        self._requests = 0

    @property
    def query_count(self) -> int:
        return self._requests

    # ---------------------------------------------------------------- single items
    def send(self, stat_id: str) -> Send | None:
        item = self._get(keys.stat_pk(self._tenant, _id(stat_id, "stat_id")), keys.META)
        if item is None:
            return None
        return Send(
            stat_id=_req(item, "stat_id"),
            campaign_id=_req(item, "campaign_id"),
            sent_at=_req(item, "sent_at"),
        )

    def campaign(self, campaign_id: str) -> Campaign | None:
        item = self._get(keys.campaign_pk(self._tenant, _id(campaign_id, "campaign_id")), keys.META)
        if item is None:
            return None
        return Campaign(
            campaign_id=_req(item, "campaign_id"),
            name=_s(item, "name") or "",
            subject=_s(item, "subject") or "",
        )

    def segment_exists(self, segment_id: str) -> bool:
        """True when the segment has at least one member (a segment is its members)."""
        _id(segment_id, "segment_id")
        with self._workers() as pool:
            probes = [
                pool.submit(
                    self._query,
                    {
                        "KeyConditionExpression": "pk = :pk",
                        "ExpressionAttributeValues": {
                            ":pk": {"S": keys.segment_pk(self._tenant, segment_id, shard)}
                        },
                        "ProjectionExpression": "pk",
                        "Limit": 1,
                    },
                    None,
                )
                for shard in range(keys.SHARDS)
            ]
            return any(future.result()[0] for future in probes)

    def fields(self) -> dict[str, str]:
        """The tenant's custom fields, field_id -> name."""
        request = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": keys.fields_pk(self._tenant)}},
        }
        found: dict[str, str] = {}
        start: dict[str, Any] | None = None
        while True:
            items, start = self._query(request, start)
            found.update((_req(i, "field_id"), _req(i, "name")) for i in items)
            if start is None:
                return found

    # ---------------------------------------------------------------- campaign_activity
    def campaign_activity(
        self,
        stat_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        events: Collection[str] = ENGAGEMENT,
        after_contact: str | None = None,
    ) -> Generator[ContactActivity]:
        """One record per contact with opens/clicks of send `stat_id` in `[start, end)`.

        Contacts come in the events' sort-key order, by `{contact_id}#` (which is the
        contact ids' order, except that an id sorts after its extensions by characters
        below "#": "5!" before "5"); each contact's opens and clicks in time order. Pass the last
        contact written as `after_contact` to resume: the stream continues exactly
        where the uninterrupted one would have.

        Why the events' own partitions and not an index by time: the record is per
        contact, and the events partitions are sorted by contact, so each contact's
        activity arrives together and is emitted as soon as it is complete, with
        nothing held back. Reading an index by time would need every contact of the
        window in memory (or a second pass) before the first record could be written.
        The price is that the window and the type are a FilterExpression: DynamoDB
        reads, and bills, the send's other events too (sends, deliveries, bounces and
        the activity outside the window), but it does not return them. An export
        reads a send once, so that read is cheaper than maintaining and storing
        another index on every event. The window is compared at millisecond
        precision, the store's.
        """
        _id(stat_id, "stat_id")
        low, high = _utc(start, "start"), _utc(end, "end")
        if low is not None and high is not None and high < low:
            raise ValidationFailed(
                "end must not be before start", [{"field": "end", "issue": "before start"}]
            )
        wanted = {str(e) for e in events}
        if not wanted or not wanted <= ENGAGEMENT:
            raise ValidationFailed(
                "events must be a non-empty subset of open, click",
                [{"field": "events", "issue": f"got {sorted(wanted)}"}],
            )
        projection, names = _names("sk", "contact_id", "email", "type", "at", "ip", "user_agent", "url")
        values: dict[str, Any] = {}
        conditions = []
        for index, kind in enumerate(sorted(wanted)):
            values[f":type{index}"] = {"S": kind}
        conditions.append(f"#type IN ({', '.join(f':type{i}' for i in range(len(wanted)))})")
        if low is not None:
            values[":start"] = {"S": low}
            conditions.append("#at >= :start")
        if high is not None:
            values[":end"] = {"S": high}
            conditions.append("#at < :end")
        key_condition = "pk = :pk"
        if after_contact is not None:
            values[":after"] = {"S": keys.after_contact(_id(after_contact, "after_contact"))}
            key_condition += " AND sk > :after"
        request = {
            "KeyConditionExpression": key_condition,
            "FilterExpression": " AND ".join(conditions),
            "ProjectionExpression": projection,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        return self._campaign_activity(stat_id, request)

    def _campaign_activity(self, stat_id: str, request: dict[str, Any]) -> Generator[ContactActivity]:
        with self._workers() as pool:
            shards = [
                self._rows(pool, _with_pk(request, keys.events_pk(self._tenant, stat_id, shard)), _event_row)
                for shard in range(keys.SHARDS)
            ]
            merged = heapq.merge(*shards, key=itemgetter(0))
            for contact_id, rows in itertools.groupby(merged, key=attrgetter("contact_id")):
                opens: list[Open] = []
                clicks: list[Click] = []
                email = ""
                for row in rows:
                    email = row.email
                    if row.type == EventType.OPEN:
                        opens.append(Open(at=row.at, ip=row.ip, user_agent=row.user_agent))
                    else:
                        clicks.append(Click(at=row.at, url=row.url, ip=row.ip, user_agent=row.user_agent))
                yield ContactActivity(contact_id=contact_id, email=email, opens=opens, clicks=clicks)

    # ---------------------------------------------------------------- segment_contacts
    def segment_contacts(
        self,
        segment_ids: Iterable[str],
        *,
        status: str | None = None,
        after_contact: str | None = None,
    ) -> Generator[ContactView]:
        """The contacts in ANY of `segment_ids`, each once, in member sort-key order
        (`C#{contact_id}`: by contact id), optionally only those with `status`
        (None or "any" = all). Pass the last contact written as `after_contact` to resume.

        Members are read from every (segment, shard) partition in parallel and merged;
        a contact in several segments meets itself in the merge and is kept once. The
        profiles come by BatchGetItem, a few batches ahead of the consumer. The status
        lives on the profile, so it is filtered here, after the read. A member whose
        profile no longer lists any of the segments (a stale member item) is left out:
        the profile is the truth about membership.
        """
        wanted = list(dict.fromkeys(_id(s, "segment_ids") for s in segment_ids))
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
            values[":after"] = {"S": keys.member_sk(_id(after_contact, "after_contact"))}
            key_condition += " AND sk > :after"
        projection, names = _names("sk", "contact_id")
        # Many segments mean many partitions, each holding up to two pages: smaller pages
        # keep the members buffered about the same whatever the number of segments.
        partitions = len(wanted) * keys.SHARDS
        request = {
            "KeyConditionExpression": key_condition,
            "ProjectionExpression": projection,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "Limit": self._page_size or max(_MIN_MEMBER_PAGE, _MEMBERS_BUFFERED // partitions),
        }
        return self._segment_contacts(wanted, only, request)

    def _segment_contacts(
        self, segment_ids: list[str], status: str | None, request: dict[str, Any]
    ) -> Generator[ContactView]:
        wanted = set(segment_ids)
        with self._workers() as pool:
            partitions = [
                self._rows(
                    pool, _with_pk(request, keys.segment_pk(self._tenant, segment, shard)), _member_row
                )
                for segment in segment_ids
                for shard in range(keys.SHARDS)
            ]
            merged = heapq.merge(*partitions, key=itemgetter(0))
            contacts = (
                contact_id for contact_id, _ in itertools.groupby(merged, key=attrgetter("contact_id"))
            )
            projection = ("contact_id", "email", "status", "created_at", "custom_fields", "tags", "segments")
            for contact_id, profile in self._with_profiles(pool, contacts, lambda c: c, projection):
                if profile is None:
                    logger.warning("segment member without a profile", extra={"contact_id": contact_id})
                    continue
                view = _contact_view(profile)
                if status is not None and view.status != status:
                    continue
                if "segments" in profile and not wanted.intersection(view.segments):
                    continue
                yield view

    # ---------------------------------------------------------------- campaign_delivery
    def campaign_delivery(
        self,
        campaign_id: str,
        *,
        changed_since: datetime | None = None,
        after: tuple[datetime, str] | None = None,
        field_ids: Sequence[str] = (),
    ) -> Generator[RecipientStatus]:
        """Every recipient of the campaign whose delivery status changed at or after
        `changed_since` (inclusive), in (changed_at, contact_id) order, from the gsi3
        index of each recipients shard in parallel.

        `after` resumes after a record already written (its `.cursor`). With
        `field_ids`, each record carries `fields` {field_id: value or None}, read from
        the contacts' profiles in batches (the field names from `fields()`).
        A status that changes during the read moves the recipient later in the index;
        it is then seen with its newer status when the read gets there.
        """
        _id(campaign_id, "campaign_id")
        since = _utc(changed_since, "changed_since")
        values: dict[str, Any] = {}
        key_condition = "gsi3pk = :pk"
        lower_bound = None
        if after is not None:
            after_at, after_contact = after
            _utc(after_at, "after")
            lower_bound = keys.status_gsi3sk(after_at, _id(after_contact, "after"))
        if lower_bound is not None and (since is None or lower_bound >= since):
            # Everything past the cursor is also at or past changed_since.
            values[":from"] = {"S": lower_bound}
            key_condition += " AND gsi3sk > :from"
        elif since is not None:
            values[":from"] = {"S": since}
            key_condition += " AND gsi3sk >= :from"
        projection, names = _names("gsi3sk", "contact_id", "email", "status", "changed_at")
        request = {
            "IndexName": "gsi3",
            "KeyConditionExpression": key_condition,
            "ProjectionExpression": projection,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        wanted_fields = list(dict.fromkeys(_id(f, "field_ids") for f in field_ids))
        return self._campaign_delivery(campaign_id, request, wanted_fields)

    def _campaign_delivery(
        self, campaign_id: str, request: dict[str, Any], field_ids: list[str]
    ) -> Generator[RecipientStatus]:
        names = self.fields() if field_ids else {}
        with self._workers() as pool:
            shards = [
                self._rows(
                    pool,
                    _with_pk(request, keys.recipients_pk(self._tenant, campaign_id, shard)),
                    _recipient_row,
                )
                for shard in range(keys.SHARDS)
            ]
            merged: Iterator[_RecipientRow] = heapq.merge(*shards, key=itemgetter(0))
            if not field_ids:
                for row in merged:
                    yield _recipient(row, {})
                return
            # Fetch only the asked-for fields of each profile: nested projection paths.
            paths = [names[f] for f in field_ids if f in names]
            for row, profile in self._with_profiles(
                pool, merged, attrgetter("contact_id"), ("contact_id",), paths
            ):
                custom = _plain_attr(profile, "custom_fields", {}) if profile else {}
                yield _recipient(row, {f: custom.get(names[f]) if f in names else None for f in field_ids})

    # ---------------------------------------------------------------- contact_data
    def contact_data(self, email: str) -> ContactData:
        """Everything about one address but its profile: messages (full MIME), opens,
        clicks and survey responses, each one gsi2 Query on its kind, in time order."""
        address = _email(email)
        return ContactData(
            email=address,
            messages=self.contact_messages(address),
            opens=self.contact_events(address, "open"),
            clicks=self.contact_events(address, "click"),
            survey_responses=self.contact_survey_responses(address),
        )

    def contact_messages(self, email: str) -> Generator[Message]:
        """Messages sent to `email`, oldest first, each with its full MIME (from S3 when
        stored there, a few bodies fetched ahead)."""
        return self._contact_messages(self._email_request(_email(email), "MSG"))

    def _contact_messages(self, request: dict[str, Any]) -> Generator[Message]:
        with self._workers() as pool:
            ahead: deque[tuple[_MessageRow, Future[str] | None]] = deque()
            for row in self._rows(pool, request, _message_row):
                body = None if row.mime is not None else pool.submit(self._mime, row.mime_s3_key or "")
                ahead.append((row, body))
                if len(ahead) > _MIMES_IN_FLIGHT:
                    yield _message(*ahead.popleft())
            while ahead:
                yield _message(*ahead.popleft())

    def contact_events(self, email: str, activity: str) -> Generator[EmailEvent]:
        """The opens (or clicks) of `email`, oldest first."""
        kind = "OPEN" if _activity(activity) == EventType.OPEN else "CLICK"
        return self._iterate(self._email_request(_email(email), kind), _email_event)

    def contact_survey_responses(self, email: str) -> Generator[SurveyResponse]:
        return self._iterate(self._email_request(_email(email), "SURVEY"), _survey_response)

    def _email_request(self, email: str, kind: str) -> dict[str, Any]:
        return {
            "IndexName": "gsi2",
            "KeyConditionExpression": "gsi2pk = :pk AND begins_with(gsi2sk, :kind)",
            "ExpressionAttributeValues": {
                ":pk": {"S": keys.email_gsi2pk(self._tenant, email)},
                ":kind": {"S": f"{kind}#"},
            },
        }

    def _iterate[R](self, request: dict[str, Any], convert: Callable[[Item], R]) -> Generator[R]:
        with self._workers() as pool:
            yield from self._rows(pool, request, convert)

    # ---------------------------------------------------------------- tracking listing
    def tracking_page(
        self,
        campaign_id: str,
        activity: str,
        *,
        created_since: datetime | None = None,
        limit: int = TRACKING_MAX_LIMIT,
        cursor: str | None = None,
    ) -> TrackingPage:
        """One page of a campaign's opens (or clicks), newest first, `created_since`
        inclusive. `next_cursor` (opaque) fetches the following page and is None on
        the last one; across pages every event appears exactly once.

        Each shard is read newest first (gsi1, ScanIndexForward=False) in small pages
        (about limit/shards, plus slack) and the shards are merged; a shard that runs
        dry before the page is full is read further. Taking limit + 1 tells whether a
        next page exists.
        """
        activity = _activity(activity)
        _id(campaign_id, "campaign_id")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= TRACKING_MAX_LIMIT:
            raise ValidationFailed(
                f"limit must be between 1 and {TRACKING_MAX_LIMIT}",
                [{"field": "limit", "issue": f"got {limit!r}"}],
            )
        since = _utc(created_since, "created_since")
        before = decode_cursor(cursor) if cursor is not None else None
        values: dict[str, Any] = {}
        key_condition = "gsi1pk = :pk"
        if since is not None and before is not None:
            if since > before:
                return TrackingPage(items=[], next_cursor=None)
            # BETWEEN is inclusive; the cursor's own event is dropped below.
            values |= {":since": {"S": since}, ":before": {"S": before}}
            key_condition += " AND gsi1sk BETWEEN :since AND :before"
        elif since is not None:
            values[":since"] = {"S": since}
            key_condition += " AND gsi1sk >= :since"
        elif before is not None:
            values[":before"] = {"S": before}
            key_condition += " AND gsi1sk < :before"
        projection, names = _names(
            "gsi1sk",
            "event_id",
            "campaign_id",
            "stat_id",
            "contact_id",
            "email",
            "at",
            "url",
            "ip",
            "user_agent",
        )
        per_shard = min(limit + 1, -(-(limit + 1) * 3 // (2 * keys.SHARDS)) + 2)
        request = {
            "IndexName": "gsi1",
            "KeyConditionExpression": key_condition,
            "ProjectionExpression": projection,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": per_shard,
        }
        with self._workers() as pool:
            shards = [
                (
                    row
                    for row in self._rows(
                        pool,
                        _with_pk(request, keys.tracking_gsi1pk(self._tenant, campaign_id, activity, shard)),
                        _tracking_row,
                        prefetch=False,
                    )
                    if row.gsi1sk != before
                )
                for shard in range(keys.SHARDS)
            ]
            rows = list(itertools.islice(heapq.merge(*shards, key=itemgetter(0), reverse=True), limit + 1))
        more = len(rows) > limit
        rows = rows[:limit]
        return TrackingPage(
            items=[row.event for row in rows],
            next_cursor=encode_cursor(rows[-1].gsi1sk) if more else None,
        )

    # ---------------------------------------------------------------- plumbing
    @contextmanager
    def _workers(self) -> Iterator[ThreadPoolExecutor]:
        """A thread per partition read; on early exit the queued reads are dropped."""
        pool = ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="marketing-read")
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _counted(self) -> None:
        with self._lock:
            self._requests += 1

    def _get(self, pk: str, sk: str) -> Item | None:
        self._counted()
        response = self._db.get_item(TableName=self._table, Key={"pk": {"S": pk}, "sk": {"S": sk}})
        return response.get("Item")

    def _query(
        self, request: Mapping[str, Any], start_key: Mapping[str, Any] | None
    ) -> tuple[list[Item], dict[str, Any] | None]:
        params: dict[str, Any] = {"TableName": self._table, **request}
        if self._page_size is not None and "Limit" not in params:
            params["Limit"] = self._page_size
        if start_key is not None:
            params["ExclusiveStartKey"] = start_key
        self._counted()
        response = self._db.query(**params)
        return list(response.get("Items", [])), response.get("LastEvaluatedKey")

    def _rows[R](
        self,
        pool: ThreadPoolExecutor,
        request: Mapping[str, Any],
        convert: Callable[[Item], R],
        *,
        prefetch: bool = True,
    ) -> Iterator[R]:
        """One partition's rows, page by page. Its first page is requested now (so all
        partitions start together); with `prefetch`, the next page is fetched while the
        current one is consumed, else only when it runs out."""

        def fetch(start_key: dict[str, Any] | None) -> tuple[list[R], dict[str, Any] | None]:
            items, last = self._query(request, start_key)
            return [convert(item) for item in items], last  # converted in the worker thread

        first = pool.submit(fetch, None)

        def drain() -> Iterator[R]:
            future: Future[tuple[list[R], dict[str, Any] | None]] | None = first
            while future is not None:
                rows, last = future.result()
                future = pool.submit(fetch, last) if prefetch and last else None
                yield from rows
                if not prefetch and last:
                    future = pool.submit(fetch, last)

        return drain()

    def _with_profiles[R](
        self,
        pool: ThreadPoolExecutor,
        rows: Iterable[R],
        contact_of: Callable[[R], str],
        attributes: Sequence[str],
        custom_fields: Sequence[str] | None = None,
    ) -> Iterator[tuple[R, Item | None]]:
        """Each row with its contact's profile (None if missing), in the rows' order;
        a few BatchGetItem batches are in flight ahead of the consumer."""
        ahead: deque[tuple[list[R], Future[dict[str, Item]]]] = deque()
        for chunk in _batched(rows, BATCH_GET_KEYS):
            contacts = list(dict.fromkeys(contact_of(r) for r in chunk))
            ahead.append((chunk, pool.submit(self._profiles, contacts, attributes, custom_fields)))
            if len(ahead) >= _BATCHES_IN_FLIGHT:
                yield from self._joined(*ahead.popleft(), contact_of)
        while ahead:
            yield from self._joined(*ahead.popleft(), contact_of)

    @staticmethod
    def _joined[R](
        chunk: list[R], profiles: Future[dict[str, Item]], contact_of: Callable[[R], str]
    ) -> Iterator[tuple[R, Item | None]]:
        found = profiles.result()
        for row in chunk:
            yield row, found.get(contact_of(row))

    def _profiles(
        self, contact_ids: list[str], attributes: Sequence[str], custom_fields: Sequence[str] | None
    ) -> dict[str, Item]:
        """Profiles by contact id, one BatchGetItem (<= 100 keys), unprocessed keys retried
        with jittered exponential backoff."""
        projection, names = _names(*attributes)
        for index, field in enumerate(custom_fields or ()):
            names[f"#cf{index}"] = field
        if custom_fields:
            names["#cf"] = "custom_fields"
            projection += ", " + ", ".join(f"#cf.#cf{i}" for i in range(len(custom_fields)))
        request: dict[str, Any] = {
            self._table: {
                "Keys": [
                    {"pk": {"S": keys.contact_pk(self._tenant, c)}, "sk": {"S": keys.PROFILE}}
                    for c in contact_ids
                ],
                "ProjectionExpression": projection,
                "ExpressionAttributeNames": names,
            }
        }
        found: dict[str, Item] = {}
        for attempt in range(_BATCH_ATTEMPTS):
            self._counted()
            response = self._db.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(self._table, []):
                found[_req(item, "contact_id")] = item
            unprocessed = response.get("UnprocessedKeys", {}).get(self._table)
            if not unprocessed or not unprocessed.get("Keys"):
                return found
            request = {self._table: unprocessed}
            time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))
        raise ReadIncomplete(f"BatchGetItem left {len(request[self._table]['Keys'])} profiles unread")

    def _mime(self, key: str) -> str:
        bucket = self._data_bucket or get_settings().data_bucket
        body = aws.s3().get_object(Bucket=bucket, Key=key)["Body"].read()
        return body.decode("utf-8")


# ---------------------------------------------------------------- item -> row / view
def _with_pk(request: Mapping[str, Any], pk: str) -> dict[str, Any]:
    """The request for one partition: the same query with `:pk` bound to `pk`."""
    values = dict(request.get("ExpressionAttributeValues", {}))
    values[":pk"] = {"S": pk}
    return {**request, "ExpressionAttributeValues": values}


def _email(value: str) -> str:
    address = value.strip().lower() if isinstance(value, str) else ""
    local, at, domain = address.partition("@")
    if not (local and at and domain) or any(c.isspace() for c in address):
        raise ValidationFailed(
            "email is not an email address", [{"field": "email", "issue": "not an email address"}]
        )
    return address


def _event_row(item: Item) -> _EventRow:
    return _EventRow(
        _req(item, "sk"),
        _req(item, "contact_id"),
        _req(item, "email"),
        _req(item, "type"),
        _req(item, "at"),
        _s(item, "ip"),
        _s(item, "user_agent"),
        _s(item, "url"),
    )


def _member_row(item: Item) -> _MemberRow:
    return _MemberRow(_req(item, "sk"), _req(item, "contact_id"))


def _recipient_row(item: Item) -> _RecipientRow:
    return _RecipientRow(
        _req(item, "gsi3sk"),
        _req(item, "contact_id"),
        _req(item, "email"),
        _req(item, "status"),
        _req(item, "changed_at"),
    )


def _recipient(row: _RecipientRow, fields: dict[str, Any]) -> RecipientStatus:
    return RecipientStatus(
        email=row.email,
        contact_id=row.contact_id,
        status=row.status,
        changed_at=row.changed_at,
        fields=fields,
    )


def _tracking_row(item: Item) -> _TrackingRow:
    return _TrackingRow(
        _req(item, "gsi1sk"),
        TrackingEvent(
            event_id=_req(item, "event_id"),
            campaign_id=_req(item, "campaign_id"),
            stat_id=_req(item, "stat_id"),
            contact_id=_req(item, "contact_id"),
            email=_req(item, "email"),
            at=_req(item, "at"),
            url=_s(item, "url"),
            ip=_s(item, "ip"),
            user_agent=_s(item, "user_agent"),
        ),
    )


def _contact_view(item: Item) -> ContactView:
    return ContactView(
        contact_id=_req(item, "contact_id"),
        email=_req(item, "email"),
        status=_s(item, "status") or ContactStatus.ACTIVE.value,
        created_at=_s(item, "created_at"),
        custom_fields=_plain_attr(item, "custom_fields", {}),
        tags=_plain_attr(item, "tags", []),
        segments=_plain_attr(item, "segments", []),
    )


def _message_row(item: Item) -> _MessageRow:
    message = {
        "message_id": _req(item, "message_id"),
        "stat_id": _req(item, "stat_id"),
        "contact_id": _req(item, "contact_id"),
        "email": _req(item, "email"),
        "sent_at": _req(item, "sent_at"),
    }
    mime, s3_key = _s(item, "mime"), _s(item, "mime_s3_key")
    if mime is None and s3_key is None:
        raise ValueError(f"message {message['message_id']} has neither mime nor mime_s3_key")
    return _MessageRow(message, mime, s3_key)


def _message(row: _MessageRow, body: Future[str] | None) -> Message:
    mime = row.mime if body is None else body.result()
    return Message.model_validate({**row.message, "mime": mime})


def _email_event(item: Item) -> EmailEvent:
    return EmailEvent(
        event_id=_req(item, "event_id"),
        type=_req(item, "type"),
        stat_id=_req(item, "stat_id"),
        campaign_id=_s(item, "campaign_id"),
        contact_id=_req(item, "contact_id"),
        email=_req(item, "email"),
        at=_req(item, "at"),
        ip=_s(item, "ip"),
        user_agent=_s(item, "user_agent"),
        url=_s(item, "url"),
    )


def _survey_response(item: Item) -> SurveyResponse:
    return SurveyResponse(
        response_id=_req(item, "response_id"),
        survey_id=_req(item, "survey_id"),
        email=_req(item, "email"),
        at=_req(item, "at"),
        answers=_plain_attr(item, "answers", {}),
    )
