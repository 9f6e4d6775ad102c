"""Benchmark of MarketingReader.campaign_activity on one big send, in in-process moto.

    .venv/bin/python bench/bench_reads.py [--events 100000] [--page-size N] [--workers 32]

Seeds one send of `--events` events (a quarter of the recipients' send and delivery
events, then opens and clicks; realistic attribute sizes) with BatchWriteItem, reads it
back with `campaign_activity`, and prints the Query calls per 1,000 events and the
records/s of the read. moto honours DynamoDB's 1 MB page, so the Query count is what
DynamoDB would need; the speed is moto's (it sorts and deep-copies a partition per
Query, in this process, under the GIL), a floor for the real thing, not a forecast.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import random
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import batched
from typing import Any, cast

from moto import mock_aws
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
from moto.dynamodb.models.dynamo_type import Item as MotoItem
from moto.dynamodb.models.table import Table as MotoTable
from moto.dynamodb.responses import DynamoHandler

from mailexports import aws
from mailexports.config import get_settings
from mailexports.marketing import keys
from mailexports.marketing.reader import MarketingReader
from mailexports.marketing.vocabulary import iso_ms
from mailexports_dev.local.resources import ACCOUNT, REGION, create_resources

TENANT = "bench"
STAT_ID = "981"
CAMPAIGN_ID = "c-bench"
SENT_AT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0"


def _event(n: int, kind: str, contact: int, at: datetime) -> dict[str, Any]:
    contact_id = str(100_000 + contact)
    email = f"user{contact_id}@example.com"
    event_id = f"e-{n:07d}"
    shard = keys.shard_of(contact_id)
    partition = keys.activity_events_pk if kind in ("open", "click") else keys.delivery_events_pk
    item: dict[str, Any] = {
        "pk": {"S": partition(TENANT, STAT_ID, shard)},
        "sk": {"S": keys.event_sk(contact_id, at, event_id)},
        "event_id": {"S": event_id},
        "type": {"S": kind},
        "stat_id": {"S": STAT_ID},
        "campaign_id": {"S": CAMPAIGN_ID},
        "contact_id": {"S": contact_id},
        "email": {"S": email},
        "at": {"S": iso_ms(at)},
    }
    if kind in ("open", "click"):
        item |= {
            "ip": {"S": f"198.51.{n % 256}.{contact % 256}"},
            "user_agent": {"S": USER_AGENT},
            "gsi1pk": {"S": keys.tracking_gsi1pk(TENANT, CAMPAIGN_ID, kind, shard)},
            "gsi1sk": {"S": keys.tracking_gsi1sk(at, event_id)},
            "gsi2pk": {"S": keys.email_gsi2pk(TENANT, email)},
            "gsi2sk": {"S": keys.email_gsi2sk(kind.upper(), at, event_id)},
        }
    if kind == "click":
        item["url"] = {"S": f"https://example.com/spring-sale/item/{n % 97}?utm_source=newsletter"}
    return item


def send_events(count: int) -> Iterator[dict[str, Any]]:
    """Half sends and deliveries (one each per recipient), 30 % opens, 20 % clicks."""
    rng = random.Random(42)
    recipients = count // 4
    n = 0
    for contact in range(recipients):
        yield _event(n, "send", contact, SENT_AT)
        yield _event(n + 1, "delivery", contact, SENT_AT + timedelta(seconds=3))
        n += 2
    while n < count:
        kind = "open" if rng.random() < 0.6 else "click"
        at = SENT_AT + timedelta(milliseconds=rng.randint(0, 7 * 86_400_000))
        yield _event(n, kind, rng.randrange(recipients), at)
        n += 1


def seed(table: str, count: int, via: str) -> float:
    """Put the send's events: through the DynamoDB API (BatchWriteItem, ~10 min for 100,000
    in moto), or straight into moto's in-memory table (the same items, in seconds)."""
    started = time.perf_counter()
    if via == "backend":
        store = dynamodb_backends[ACCOUNT][REGION].get_table(table)
        for item in send_events(count):
            # As moto's own Item.__deepcopy__ does: its per-attribute size check is O(n^2).
            stored = cast(MotoItem, MotoItem.__new__(MotoItem))
            stored.hash_key, stored.range_key = DynamoType(item["pk"]), DynamoType(item["sk"])
            stored.attrs = LimitedSizeDict.__new__(LimitedSizeDict)
            dict.update(stored.attrs, {name: DynamoType(value) for name, value in item.items()})
            store.items[stored.hash_key][stored.range_key] = stored
        return time.perf_counter() - started
    client = aws.dynamodb()
    for chunk in batched(send_events(count), 25, strict=False):
        pending: Any = {table: [{"PutRequest": {"Item": item}} for item in chunk]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or None
    return time.perf_counter() - started


def faster_moto_queries() -> None:
    """Take two costs out of moto's Query that have nothing to do with the reader.

    moto answers every Query by sorting the whole table and comparing each item's
    partition key (O(table) per call), then turns the answer into JSON with a generic
    model-driven serializer that costs ~0.1 ms per attribute, after re-serializing each
    item once per projected attribute. Together they make a 100,000-event read take
    minutes. Here moto looks only at the queried partition, projects top-level names
    directly and dumps its answer as JSON. What a Query returns (items, order, 1 MB
    pages, LastEvaluatedKey) is unchanged; `--plain-moto` runs without this.
    """
    local = threading.local()
    query, all_items = MotoTable.query, MotoTable.all_items
    signature = inspect.signature(query)

    def scoped_all_items(self: MotoTable) -> list[Any]:
        hash_key = getattr(local, "hash_key", None)
        if hash_key is None:
            return all_items(self)
        partition = self.items.get(hash_key, {})  # .get: no empty partition left behind
        return list(partition.values())

    def scoped_query(self: MotoTable, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(self, *args, **kwargs).arguments
        local.hash_key = None if arguments.get("index_name") else arguments.get("hash_key")
        try:
            return query(self, *args, **kwargs)
        finally:
            local.hash_key = None

    MotoTable.all_items = scoped_all_items  # type: ignore[method-assign]
    MotoTable.query = scoped_query  # type: ignore[method-assign]

    project = MotoItem.project

    def top_level_project(self: MotoItem, projection_expressions: list[list[str]]) -> MotoItem:
        # moto re-serializes the whole item once per projected name; these are top-level names.
        if any(len(path) != 1 for path in projection_expressions):
            return project(self, projection_expressions)
        names = {path[0] for path in projection_expressions}
        return MotoItem(
            self.hash_key, self.range_key, {k: v.to_json() for k, v in self.attrs.items() if k in names}
        )

    MotoItem.project = top_level_project  # type: ignore[method-assign]

    handler_query = DynamoHandler.query

    def json_query(self: DynamoHandler) -> str:
        return json.dumps(handler_query(self).result)

    DynamoHandler.query = json_query  # type: ignore[assignment, method-assign]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument(
        "--page-size", type=int, default=None, help="Query Limit (default: DynamoDB's 1 MB page)"
    )
    parser.add_argument("--workers", type=int, default=keys.SHARDS)
    parser.add_argument("--seed-via", choices=["backend", "api"], default="backend")
    parser.add_argument("--plain-moto", action="store_true", help="run moto's Query as it is (minutes)")
    args = parser.parse_args(argv)

    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "1",
    }.items():
        os.environ[name] = value
    os.environ.pop("AWS_ENDPOINT_URL", None)  # never a real or local endpoint: in-process moto only

    with mock_aws():
        _, environment = create_resources(prefix="bench")
        os.environ.update(environment)
        aws.reset_clients()
        get_settings.cache_clear()
        table = get_settings().marketing_table

        seeding = seed(table, args.events, args.seed_via)
        print(f"seeded {args.events:,} events of send {STAT_ID} via the {args.seed_via} in {seeding:.1f} s")
        if not args.plain_moto:
            faster_moto_queries()

        reader = MarketingReader(TENANT, page_size=args.page_size, max_workers=args.workers)
        pages = recording(reader)
        elapsed, contacts, engagements, digest = read_all(reader)

    queries = reader.query_count
    print(
        f"campaign_activity: {contacts:,} contact records, {engagements:,} opens+clicks, in {elapsed:.1f} s"
    )
    print(f"  Query calls: {queries} (page size: {args.page_size or '1 MB'}, {keys.SHARDS} shards)")
    print(f"  Query calls per 1,000 events of the send: {1000 * queries / args.events:.2f}")
    print(f"  Query calls per 1,000 opens+clicks returned: {1000 * queries / max(engagements, 1):.2f}")
    print(f"  events read/s: {args.events / elapsed:,.0f}; contact records/s: {contacts / elapsed:,.0f}")
    print(f"  sha256 of the records: {digest}")

    # The same pages again, from memory: what the reader itself costs, without moto.
    replay = MarketingReader(TENANT, table_name="replay", page_size=args.page_size, max_workers=args.workers)
    replay._shards.query = lambda request, start_key: pages[_page_key(request, start_key)]  # type: ignore[method-assign]
    alone, _, _, replayed = read_all(replay)
    assert replayed == digest, "the replay read other records"
    print(
        f"reader alone (pages replayed from memory): {alone:.2f} s, "
        f"{1e6 * alone / args.events:.1f} us per event of the send, {contacts / alone:,.0f} contact records/s"
    )
    return 0


def _page_key(request: Any, start_key: Any) -> str:
    return json.dumps([request["ExpressionAttributeValues"][":pk"], start_key], sort_keys=True)


def recording(reader: MarketingReader) -> dict[str, Any]:
    """Keep every page `reader` gets, by partition and start key, for a replay."""
    pages: dict[str, Any] = {}
    query = reader._shards.query

    def recorded(request: Any, start_key: Any) -> Any:
        pages[_page_key(request, start_key)] = page = query(request, start_key)
        return page

    reader._shards.query = recorded  # type: ignore[method-assign]
    return pages


def read_all(reader: MarketingReader) -> tuple[float, int, int, str]:
    """Read the whole send as an exporter would (each record serialized to JSON)."""
    started = time.perf_counter()
    contacts = engagements = 0
    digest = hashlib.sha256()
    for activity in reader.campaign_activity(STAT_ID):
        contacts += 1
        engagements += len(activity.opens) + len(activity.clicks)
        digest.update(activity.model_dump_json().encode())
    return time.perf_counter() - started, contacts, engagements, digest.hexdigest()[:16]


if __name__ == "__main__":
    sys.exit(main())
