"""SubmitFunction's resolver: every route that creates or cancels an export task."""

from __future__ import annotations

from mailexports.api.canonical import submit_router
from mailexports.api.compose import compose_app
from mailexports.api.schedules import schedules_write_router
from mailexports.dialects.copernica import DIALECT as COPERNICA
from mailexports.dialects.pinpointe import DIALECT as PINPOINTE
from mailexports.dialects.selzy import DIALECT as SELZY

DIALECTS = (PINPOINTE, SELZY, COPERNICA)

app = compose_app(
    [submit_router, schedules_write_router],
    DIALECTS,
    [router for dialect in DIALECTS for router in dialect.submit_routers],
)
