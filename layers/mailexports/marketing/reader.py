"""Reads a tenant's marketing data for the exports and the listings: by Query, never Scan.

Every access pattern of DESIGN.md reads only keys that start with the tenant
(keys.py), so one tenant can never see another's data. `MarketingReader` is the
one door: each method is an access pattern in its own module (campaign_activity,
segment_contacts, campaign_delivery, contact_data, tracking_listing, lookups), all reading through one
`ShardReader` (shards.py), which runs the partitions in parallel and counts
the requests.
"""

from __future__ import annotations

from collections.abc import Collection, Generator, Iterable, Sequence
from datetime import datetime

from mailexports import aws
from mailexports.config import get_settings
from mailexports.marketing import (
    arguments,
    campaign_activity,
    campaign_delivery,
    contact_data,
    keys,
    lookups,
    segment_contacts,
    tracking_listing,
)
from mailexports.marketing.arguments import ENGAGEMENT
from mailexports.marketing.arrivals import ArrivalWindow
from mailexports.marketing.batches import BatchIncomplete
from mailexports.marketing.shards import ShardReader
from mailexports.marketing.views import (
    Campaign,
    ContactActivity,
    ContactData,
    ContactView,
    EmailEvent,
    Message,
    RecipientStatus,
    Send,
    SurveyResponse,
    TrackingPage,
)

ReadIncomplete = BatchIncomplete  # DynamoDB kept some keys unprocessed after every retry


class MarketingReader:
    """One tenant's marketing data, read for exports and listings.

    `query_count` counts every DynamoDB request made (Query, GetItem and
    BatchGetItem, re-sends included); the benchmark reports it.
    """

    def __init__(
        self,
        tenant_id: str,
        *,
        table_name: str | None = None,
        data_bucket: str | None = None,
        max_workers: int = keys.SHARDS,
        page_size: int | None = None,
    ) -> None:
        """`page_size` caps the items a Query evaluates (its `Limit`); None lets DynamoDB's
        1 MB page decide. Lower it to bound a worker's memory more tightly."""
        tenant = arguments.identifier(tenant_id, "tenant_id")
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        if page_size is not None and page_size < 1:
            raise ValueError("page_size must be at least 1")
        self._data_bucket = data_bucket
        self._db = aws.dynamodb()
        self._shards = ShardReader(
            tenant,
            table_name or get_settings().marketing_table,
            self._db,
            max_workers=max_workers,
            page_size=page_size,
        )

    @property
    def query_count(self) -> int:
        return self._shards.query_count

    # ---- single items
    def send(self, stat_id: str) -> Send | None:
        return lookups.send(self._shards, stat_id)

    def campaign(self, campaign_id: str) -> Campaign | None:
        return lookups.campaign(self._shards, campaign_id)

    def segment_exists(self, segment_id: str) -> bool:
        return segment_contacts.segment_exists(self._shards, segment_id)

    def fields(self) -> dict[str, str]:
        return lookups.fields(self._shards)

    def count_up_to(self, partitions: Iterable[str], items: int) -> int:
        """These partitions' items, counted no further than `items` (a size probe; see shards.py)."""
        return self._shards.count_up_to(partitions, items)

    # ---- exports
    def campaign_activity(
        self,
        stat_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        events: Collection[str] = ENGAGEMENT,
        after_contact: str | None = None,
        arrived: ArrivalWindow | None = None,
        shards: Sequence[int] | None = None,
    ) -> Generator[ContactActivity]:
        return campaign_activity.campaign_activity(
            self._shards,
            stat_id,
            start=start,
            end=end,
            events=events,
            after_contact=after_contact,
            arrived=arrived,
            shards=shards,
        )

    def segment_contacts(
        self,
        segment_ids: Iterable[str],
        *,
        status: str | None = None,
        after_contact: str | None = None,
        shards: Sequence[int] | None = None,
    ) -> Generator[ContactView]:
        return segment_contacts.segment_contacts(
            self._shards, segment_ids, status=status, after_contact=after_contact, shards=shards
        )

    def campaign_delivery(
        self,
        campaign_id: str,
        *,
        changed_since: datetime | None = None,
        after: tuple[datetime, str] | None = None,
        field_ids: Sequence[str] = (),
        arrived: ArrivalWindow | None = None,
        shards: Sequence[int] | None = None,
    ) -> Generator[RecipientStatus]:
        return campaign_delivery.campaign_delivery(
            self._shards,
            campaign_id,
            changed_since=changed_since,
            after=after,
            field_ids=field_ids,
            arrived=arrived,
            shards=shards,
        )

    def delivery_arrived(
        self,
        campaign_id: str,
        arrived: ArrivalWindow,
        *,
        changed_since: datetime | None = None,
        after: str | None = None,
        field_ids: Sequence[str] = (),
        shards: Sequence[int] | None = None,
    ) -> Generator[tuple[str, RecipientStatus]]:
        return campaign_delivery.delivery_arrived(
            self._shards,
            campaign_id,
            arrived,
            changed_since=changed_since,
            after=after,
            field_ids=field_ids,
            shards=shards,
        )

    def contact_data(self, email: str) -> ContactData:
        return contact_data.contact_data(self._shards, email, self._data_bucket)

    def contact_messages(self, email: str) -> Generator[Message]:
        return contact_data.contact_messages(self._shards, email, self._data_bucket)

    def contact_events(self, email: str, activity: str) -> Generator[EmailEvent]:
        return contact_data.contact_events(self._shards, email, activity)

    def contact_survey_responses(self, email: str) -> Generator[SurveyResponse]:
        return contact_data.contact_survey_responses(self._shards, email)

    # ---- listings
    def tracking_page(
        self,
        campaign_id: str,
        activity: str,
        *,
        created_since: datetime | None = None,
        limit: int = tracking_listing.MAX_LIMIT,
        cursor: str | None = None,
        keep: tracking_listing.Keep | None = None,
        budget: int = tracking_listing.FILTER_BUDGET,
    ) -> TrackingPage:
        """`cursor` is a page's `next_cursor` (a position in the listing, not checked here);
        `keep` filters the events, reading at most `budget` of them (tracking_listing.py)."""
        return tracking_listing.tracking_page(
            self._shards,
            campaign_id,
            activity,
            created_since=created_since,
            limit=limit,
            after=cursor,
            keep=keep,
            budget=budget,
        )
