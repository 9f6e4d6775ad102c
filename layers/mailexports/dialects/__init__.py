"""Compatibility dialects: the five seed APIs, each a thin adapter over the canonical core.

Each module parses its vendor's request into the canonical ExportRequest, submits it
through the same ExportSubmitter, and words answers, errors and notification payloads
the vendor's way. Importing this package registers every dialect's error renderer
(api/errors.py) and webhook payload (notify/payloads.py); a function that renders
errors or sends notifications must import it.
"""

from __future__ import annotations

from mailexports.dialects import constantcontact, copernica, pinpointe, selzy


def register_dialects() -> None:
    """Error renderers by path prefix and webhook payloads by dialect (idempotent)."""
    for dialect in (pinpointe, selzy, copernica, constantcontact):
        dialect.register()


register_dialects()

SUBMIT_ROUTERS = (pinpointe.submit_router, selzy.submit_router, copernica.submit_router)
STATUS_ROUTERS = (selzy.status_router, copernica.status_router, constantcontact.status_router)

__all__ = ["STATUS_ROUTERS", "SUBMIT_ROUTERS", "register_dialects"]
