"""The OpenAPI document of the canonical API, and Swagger UI on it (StatusFunction, no key).

Powertools generates the document from the canonical routes' declared parameters,
bodies and `responses=`. The routes live in two functions, so the document comes
from a resolver of its own holding both canonical routers (and no dialect route);
it is never used to answer requests. Swagger UI is Powertools' page with the
assets Powertools ships, served from here: nothing loads from a CDN.

Powertools' OpenAPI document models and its Swagger UI page are imported by the
documentation routes when they first run, not with the module: StatusFunction answers
status and listings far more often than documentation, and those models alone are a
sizeable part of its cold start.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import aws_lambda_powertools.event_handler as event_handler
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.request import Request

from mailexports.api.canonical import status_router, submit_router
from mailexports.api.http import api_base_url, json_response
from mailexports.api.schedules import schedules_read_router, schedules_write_router
from mailexports.errors import NotFound

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import SecurityScheme

TITLE = "mailexports"
API_VERSION = "1.0.0"
DESCRIPTION = (
    "Asynchronous data exports of an email-marketing platform: submit an export, poll the "
    "task, download its files. Authenticate with `Authorization: Bearer <api key>` or `x-api-key`."
)

_ASSETS_DIR = Path(event_handler.__file__).parent / "openapi" / "swagger_ui"
_ASSETS = {
    "swagger-ui-bundle.min.js": "application/javascript; charset=utf-8",
    "swagger-ui.min.css": "text/css; charset=utf-8",
}
# Relative to the page `/v1/docs`, so it also resolves under a stage prefix (`/Prod/v1/docs`).
_ASSETS_BASE = "docs"

docs_router = Router()


@cache
def _document_resolver() -> APIGatewayRestResolver:
    # Validation off here: it would add Powertools' own 422 model to every route, while
    # each route's `responses=` already documents the canonical errors it answers.
    resolver = APIGatewayRestResolver(enable_validation=False)
    resolver.include_router(submit_router)
    resolver.include_router(status_router)
    resolver.include_router(schedules_write_router)
    resolver.include_router(schedules_read_router)
    return resolver


# Powertools adds its own validation-error models whatever the routes say; ours answer
# with ErrorResponse, so these are dropped when nothing refers to them.
_POWERTOOLS_MODELS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")


def _security_schemes() -> dict[str, SecurityScheme]:
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer

    return {
        "bearer": HTTPBearer(description="`Authorization: Bearer <api key>`"),
        "apiKey": APIKey(name="x-api-key", in_=APIKeyIn.header, description="The same key as `x-api-key`."),
    }


@cache
def _document_json() -> str:
    from aws_lambda_powertools.event_handler.openapi.models import Server

    document: dict[str, Any] = json.loads(
        _document_resolver().get_openapi_json_schema(
            title=TITLE,
            version=API_VERSION,
            description=DESCRIPTION,
            servers=[Server(url="/")],
            security_schemes=_security_schemes(),
        )
    )
    schemas = document["components"]["schemas"]
    ours = {name: schema for name, schema in schemas.items() if name not in _POWERTOOLS_MODELS}
    used = json.dumps([document["paths"], ours])
    for name in _POWERTOOLS_MODELS:
        if f'"#/components/schemas/{name}"' not in used:
            schemas.pop(name, None)
    return json.dumps(document)


def openapi_document(server_url: str = "/") -> dict[str, Any]:
    """The document as a dict; `server_url` is where "Try it out" sends requests."""
    document: dict[str, Any] = json.loads(_document_json())
    document["servers"] = [{"url": server_url}]
    return document


def render(document: dict[str, Any]) -> str:
    """The canonical text of the document (what docs/openapi.json holds)."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@docs_router.get("/v1/openapi.json", include_in_schema=False)
def openapi_json(request: Request) -> Response[str]:
    return json_response(200, openapi_document(api_base_url(request.resolved_event)))


@docs_router.get("/v1/docs", include_in_schema=False)
def swagger_ui(request: Request, format: Annotated[str | None, Query()] = None) -> Response[str]:
    document = openapi_document(api_base_url(request.resolved_event))
    if format == "json":  # the page shows its spec's URL as `/v1/docs?format=json`
        return json_response(200, document)
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

    spec = json.dumps(document).replace("</", "<\\/")  # never closes the page's <script>
    page = generate_swagger_html(
        spec,
        f"{_ASSETS_BASE}/swagger-ui-bundle.min.js",
        f"{_ASSETS_BASE}/swagger-ui.min.css",
        _ASSETS_BASE,
        None,
    )
    return Response(200, content_types.TEXT_HTML, page, headers={"Cache-Control": "no-store"})


@docs_router.get("/v1/docs/<asset>", include_in_schema=False)
def swagger_asset(asset: str) -> Response[str]:
    content_type = _ASSETS.get(asset)
    if content_type is None:
        raise NotFound(f"no documentation asset {asset!r}")
    return Response(
        200,
        content_type,
        _asset_text(asset),
        headers={"Cache-Control": "public, max-age=86400"},
    )


@cache
def _asset_text(name: str) -> str:
    return (_ASSETS_DIR / name).read_text(encoding="utf-8")
