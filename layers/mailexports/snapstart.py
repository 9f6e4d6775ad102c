"""SnapStart runtime hooks: what a snapshot may hold, and what every restore renews.

A snapshot is restored into many execution environments, possibly days after it was
taken, so it may hold only what is the same for all of them: imported modules, parsed
settings, botocore's service models and endpoint data. It must not hold anything unique
or perishable: clients (each carries resolved credentials and pooled connections), ids,
secrets, or the state of `random` (restored copies would draw the same jitter).

Before the snapshot the hook builds the function's clients once, which loads the
models into the shared loader (`mailexports.aws`), then forgets the clients. After each
restore it forgets them again and reseeds `random`; the first call makes fresh clients
from the already-parsed models. Task and request ids come from `uuid4` (os.urandom),
which a restore does not repeat.

The hooks library ships with Lambda's managed Python runtimes (and is a dev dependency
here, so the tests run the real registration); elsewhere `install` does nothing.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from mailexports import aws
from mailexports.config import get_settings

Warmer = Callable[[], object]


def prime(services: Sequence[str], warm: Warmer | None = None) -> None:
    """Before the snapshot: settings parsed, models loaded, then no client kept."""
    get_settings()
    for service in services:
        aws.client(service)
    if warm is not None:
        warm()
    aws.reset_clients()


def renew() -> None:
    """After a restore: nothing from the snapshot's clients or random state is reused."""
    aws.reset_clients()
    random.seed()


def install(services: Sequence[str], warm: Warmer | None = None) -> bool:
    """Register the hooks for a function that uses `services`; False off Lambda's runtime."""
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        return False
    register_before_snapshot(prime, services, warm)
    register_after_restore(renew)
    return True
