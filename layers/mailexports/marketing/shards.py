"""The parallel shard reader: one tenant's partitions read by Query, one thread per partition.

Sharded partitions (a send's events, a campaign's recipients, a segment's
members) are read in parallel, page by page: each partition keeps the page being
consumed plus at most one page being fetched, so memory is bounded by
partitions x 2 pages whatever the export's size. The access patterns merge the
partitions (heapq.merge) on the very sort key DynamoDB orders them by, so the
output order is deterministic and a cursor taken from it resumes exactly where
an uninterrupted read would have gone on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from mailexports.marketing import codec
from mailexports.marketing.codec import WireItem

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Page = tuple[list[WireItem], dict[str, Any] | None]  # items, LastEvaluatedKey


def with_pk(request: Mapping[str, Any], pk: str) -> dict[str, Any]:
    """The request for one partition: the same query with `:pk` bound to `pk`."""
    values = dict(request.get("ExpressionAttributeValues", {}))
    values[":pk"] = {"S": pk}
    return {**request, "ExpressionAttributeValues": values}


class ShardReader:
    """Queries of one tenant's marketing table, counted (`query_count`: every DynamoDB
    request made, batch re-sends included; the benchmark reports it)."""

    def __init__(
        self, tenant_id: str, table: str, db: DynamoDBClient, *, max_workers: int, page_size: int | None
    ) -> None:
        self.tenant = tenant_id
        self.table = table
        self.db = db
        self.page_size = page_size
        self._max_workers = max_workers
        self._lock = threading.Lock()
        self._requests = 0

    @property
    def query_count(self) -> int:
        return self._requests

    def counted(self, requests: int = 1) -> None:
        with self._lock:
            self._requests += requests

    @contextmanager
    def workers(self) -> Iterator[ThreadPoolExecutor]:
        """A thread per partition read; on early exit the queued reads are dropped."""
        pool = ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="marketing-read")
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def get(self, pk: str, sk: str) -> WireItem | None:
        self.counted()
        return self.db.get_item(TableName=self.table, Key=codec.key(pk, sk)).get("Item")

    def query(self, request: Mapping[str, Any], start_key: Mapping[str, Any] | None) -> Page:
        params: dict[str, Any] = {"TableName": self.table, **request}
        if self.page_size is not None and "Limit" not in params:
            params["Limit"] = self.page_size
        if start_key is not None:
            params["ExclusiveStartKey"] = start_key
        self.counted()
        response = self.db.query(**params)
        return list(response.get("Items", [])), response.get("LastEvaluatedKey")

    def count_up_to(self, partitions: Iterable[str], items: int) -> int:
        """The partitions' items, counted by Query with Select=COUNT (no item comes back;
        DynamoDB still reads, and bills, each 1 MB page), stopping as soon as the count
        reaches `items`: a probe costs at most `items` items' reads."""
        counted = 0
        for pk in partitions:
            request: dict[str, Any] = {
                "TableName": self.table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": pk}},
                "Select": "COUNT",
            }
            while counted < items:
                request["Limit"] = items - counted
                self.counted()
                page = self.db.query(**request)
                counted += int(page["Count"])
                if "LastEvaluatedKey" not in page:
                    break
                request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return min(counted, items)

    def rows[R](
        self,
        pool: ThreadPoolExecutor,
        request: Mapping[str, Any],
        convert: Callable[[WireItem], R],
        *,
        prefetch: bool = True,
    ) -> Iterator[R]:
        """One partition's rows, page by page. Its first page is requested now (so all
        partitions start together); with `prefetch`, the next page is fetched while the
        current one is consumed, else only when it runs out."""

        def fetch(start_key: dict[str, Any] | None) -> tuple[list[R], dict[str, Any] | None]:
            items, last = self.query(request, start_key)
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

    def iterate[R](self, request: dict[str, Any], convert: Callable[[WireItem], R]) -> Generator[R]:
        """One partition's rows, read on a worker thread a page ahead."""
        with self.workers() as pool:
            yield from self.rows(pool, request, convert)
