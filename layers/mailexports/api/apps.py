"""The two API resolvers: one per function, each with only the routes it serves.

Validation is on for every route: the canonical ones declare typed parameters; the
dialect routes declare none beyond their path segments and parse their own input.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from mailexports.api.canonical import authenticate, status_router, submit_router
from mailexports.api.documentation import docs_router
from mailexports.api.errors import install_error_handlers
from mailexports.api.schedules import schedules_read_router, schedules_write_router
from mailexports.api.validation import validating_resolver
from mailexports.dialects import STATUS_ROUTERS, SUBMIT_ROUTERS


def _app(*routers: object) -> APIGatewayRestResolver:
    app = validating_resolver()
    for router in routers:
        app.include_router(router)  # type: ignore[arg-type]
    install_error_handlers(app, authenticate)
    return app


submit_app = _app(submit_router, schedules_write_router, *SUBMIT_ROUTERS)
status_app = _app(status_router, schedules_read_router, docs_router, *STATUS_ROUTERS)
