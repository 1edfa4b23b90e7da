"""`youthmode test [PATH...]`: run policy test files (`*_test.toml`) and report rule coverage;
exit 1 on a failure, a problem in a test file, or coverage under `--threshold`."""

from __future__ import annotations

import argparse
import json
from typing import Any

from youthmode.authoring.testrun import below_threshold, report_lines, run_tests
from youthmode.cli import flags


def register(sub: Any) -> None:
    """Add `test` to the `youthmode` command."""
    cmd = sub.add_parser(
        "test",
        help="run policy test files (*_test.toml) and report rule coverage",
        description="Run the [[case]]s of policy test files against the policies beside them.",
    )
    cmd.add_argument(
        "paths", nargs="*", help="test files or folders (configs, else the shipped packs' tests)"
    )
    flags.add_policies(
        cmd, "test against this policy folder or file (repeatable), not the one of each file"
    )
    cmd.add_argument("--coverage", action="store_true", help="print per-rule counts")
    cmd.add_argument(
        "--threshold",
        type=float,
        default=0.0,
        metavar="PERCENT",
        help="fail when a policy has fewer rules exercised than this",
    )
    cmd.add_argument("-k", dest="name_filter", help="run only cases whose name contains this")
    cmd.add_argument("-v", "--verbose", action="store_true", help="list passing cases too")
    flags.add_format(cmd)
    cmd.set_defaults(run=run_test)


def run_test(args: argparse.Namespace) -> int:
    """Run the test files named (default: every one under configs/); exit 1 on any failure."""
    args.paths = args.paths or [flags.default_policies()]
    report = run_tests(args.paths, args.policies, args.name_filter)
    low = below_threshold(report, args.threshold)
    if args.format == "json":
        data = report.to_dict()
        data["ok"] = report.ok and not low
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        lines = report_lines(
            report,
            low,
            paths=args.paths,
            verbose=args.verbose,
            detailed=args.coverage,
            threshold=args.threshold,
        )
        for line in lines:
            print(line)
    return 0 if report.ok and not low else 1
