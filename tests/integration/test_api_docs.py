"""The OpenAPI document and Swagger UI served by the local stack over HTTP, as a browser
and a client generator would fetch them: no key, every asset from the service itself."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
import requests
from openapi_spec_validator import validate

from tests.integration.conftest import RunningStack

pytestmark = pytest.mark.integration

EXPECTED_TYPES = {".js": "application/javascript", ".css": "text/css"}


class AssetReferences(HTMLParser):
    """Every `<script src>` and `<link href>` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.found.append(value)


def test_openapi_json_needs_no_key_and_validates(local_stack: RunningStack) -> None:
    response = requests.get(f"{local_stack.api_url}/v1/openapi.json", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    document = response.json()
    validate(document)
    assert document["servers"] == [{"url": local_stack.api_url}]
    assert "/v1/exports" in document["paths"]


def test_docs_page_and_every_asset_it_references_load_from_the_service(local_stack: RunningStack) -> None:
    page_url = f"{local_stack.api_url}/v1/docs"
    page = requests.get(page_url, timeout=30)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    parser = AssetReferences()
    parser.feed(page.text)
    assets = [urljoin(page_url, ref) for ref in parser.found]
    assert {Path(urlparse(a).path).suffix for a in assets} == {".js", ".css"}, parser.found
    for asset in assets:
        assert asset.startswith(f"{local_stack.api_url}/v1/docs/"), f"{asset} does not come from the service"
        response = requests.get(asset, timeout=30)
        assert response.status_code == 200, asset
        assert response.headers["Content-Type"].startswith(EXPECTED_TYPES[Path(urlparse(asset).path).suffix])
        assert len(response.content) > 100_000, asset  # the real Swagger UI bundle, not a stub
    assert "SwaggerUIBundle(" in page.text
    assert '"/v1/exports"' in page.text  # the spec is embedded in the page


def test_docs_render_in_a_headless_browser(local_stack: RunningStack, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no chromium on this machine; the page and its assets are checked over HTTP above")
    result = subprocess.run(
        [
            browser, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path}",
            "--virtual-time-budget=10000", "--dump-dom", f"{local_stack.api_url}/v1/docs",
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    # Swagger UI replaced "Loading..." with the rendered operations.
    assert "opblock-summary" in result.stdout, result.stdout[-2000:]
    assert "/v1/exports" in result.stdout
