"""`mailexports` command-line entry point: one sub-command per module, parsed here."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Developer commands live in mailexports_dev and are imported only when one runs, so the
# operator commands never load the local stack (moto) or the generator. Each module
# defines its own arguments (`register`); its parser takes over the rest of the line.
DEV_COMMANDS = {
    "run": (
        "mailexports_dev.local.stack",
        "run the whole service locally (embedded moto, API, queue pumps, outbox)",
    ),
    "generate": ("mailexports_dev.generate.command", "write a synthetic dataset in the NDJSON import format"),
}


def _build_parser() -> argparse.ArgumentParser:
    from mailexports_cli import load, tenants
    from mailexports_cli.client import commands as client
    from mailexports_cli.client import schedule_commands

    parser = argparse.ArgumentParser(prog="mailexports", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, summary) in DEV_COMMANDS.items():
        sub.add_parser(name, help=summary, add_help=False).set_defaults(dev_command=name)
    tenants.register(sub)
    load.register(sub)
    client.register(sub)
    schedule_commands.register(sub)
    return parser


def _run_dev_command(name: str, argv: list[str]) -> int:
    module = importlib.import_module(DEV_COMMANDS[name][0])
    parser = argparse.ArgumentParser(prog="mailexports")
    module.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args([name, *argv])
    return int(args.handler(args) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args, rest = parser.parse_known_args(argv)
    try:
        dev_command = getattr(args, "dev_command", None)
        if dev_command is not None:
            return _run_dev_command(dev_command, rest)
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
