"""`youthmode replay LOG [LOG ...] --policies DIR`: re-decide a decision log against another
policy set and report what would change.

Exit 0: nothing flips; 1: some decision flips (allow to deny or deny to allow); 2: bad input (a
LOG that cannot be read or is not a decision log, policies that do not load).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from youthmode.authoring.replay import DEFAULT_EXAMPLES, Replayer, ReplayError, ReplayReport
from youthmode.authoring.replay_report import report_json, report_lines
from youthmode.cli import flags
from youthmode.cli.diff import load_problems
from youthmode.engine import Engine
from youthmode.errors import PolicyError

EXIT_SAME, EXIT_FLIPS, EXIT_BAD_INPUT = 0, 1, 2


def register(sub: Any) -> None:
    """Add `replay` to the `youthmode` command."""
    cmd = sub.add_parser(
        "replay",
        help="re-decide a decision log against other policies (exit 1 if a decision flips)",
        description="Decide every logged request again with the policies in --policies, at "
        "its logged time, and report how many decisions flip (allow to deny, deny to allow), "
        "change reasons or band: by action, band and reason code, with examples. Lines that "
        "cannot be replayed (unreadable, a policy the new set lacks, fail-closed denials) are "
        "counted as skipped. Exit 0: nothing flips; 1: some decision flips; 2: a LOG does not "
        "exist or is not a decision log, or the policies do not load.",
    )
    cmd.add_argument("logs", nargs="+", type=Path, metavar="LOG", help="decision log files")
    flags.add_policies(
        cmd, "policy file or folder to replay against (repeatable; default: configs)"
    )
    cmd.add_argument("--json", action="store_true", help="print the report as JSON")
    cmd.add_argument(
        "--examples",
        type=_count,
        default=DEFAULT_EXAMPLES,
        metavar="N",
        help=f"examples kept of each kind of change (default {DEFAULT_EXAMPLES})",
    )
    cmd.set_defaults(run=run_replay)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"`{text}` is not a whole number of examples")
    return value


def run_replay(args: argparse.Namespace) -> int:
    """Replay each LOG in turn into one report; print it; exit by whether anything flipped."""
    try:
        engine = Engine.from_path(*flags.policy_paths(args))
    except PolicyError as err:
        return load_problems(err)
    replayer = Replayer(engine, examples=args.examples)
    for path in args.logs:
        problem = _feed(replayer, path)
        if problem is not None:
            print(f"youthmode: cannot replay: {problem}", file=sys.stderr)
            return EXIT_BAD_INPUT
    _print(replayer.report, args.json)
    return EXIT_FLIPS if replayer.report.flipped else EXIT_SAME


def _feed(replayer: Replayer, path: Path) -> str | None:
    """Replay one file; why it could not be, or None."""
    if not path.is_file():
        return f"{path}: no such file" if not path.exists() else f"{path}: not a file"
    try:
        with path.open("rb") as lines:
            replayer.feed(lines, str(path))
    except ReplayError as err:
        return str(err)
    except OSError as err:
        return f"{path}: cannot be read: {err.strerror or err}"
    return None


def _print(report: ReplayReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report_json(report), ensure_ascii=False, indent=2))
    else:
        print("\n".join(report_lines(report)))
