"""`youthmode check [PATH...]`: validate policy files; exit 1 on any error."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from youthmode.authoring.checking import check_lines, check_noting, check_report, error_count
from youthmode.cli import flags

EXIT_OK, EXIT_PROBLEMS = 0, 1


def register(sub: Any) -> None:
    """Add `check` to the `youthmode` command."""
    cmd = sub.add_parser(
        "check",
        help="validate policy files",
        description="Validate policy files: every problem, with its hint and help page.",
    )
    flags.add_policy_paths(cmd)
    flags.add_format(cmd)
    cmd.set_defaults(run=run_check)


def run_check(args: argparse.Namespace) -> int:
    """Validate the policy files named in ``args.paths``; exit 1 on any error."""
    paths = flags.given_paths(args)
    policies, problems, notes = check_noting(paths, datetime.now(UTC))
    if args.format == "json":
        print(json.dumps(check_report(policies, problems, notes), ensure_ascii=False, indent=2))
    else:
        for line in check_lines(policies, problems, paths, notes):
            print(line)
    return EXIT_PROBLEMS if error_count(problems) else EXIT_OK
