"""StatusFunction's resolver: task status, downloads, documentation and the synchronous
listings (read-only)."""

from __future__ import annotations

from mailexports.api.canonical import status_router
from mailexports.api.compose import compose_app
from mailexports.api.documentation import docs_router
from mailexports.api.schedules import schedules_read_router
from mailexports.dialects.constantcontact import DIALECT as CONSTANT_CONTACT
from mailexports.dialects.copernica import DIALECT as COPERNICA
from mailexports.dialects.selzy import DIALECT as SELZY

DIALECTS = (SELZY, COPERNICA, CONSTANT_CONTACT)

app = compose_app(
    [status_router, schedules_read_router, docs_router],
    DIALECTS,
    [router for dialect in DIALECTS for router in dialect.status_routers],
)
