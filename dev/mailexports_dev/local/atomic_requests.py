"""DynamoDB's per-request atomicity for moto, which shares its items between threads unguarded.

DynamoDB applies each request as one step: a conditional update or a batch item never
sees another write half done. moto's backend mutates the same dicts from every thread
(an UpdateItem deep-copies an item while another thread is changing it), so code that
is correct against DynamoDB can fail in moto under concurrency. One lock around each
DynamoDB request restores the guarantee the code relies on; moto holds the GIL anyway,
so little parallelism is lost.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_MARK = "_mailexports_atomic"
_LOCK = threading.RLock()


def make_dynamodb_requests_atomic() -> None:
    """Install for the rest of this process (tests' in-process moto, the local moto server)."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action
    if getattr(original, _MARK, False):
        return

    @functools.wraps(original)
    def call_action(self: DynamoHandler, *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return original(self, *args, **kwargs)

    setattr(call_action, _MARK, True)
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
