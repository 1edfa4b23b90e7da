"""`youthmode floor PACK`: prove a pack never allows what the baseline denies, or print the
counterexamples (exit 1). The baseline defaults to the engine's default policy among those
loaded from `--baseline-path` (the one marked default, or the only one)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from youthmode.authoring.analysis import AnalysisError, default_baseline, engine_of, floor
from youthmode.authoring.analysis_report import floor_json, floor_lines
from youthmode.authoring.dimensions import UnvariedFact
from youthmode.authoring.domain import load_set
from youthmode.cli import flags
from youthmode.cli.diff import fail, load_problems
from youthmode.errors import PolicyError


def register(sub: Any) -> None:
    """Add `floor` to the `youthmode` command."""
    cmd = sub.add_parser(
        "floor",
        help="prove a pack never allows what the baseline denies (exit 1 with counterexamples)",
        description="Evaluate the baseline and PACK on the same domain as `diff` and print "
        "every region where PACK allows a request the baseline denies.",
    )
    cmd.add_argument("pack", type=Path, help="the pack: a policy file or folder")
    cmd.add_argument(
        "--baseline",
        help="baseline policy id (default: the default policy of --baseline-path)",
    )
    cmd.add_argument(
        "--baseline-path",
        type=Path,
        help="where the baseline is loaded from (default: configs, else the shipped packs)",
    )
    flags.add_comparison(cmd)
    cmd.set_defaults(run=cmd_floor)


def cmd_floor(args: argparse.Namespace) -> int:
    """Check every pack PACK defines against the baseline."""
    args.baseline_path = args.baseline_path or Path(flags.default_policies())
    try:
        loaded = load_set([args.pack], [*args.extra, args.baseline_path])
    except PolicyError as err:
        return load_problems(err)
    baseline_id = args.baseline or default_baseline(loaded)
    if baseline_id is None:
        return fail(
            f"no default baseline among the policies loaded ({', '.join(sorted(loaded.policies))})"
            "; name one with --baseline"
        )
    baseline = loaded.policies.get(baseline_id)
    if baseline is None:
        return fail(
            f"baseline `{baseline_id}` is not loaded (from {args.pack} or {args.baseline_path})"
        )
    packs = [loaded.policies[p] for p in loaded.primary if p != baseline_id]
    if not packs:
        return fail(f"{args.pack} defines no policy other than the baseline `{baseline_id}`")
    try:
        result = floor(baseline, packs, engine_of(loaded), flags.years(args))
    except (AnalysisError, UnvariedFact) as err:
        return fail(str(err))
    if args.format == "json":
        print(json.dumps(floor_json(result), indent=2))
    else:
        for line in floor_lines(result, args.max_regions, args.max_per_rule):
            print(line)
    return 1 if result.failed else 0
