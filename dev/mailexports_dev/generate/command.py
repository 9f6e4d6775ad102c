"""`mailexports generate`: the command line of the generator (imported only when it runs)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date

import mailexports_dev.generate as package
from mailexports_dev.generate.model import GenerateOptions, options_for_send_events
from mailexports_dev.generate.stream import write_dataset


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="write a synthetic dataset in the NDJSON import format",
        description=package.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    defaults = GenerateOptions()
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--contacts", type=_count, default=defaults.contacts, metavar="N")
    size.add_argument(
        "--events-per-send",
        type=_count,
        metavar="N",
        help="size --contacts so that a send to every active contact has about N events",
    )
    parser.add_argument("--sends", type=_count, default=defaults.sends, metavar="N")
    parser.add_argument("--campaigns", type=_count, default=defaults.campaigns, metavar="N")
    parser.add_argument("--segments", type=_count, default=defaults.segments, metavar="N")
    parser.add_argument("--seed", type=int, default=defaults.seed, metavar="S")
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        default=defaults.start,
        metavar="YYYY-MM-DD",
        help="first send day (UTC); contacts sign up in the year before it",
    )
    parser.add_argument("--out", metavar="FILE", help="write here instead of stdout ('-')")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    contacts = args.contacts
    if args.events_per_send is not None:
        contacts = options_for_send_events(args.events_per_send).contacts
    try:
        options = GenerateOptions(
            contacts=contacts,
            sends=args.sends,
            campaigns=args.campaigns,
            segments=args.segments,
            seed=args.seed,
            start=args.start,
        )
    except ValueError as error:
        print(f"mailexports generate: {error}", file=sys.stderr)
        return 2
    if args.out and args.out != "-":
        with open(args.out, "w", encoding="utf-8", newline="\n") as out:
            count = write_dataset(options, out)
        print(f"wrote {count} lines to {args.out}", file=sys.stderr)
        return 0
    try:
        write_dataset(options, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader stopped early (`| head`): not an error; keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
