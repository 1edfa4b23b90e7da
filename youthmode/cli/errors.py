"""`youthmode errors [CODE]`: the page that explains a problem code `check` printed, read from
the installed package (or the checkout), so it works where the docs folder is not at hand."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from youthmode.errors import did_you_mean
from youthmode.policies import diagnostics
from youthmode.shipped import error_page, error_page_text

EXIT_OK, EXIT_UNKNOWN = 0, 2


def register(sub: Any) -> None:
    """Add `errors` to the `youthmode` command."""
    cmd = sub.add_parser(
        "errors",
        help="print the page that explains a problem code (no code: list them)",
        description="Print docs/errors/CODE.md, the page `youthmode check` links for CODE: "
        "what it means, an example and the fix. Without CODE, list every code.",
    )
    cmd.add_argument("code", nargs="?", help="a problem code, e.g. unknown_key")
    cmd.set_defaults(run=run_errors)


def run_errors(args: argparse.Namespace) -> int:
    """Print the page of ``args.code``, or the list of codes; exit 2 for an unknown code."""
    if args.code is None:
        for code in diagnostics.CODES:
            print(f"{code.name:<28} {code.meaning}")
        return EXIT_OK
    known = [code.name for code in diagnostics.CODES]
    text = error_page_text(args.code) if args.code in known else None
    if text is None:
        hint = did_you_mean(args.code, known) or "`youthmode errors` lists every code"
        print(f"youthmode errors: no problem code `{args.code}`; {hint}", file=sys.stderr)
        return EXIT_UNKNOWN
    print(f"<!-- {error_page(args.code)} -->")
    print(text, end="")
    return EXIT_OK
