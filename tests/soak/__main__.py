"""`make soak`: start a local stack on free loopback ports, run the soak, print its figures;
exit 1 if anything it asserts did not hold."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from tests.integration.conftest import start_stack
from tests.soak.run import STACK_ARGS, STACK_ENV, SoakOptions, run_soak


def main() -> int:
    defaults = SoakOptions()
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__)
    parser.add_argument("--clients", type=int, default=defaults.clients)
    parser.add_argument("--exports", type=int, default=defaults.exports)
    parser.add_argument("--contacts", type=int, default=defaults.contacts, help="per tenant")
    parser.add_argument("--kills", type=int, default=defaults.kills)
    args = parser.parse_args()
    options = SoakOptions(
        clients=args.clients, exports=args.exports, contacts=args.contacts, kills=args.kills
    )
    os.environ.update(STACK_ENV)
    with tempfile.TemporaryDirectory(prefix="mailexports-soak-") as directory:
        stack = start_stack(Path(directory) / "stack", *STACK_ARGS)
        try:
            report = run_soak(stack, options, Path(directory))
        finally:
            stack.stop()
        if report.problems:
            print(report.text(), file=sys.stderr)
            print(f"stack log tail:\n{stack.log_tail(40)}", file=sys.stderr)
            return 1
    print("[soak] green", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
