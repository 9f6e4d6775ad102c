"""`mailexports` command-line entry point: one sub-command per module, parsed here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _build_parser() -> argparse.ArgumentParser:
    from mailexports_cli import generate, load, tenants
    from mailexports_cli.client import commands as client
    from mailexports_cli.local import stack

    parser = argparse.ArgumentParser(prog="mailexports", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    stack.register(sub)
    tenants.register(sub)
    generate.register(sub)
    load.register(sub)
    client.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
