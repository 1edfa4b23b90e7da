"""The `youthmode` argument parser: one subcommand per module of `youthmode.cli`, in the order
`youthmode --help` lists them."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from youthmode.cli import (
    check,
    diff,
    errors,
    explain,
    floor,
    keys,
    nppa,
    packs,
    replay,
    schedule,
    schema,
    serve,
    studio,
    test,
)

# The words of `youthmode --help`, kept as they were when this was one module (`cli.py`).
DESCRIPTION = (
    "The `youthmode` command: serve the API and manage keys; the authoring commands (check,\n"
    "explain, decide, test, schema, ...) come from `youthmode.authoring`."
)

# Each module adds its subcommands with `register(subparsers)`; a new command is one more here.
COMMANDS = (
    serve,
    keys,
    check,
    errors,
    explain,
    test,
    schema,
    schedule,
    diff,
    floor,
    packs,
    replay,
    studio,
    nppa,
)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand; each sets `run`, the function that carries it out."""
    from youthmode import __version__

    parser = argparse.ArgumentParser(prog="youthmode", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"youthmode {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: the process's arguments) and run the command; its exit code."""
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code
