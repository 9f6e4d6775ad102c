"""Run every benchmark module (bench/bench_*.py) in turn; each prints its own figures."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import time

# Figures only: no Powertools log lines or EMF metric documents between them. Set before
# any mailexports module builds its Logger and Metrics.
os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"

import bench
from mailexports.observability import metrics

# Powertools prints a metric set once it holds 100 values even with metrics disabled, and
# the benchmarks call the worker outside any handler that would flush it.
metrics.add_metric = lambda *args, **kwargs: None  # type: ignore[method-assign]


def main() -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    only = set(sys.argv[1:])
    for name in names:
        if only and name.removeprefix("bench_") not in only and name not in only:
            continue
        print(f"\n== {name} ==", flush=True)
        started = time.perf_counter()
        importlib.import_module(f"bench.{name}").main()
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
