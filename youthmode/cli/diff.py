"""`youthmode diff OLD NEW`: the behavioural difference between two versions of a policy.

Exit 0: no change; 1: changes (a CI gate for policy reviews); 2: a policy does not load or the
two cannot be paired.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from youthmode.authoring.analysis import AnalysisError, diff
from youthmode.authoring.analysis_report import diff_json, diff_lines
from youthmode.authoring.dimensions import UnvariedFact
from youthmode.authoring.domain import load_set
from youthmode.cli import flags
from youthmode.errors import PolicyError


def register(sub: Any) -> None:
    """Add `diff` to the `youthmode` command."""
    cmd = sub.add_parser(
        "diff",
        help="behavioural difference between two versions of a policy (exit 1 if any)",
        description="Evaluate OLD and NEW on every band, action, kind of day, time slice and "
        "threshold they mention, and print each region where the decision changes, with a "
        "request that shows it. Exit 0: no change; 1: changes; 2: a policy does not load.",
    )
    cmd.add_argument("old", type=Path, help="policy file or folder (the old version)")
    cmd.add_argument("new", type=Path, help="policy file or folder (the new version)")
    flags.add_policy(cmd, "the policy id to compare (default: the one each defines)")
    cmd.add_argument(
        "--compare",
        choices=["effect", "reasons"],
        default="effect",
        help="effect: allow/deny only (default); reasons: also reason codes and rest reminders",
    )
    flags.add_comparison(cmd)
    cmd.set_defaults(run=cmd_diff)


def cmd_diff(args: argparse.Namespace) -> int:
    """Compare OLD and NEW and print every region where the decision changes."""
    started = time.perf_counter()
    try:
        old = load_set([args.old], args.extra)
        new = load_set([args.new], args.extra)
    except PolicyError as err:
        return load_problems(err)
    try:
        result = diff(
            old,
            new,
            years=flags.years(args),
            policy=args.policy,
            reasons=args.compare == "reasons",
            started=started,
        )
    except (AnalysisError, UnvariedFact) as err:
        return fail(str(err))
    if args.format == "json":
        print(json.dumps(diff_json(result), indent=2))
    else:
        for line in diff_lines(result, args.max_regions, args.max_per_rule):
            print(line)
    return 1 if result.changed else 0


def load_problems(err: PolicyError) -> int:
    """Print why the policies do not load; exit code 2."""
    print("youthmode: cannot load policies:", file=sys.stderr)
    for problem in err.problems:
        print(f"  {problem}", file=sys.stderr)
    return 2


def fail(message: str) -> int:
    print(f"youthmode: {message}", file=sys.stderr)
    return 2
