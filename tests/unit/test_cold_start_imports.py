"""What each function's cold start loads: only its own routes and modules.

Each handler is imported in a fresh interpreter, as Lambda does, and the modules it
must not load are looked for in `sys.modules`. The import time itself is measured by
`make bench` (bench_imports), never here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mailexports_dev.local.template import PROJECT_ROOT

# The HTTP side of the API: the Event Handler, request authentication, the API modules.
HTTP = ("aws_lambda_powertools.event_handler", "mailexports.auth", "mailexports.api")
# Powertools' parser models for every event source: `utilities.batch` imports them all
# when pydantic is already loaded, so the batch handlers import it before pydantic.
PARSER = ("aws_lambda_powertools.utilities.parser",)
# The import format's record models: only code that parses records builds them.
IMPORT_MODELS = ("mailexports.marketing.records",)
# The OpenAPI document models and Swagger UI: imported by the documentation routes when called.
DOCUMENTATION = (
    "aws_lambda_powertools.event_handler.openapi.models",
    "aws_lambda_powertools.event_handler.openapi.swagger_ui",
)

NOT_LOADED = {
    "worker": HTTP
    + PARSER
    + IMPORT_MODELS
    + ("mailexports.dialects.pinpointe", "mailexports.dialects.selzy"),
    "notify": HTTP
    + PARSER
    + IMPORT_MODELS
    + ("mailexports.dialects.copernica", "mailexports.exports.layouts"),
    "watchdog": HTTP + PARSER + IMPORT_MODELS + ("mailexports.dialects",),
    "ingest": HTTP + PARSER + ("mailexports.exports", "mailexports.dialects"),
    # The scheduler validates stored submit bodies with the API's SubmitBody (api.schemas).
    "scheduler": ("aws_lambda_powertools.event_handler", "mailexports.auth", *PARSER, *IMPORT_MODELS),
    "submit": PARSER + IMPORT_MODELS + DOCUMENTATION,
    "status": PARSER + IMPORT_MODELS + DOCUMENTATION,
}


def loaded_modules(function: str) -> set[str]:
    path = PROJECT_ROOT / "functions" / function / "app.py"
    script = (
        "import importlib.util, json, sys; "
        f"spec = importlib.util.spec_from_file_location('app', {str(path)!r}); "
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module); "
        "print(json.dumps(sorted(sys.modules)))"
    )
    env = {
        **os.environ,
        **dict.fromkeys(("TASKS_TABLE", "LIMITS_TABLE", "TENANTS_TABLE", "MARKETING_TABLE"), "t"),
        "EXPORTS_BUCKET": "b",
        "DATA_BUCKET": "b",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT, env=env
    )
    return set(json.loads(out.stdout))


def test_every_function_is_checked() -> None:
    assert set(NOT_LOADED) == {path.parent.name for path in (PROJECT_ROOT / "functions").glob("*/app.py")}


@pytest.mark.parametrize("function", sorted(NOT_LOADED))
def test_a_cold_start_loads_only_what_the_function_uses(function: str) -> None:
    modules = loaded_modules(function)
    assert "mailexports" in modules  # the handler did import the service
    unwanted = sorted(
        name
        for name in modules
        for prefix in NOT_LOADED[function]
        if name == prefix or name.startswith(prefix + ".")
    )
    assert unwanted == []
