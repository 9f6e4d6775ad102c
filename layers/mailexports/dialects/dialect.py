"""What a compatibility dialect is: one plain value per vendor, composed by the handlers.

A vendor module declares `DIALECT = Dialect(...)` and nothing else happens when it is
imported: the API functions build their resolvers from the dialects they serve, the
notifier is handed their payload builders, the worker their file layouts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.event_handler.api_gateway import Router

    from mailexports.errors import DomainError
    from mailexports.exports.layouts import DialectLayouts, LayoutFactory
    from mailexports.exports.requests import ExportType
    from mailexports.notify.payloads import PayloadBuilder

# A refusal in the dialect's own words and HTTP status.
ErrorRenderer = Callable[["DomainError"], "Response[str]"]


@dataclass(frozen=True)
class Dialect:
    name: str  # what a task submitted through it records as `task.dialect`
    path_prefix: str  # every path it answers starts with this; its errors are rendered its way
    render_error: ErrorRenderer
    submit_routers: tuple[Router, ...] = ()  # served by SubmitFunction
    status_routers: tuple[Router, ...] = ()  # served by StatusFunction
    payload: PayloadBuilder | None = None  # its webhook body; None: the canonical one
    # The JSON files its clients read, by export type (a format asked for explicitly wins).
    layouts: Mapping[ExportType, LayoutFactory] = field(default_factory=lambda: MappingProxyType({}))

    def owns(self, path: str) -> bool:
        return path.startswith(self.path_prefix)


def payload_builders(dialects: Iterable[Dialect]) -> dict[str, PayloadBuilder]:
    """`{dialect name: builder}` for the notifier, from the dialects that have their own."""
    return {dialect.name: dialect.payload for dialect in dialects if dialect.payload is not None}


def dialect_layouts(dialects: Iterable[Dialect]) -> DialectLayouts:
    """`{dialect name: {export type: layout}}` for the worker."""
    return {dialect.name: dialect.layouts for dialect in dialects if dialect.layouts}
