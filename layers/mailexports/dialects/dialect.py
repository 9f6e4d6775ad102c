"""What a compatibility dialect is: plain values per vendor, composed by the handlers.

A vendor declares what each function needs of it in a module of its own, so that a
function imports only that: its HTTP side, `DIALECT = Dialect(...)` (the API functions
build their resolvers from the dialects they serve), the files its clients read,
`FILES = DialectFiles(...)` (handed to the worker), and its webhook body,
`WEBHOOK = DialectWebhook(...)` (handed to the notifier). Nothing happens when one
is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
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

    def owns(self, path: str) -> bool:
        return path.startswith(self.path_prefix)


@dataclass(frozen=True)
class DialectFiles:
    """The JSON files a dialect's clients read, by export type (a format asked for explicitly wins)."""

    name: str  # the dialect's `task.dialect`
    layouts: Mapping[ExportType, LayoutFactory]


@dataclass(frozen=True)
class DialectWebhook:
    """The webhook body a dialect's clients expect instead of the canonical one."""

    name: str  # the dialect's `task.dialect`
    payload: PayloadBuilder


def payload_builders(webhooks: Iterable[DialectWebhook]) -> dict[str, PayloadBuilder]:
    """`{dialect name: builder}` for the notifier."""
    return {webhook.name: webhook.payload for webhook in webhooks}


def dialect_layouts(files: Iterable[DialectFiles]) -> DialectLayouts:
    """`{dialect name: {export type: layout}}` for the worker."""
    return {declared.name: declared.layouts for declared in files}
