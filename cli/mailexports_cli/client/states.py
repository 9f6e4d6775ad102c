"""Task statuses as the client reads them."""

from __future__ import annotations

# A task in one of these will not change any more: polling stops.
FINISHED = frozenset({"completed", "failed", "cancelled", "expired"})
