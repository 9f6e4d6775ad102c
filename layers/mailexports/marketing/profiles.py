"""Contact profiles joined onto a stream of rows, by BatchGetItem, a few batches ahead."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Final

from mailexports.marketing import codec, keys
from mailexports.marketing.batches import BATCH_GET_KEYS, batch_get, batched
from mailexports.marketing.codec import WireItem
from mailexports.marketing.shards import ShardReader

_BATCHES_IN_FLIGHT: Final = 4  # profile batches fetched ahead of the consumer
_BATCH_ATTEMPTS: Final = 10


def with_profiles[R](
    reader: ShardReader,
    pool: ThreadPoolExecutor,
    rows: Iterable[R],
    contact_of: Callable[[R], str],
    attributes: Sequence[str],
    custom_fields: Sequence[str] | None = None,
) -> Iterator[tuple[R, WireItem | None]]:
    """Each row with its contact's profile (None if missing), in the rows' order;
    a few BatchGetItem batches are in flight ahead of the consumer."""
    ahead: deque[tuple[list[R], Future[dict[str, WireItem]]]] = deque()
    for chunk in batched(rows, BATCH_GET_KEYS):
        contacts = list(dict.fromkeys(contact_of(r) for r in chunk))
        ahead.append((chunk, pool.submit(_profiles, reader, contacts, attributes, custom_fields)))
        if len(ahead) >= _BATCHES_IN_FLIGHT:
            yield from _joined(*ahead.popleft(), contact_of)
    while ahead:
        yield from _joined(*ahead.popleft(), contact_of)


def _joined[R](
    chunk: list[R], profiles: Future[dict[str, WireItem]], contact_of: Callable[[R], str]
) -> Iterator[tuple[R, WireItem | None]]:
    found = profiles.result()
    for row in chunk:
        yield row, found.get(contact_of(row))


def _profiles(
    reader: ShardReader,
    contact_ids: list[str],
    attributes: Sequence[str],
    custom_fields: Sequence[str] | None,
) -> dict[str, WireItem]:
    """Profiles by contact id, one BatchGetItem (<= 100 keys); only the asked-for custom
    fields are projected (nested paths)."""
    projection, names = codec.projection(*attributes)
    for index, field in enumerate(custom_fields or ()):
        names[f"#cf{index}"] = field
    if custom_fields:
        names["#cf"] = "custom_fields"
        projection += ", " + ", ".join(f"#cf.#cf{i}" for i in range(len(custom_fields)))
    request: dict[str, Any] = {
        "Keys": [codec.key(keys.contact_pk(reader.tenant, c), keys.PROFILE) for c in contact_ids],
        "ProjectionExpression": projection,
        "ExpressionAttributeNames": names,
    }
    items, requests = batch_get(reader.db, reader.table, request, attempts=_BATCH_ATTEMPTS)
    reader.counted(requests)
    return {codec.required(item, "contact_id"): item for item in items}
