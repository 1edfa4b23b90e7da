"""`youthmode packs [PATH...]`: every pack with its jurisdiction, legal status, dates in force
and last review, so a compliance team sees at a glance what binds, from when, and what is due
for review (`reviewed` more than 6 months ago, on the command's clock)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime
from typing import Any

from youthmode.authoring.checking import check_noting, error_count, problem_lines
from youthmode.cli import flags
from youthmode.policies import CompiledPolicy
from youthmode.policies.in_force import IN_FORCE, REVIEW_MONTHS, review_overdue

EXIT_OK, EXIT_PROBLEMS = 0, 1
COLUMNS = ("pack", "jurisdiction", "status", "in force", "rules not in force", "reviewed")


def register(sub: Any) -> None:
    """Add `packs` to the `youthmode` command."""
    cmd = sub.add_parser(
        "packs",
        help="list the packs: jurisdiction, status, dates in force, last review",
        description="List every policy loaded with its jurisdiction, legal status, dates in "
        f"force, rules not in force and last review date (due after {REVIEW_MONTHS} months).",
    )
    flags.add_policy_paths(cmd)
    flags.add_format(cmd)
    cmd.set_defaults(run=run_packs)


def run_packs(args: argparse.Namespace) -> int:
    """Print the packs of ``args.paths``; exit 1 (with the errors) when they do not load."""
    paths = flags.given_paths(args)
    now = datetime.now(UTC)
    policies, problems, _ = check_noting(paths, now)
    if error_count(problems):
        for problem in problems:
            print("\n".join(problem_lines(problem)))
        return EXIT_PROBLEMS
    rows = [pack_row(p, now.astimezone(p.zone).date()) for p in sorted(policies, key=_id)]
    if args.format == "json":
        print(json.dumps({"packs": rows}, ensure_ascii=False, indent=2))
    else:
        print("\n".join(table_lines(rows)))
    return EXIT_OK


def _id(policy: CompiledPolicy) -> str:
    return policy.id


def pack_row(policy: CompiledPolicy, today: date) -> dict[str, Any]:
    """One pack as `packs --format json` shows it (dates as ISO strings, null when absent)."""
    own = [r for r in policy.rules if r.ref.startswith(f"{policy.id}/")]
    return {
        "id": policy.id,
        "version": policy.version,
        "jurisdiction": policy.jurisdiction,
        "status": policy.status,
        "in_force": {"from": _iso(policy.in_force_from), "until": _iso(policy.in_force_until)},
        "rules": len(own),
        # each rule not in force by its own status, with that status ("proposed", ...)
        "rules_not_in_force": {r.id: r.status for r in own if r.status != IN_FORCE},
        # rules with dates other than the pack's (a duty that starts later, ...)
        "rule_dates": {
            r.id: {"from": _iso(r.in_force_from), "until": _iso(r.in_force_until)}
            for r in own
            if (r.in_force_from, r.in_force_until) != (policy.in_force_from, policy.in_force_until)
        },
        "reviewed": _iso(policy.reviewed),
        "review_due": review_overdue(policy.reviewed, today),
    }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def table_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The text table: one line per pack, columns padded to their widest cell."""
    cells = [COLUMNS, *(_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells
    ]


def _cells(row: dict[str, Any]) -> tuple[str, ...]:
    start, end = row["in_force"]["from"], row["in_force"]["until"]
    dates = f"{start or '…'} – {end or '…'}" if start or end else "always"
    # rules with dates of their own (and not in force by status) would hide behind "always"
    own = sorted(
        {
            d["from"]
            for rule, d in row["rule_dates"].items()
            if d["from"] and rule not in row["rules_not_in_force"]
        }
    )
    if own:
        dates += f" (rules from {', '.join(own)})"
    skipped = ", ".join(f"{rule} ({status})" for rule, status in row["rules_not_in_force"].items())
    reviewed = row["reviewed"] or "never"
    if row["review_due"]:
        reviewed += f" (due: over {REVIEW_MONTHS} months)"
    return (
        row["id"],
        row["jurisdiction"] or "-",
        row["status"],
        dates,
        skipped or "-",
        reviewed,
    )
