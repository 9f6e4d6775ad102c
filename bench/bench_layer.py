"""Handler import CPU time from the layer `sam build` made, with its bytecode and without.

Builds nothing: it runs only when `.aws-sam/build` holds the layer (`make build` first),
and says so otherwise. Every process is this Python 3.13 with `-S` (no site-packages, so
only the stdlib and the layer, as on Lambda, where the layer's pinned boto3 shadows the
runtime's) and PYTHONPATH the layer's python/ directory. "From source" runs a copy of the
layer without its __pycache__ directories (the stdlib keeps its bytecode, as Lambda's
does): what each cold start paid when the layer shipped no .pyc. With
PYTHONDONTWRITEBYTECODE=1 neither run writes any. Measured like bench_exports' import
figures: CPU time in fresh processes, medians over interleaved rounds (boto3, handler from
bytecode, handler from source, ...).
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time

from bench.import_timing import IMPORT_RATIO, ROOT, handler_import_code, handlers, import_seconds

LAYER = ROOT / ".aws-sam" / "build" / "MailexportsLayer" / "python"


def main(rounds: int = 3) -> None:
    if not (LAYER / "mailexports").is_dir():
        print(f"  skipped: no built layer in {LAYER.relative_to(ROOT)} (run `make build`, then `make bench`)")
        return
    age_min = (time.time() - (LAYER / "mailexports").stat().st_mtime) / 60
    print(f"handler import CPU time from the built layer ({age_min:.0f} min old), median of {rounds} rounds:")
    python = (sys.executable, "-S")
    with tempfile.TemporaryDirectory() as scratch:
        source_layer = shutil.copytree(
            LAYER, f"{scratch}/python", ignore=shutil.ignore_patterns("__pycache__")
        )
        compiled = {"PYTHONPATH": str(LAYER), "PYTHONDONTWRITEBYTECODE": "1"}
        source = {"PYTHONPATH": str(source_layer), "PYTHONDONTWRITEBYTECODE": "1"}

        def measure(code: str, env: dict[str, str]) -> float:
            return import_seconds(code, 1, python=python, env=env)

        boto3 = [(measure("import boto3", compiled), measure("import boto3", source)) for _ in range(rounds)]
        base = statistics.median(b for b, _ in boto3)
        print(
            f"  {'bare `import boto3`':<28} {base * 1000:>6.0f} ms from bytecode, "
            f"{statistics.median(s for _, s in boto3) * 1000:>5.0f} ms from source"
        )
        for handler in handlers():
            code = handler_import_code(handler)
            samples = [
                (measure("import boto3", compiled), measure(code, compiled), measure(code, source))
                for _ in range(rounds)
            ]
            ratio = statistics.median(h / b for b, h, _ in samples)
            with_pyc = statistics.median(h for _, h, _ in samples)
            without = statistics.median(s for _, _, s in samples)
            verdict = "meets target" if ratio <= IMPORT_RATIO else "MISSES target"
            print(
                f"  {'functions/' + handler + '/app.py':<28} {with_pyc * 1000:>6.0f} ms from bytecode, {without * 1000:>5.0f} ms "
                f"from source; bytecode vs boto3 x{ratio:.2f} (target <= {IMPORT_RATIO}: {verdict})"
            )
