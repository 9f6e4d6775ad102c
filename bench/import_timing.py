"""CPU time of imports in fresh processes, shared by the import benchmarks."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMPORT_RATIO = 1.3  # handler import / bare boto3 import, at most (DESIGN.md)

# What the handlers' settings need at import time; never used to reach AWS.
HANDLER_ENV = {
    "TASKS_TABLE": "t",
    "LIMITS_TABLE": "t",
    "TENANTS_TABLE": "t",
    "MARKETING_TABLE": "t",
    "EXPORTS_BUCKET": "b",
    "DATA_BUCKET": "b",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def handlers() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))


def handler_import_code(handler: str) -> str:
    """Code that imports functions/<handler>/app.py as Lambda does, by its file."""
    path = ROOT / "functions" / handler / "app.py"
    return (
        "import importlib.util as u; "
        f"s = u.spec_from_file_location('h', {str(path)!r}); m = u.module_from_spec(s); s.loader.exec_module(m)"
    )


def import_seconds(
    code: str, runs: int = 7, *, python: Sequence[str] = (sys.executable,), env: dict[str, str] | None = None
) -> float:
    """Median CPU time of `code` over `runs` fresh processes of `python` (argv prefix)."""
    full_env = {**os.environ, **HANDLER_ENV, **(env or {})}
    # CPU time of the importing process: on a shared machine wall time mostly measures the neighbours.
    script = f"import time; t = time.process_time(); {code}; print(time.process_time() - t)"
    samples = [
        float(
            subprocess.run(
                [*python, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT, env=full_env
            ).stdout
        )
        for _ in range(runs)
    ]
    return statistics.median(samples)


# The least a handler of this stack imports: boto3, one pydantic model, Powertools' Logger
# and Metrics, then an Event Handler with validation and one typed route (what DESIGN and
# the Powertools examples the project follows prescribe). Each adds to the one above it;
# if these already exceed IMPORT_RATIO, no handler built on them can meet it.
_MODEL = "import boto3\nfrom pydantic import BaseModel\nclass Answer(BaseModel):\n    id: str\n"
_OBSERVED = (
    _MODEL + "from aws_lambda_powertools import Logger, Metrics\n"
    "logger = Logger(service='floor')\nmetrics = Metrics(namespace='floor', service='floor')\n"
)
_ROUTED = (
    _OBSERVED + "from aws_lambda_powertools.event_handler import APIGatewayRestResolver\n"
    "app = APIGatewayRestResolver(enable_validation=True)\n"
    "@app.get('/answers/<id>')\ndef answer(id: str) -> Answer:\n    return Answer(id=id)\n"
)
STACK_FLOOR = {
    "boto3 + one pydantic model": f"exec({_MODEL!r})",
    "+ Powertools Logger, Metrics": f"exec({_OBSERVED!r})",
    "+ Event Handler, validation, 1 route": f"exec({_ROUTED!r})",
}
