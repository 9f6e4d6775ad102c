"""Builds one function's API resolver from the routers and dialects it serves.

Validation is on for every route: the canonical ones declare typed parameters; the
dialect routes declare none beyond their path segments and parse their own input.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.api_gateway import Router

from mailexports.api.canonical import authenticate
from mailexports.api.errors import install_error_handlers
from mailexports.api.validation import validating_resolver
from mailexports.dialects.dialect import Dialect


def compose_app(
    routers: Iterable[Router], dialects: Iterable[Dialect], dialect_routers: Iterable[Router]
) -> APIGatewayRestResolver:
    """`routers`: the canonical ones; `dialect_routers`: the dialects' routes this function
    serves; `dialects`: whose error rendering applies under their path prefixes."""
    app = validating_resolver()
    for router in (*routers, *dialect_routers):
        app.include_router(router)
    install_error_handlers(app, dialects, authenticate)
    return app
