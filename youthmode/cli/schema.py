"""`youthmode schema`: print (or write) the JSON Schema of policy files or policy test files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from youthmode.authoring.jsonschema import policy_schema, policy_tests_schema, render


def register(sub: Any) -> None:
    """Add `schema` to the `youthmode` command."""
    cmd = sub.add_parser(
        "schema",
        help="print the JSON Schema of policy files (for editor completion and validation)",
        description="Print the JSON Schema (draft 2020-12) of the policy file format. "
        "See docs/editor-setup.md for taplo and Even Better TOML.",
    )
    cmd.add_argument("--output", "-o", metavar="FILE", help="write it to FILE instead")
    cmd.add_argument(
        "--tests", action="store_true", help="the schema of policy test files (*_test.toml)"
    )
    cmd.set_defaults(run=run_schema)


def run_schema(args: argparse.Namespace) -> int:
    """Print (or write) the schema."""
    text = render(policy_tests_schema() if args.tests else policy_schema())
    if args.output is None:
        print(text, end="")
        return 0
    path = Path(args.output)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        print(f"youthmode schema: cannot write `{path}`: {err.strerror}", file=sys.stderr)
        return 2
    print(f"wrote {path}", file=sys.stderr)
    return 0
