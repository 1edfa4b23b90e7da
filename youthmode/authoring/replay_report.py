"""The text and JSON forms of a replay report: the summary first, then the changes by action,
band and reason code, what was skipped and why, the examples, and the policies' digests."""

from __future__ import annotations

from collections import Counter
from typing import Any

from youthmode.authoring.replay import (
    ALLOW_TO_DENY,
    BAND_CHANGED,
    CHANGE_KINDS,
    DENY_TO_ALLOW,
    FLIPS,
    REASONS_CHANGED,
    Outcome,
    ReplayReport,
)

KIND_NAMES = {
    ALLOW_TO_DENY: "allow → deny",
    DENY_TO_ALLOW: "deny → allow",
    REASONS_CHANGED: "same effect, other reasons",
    BAND_CHANGED: "same outcome, other band",
}
SKIP_NAMES = {
    "unreadable": "unreadable lines",
    "truncated": "a cut-off last line",
    "unknown_policy": "policy not in the new set",
    "failed_closed": "logged as a fail-closed denial",
    "rejected": "request rejected by the new set",
    "no_time": "no time to replay at",
}


def report_json(report: ReplayReport) -> dict[str, Any]:
    """The report as JSON: counts, then examples (each with before and after)."""
    return {
        "total": report.total,
        "replayed": report.replayed,
        "unchanged": report.unchanged,
        "flipped": report.flipped,
        "changes": {kind: report.changes[kind] for kind in CHANGE_KINDS},
        "skipped": dict(report.skipped),
        "by_action": _groups(report.by_action),
        "by_band": _groups(report.by_band),
        "by_reason": _groups(report.by_reason),
        "examples": {
            kind: [example.as_json() for example in report.examples.get(kind, [])]
            for kind in CHANGE_KINDS
        },
        "skipped_examples": {
            reason: [{"source": s.source, "line": s.line, "detail": s.detail} for s in kept]
            for reason, kept in report.skipped_examples.items()
        },
        "policies": {
            pid: {"decisions": seen.decisions, "logged": dict(seen.logged), "new": seen.new_digest}
            for pid, seen in report.policies.items()
        },
    }


def _groups(groups: dict[str, Counter[str]]) -> dict[str, dict[str, int]]:
    return {name: dict(counts) for name, counts in sorted(groups.items())}


def report_lines(report: ReplayReport) -> list[str]:
    """The report as text: the summary first."""
    lines = _summary(report)
    for title, groups in (
        ("by action", report.by_action),
        ("by band (as logged)", report.by_band),
        ("by reason code (gained or lost)", report.by_reason),
    ):
        if groups:
            lines += ["", f"{title}:", *_group_lines(groups)]
    if report.skipped:
        lines += ["", "skipped:", *_skip_lines(report)]
    if report.examples:
        lines += ["", "examples:", *_example_lines(report)]
    if report.policies:
        lines += ["", "policies:", *_policy_lines(report)]
    return lines


def _summary(report: ReplayReport) -> list[str]:
    changes = report.changes
    skipped = sum(report.skipped.values())
    return [
        f"{report.total:,} decisions read: {report.replayed:,} replayed, {skipped:,} skipped",
        f"  flipped: {report.flipped:,} (allow → deny {changes[ALLOW_TO_DENY]:,}, "
        f"deny → allow {changes[DENY_TO_ALLOW]:,})",
        f"  same effect, other reasons: {changes[REASONS_CHANGED]:,}",
        f"  same outcome, other band: {changes[BAND_CHANGED]:,}",
        f"  unchanged: {report.unchanged:,}",
    ]


def _counts(counts: Counter[str]) -> str:
    return ", ".join(
        f"{KIND_NAMES[kind]} {counts[kind]:,}" for kind in CHANGE_KINDS if counts[kind]
    )


def _group_lines(groups: dict[str, Counter[str]]) -> list[str]:
    width = max(len(name) for name in groups)
    ordered = sorted(groups.items(), key=_most_flips_first)
    return [f"  {name:<{width}}  {_counts(counts)}" for name, counts in ordered]


def _most_flips_first(item: tuple[str, Counter[str]]) -> tuple[int, int, str]:
    name, counts = item
    return -sum(counts[kind] for kind in FLIPS), -sum(counts.values()), name


def _skip_lines(report: ReplayReport) -> list[str]:
    lines = []
    for reason, count in report.skipped.most_common():
        lines.append(f"  {SKIP_NAMES.get(reason, reason)} ({reason}): {count:,}")
        for skip in report.skipped_examples.get(reason, []):
            lines.append(f"    {skip.source}:{skip.line}: {skip.detail}")
    return lines


def _outcome(outcome: Outcome) -> str:
    reasons = f" ({', '.join(outcome.reasons)})" if outcome.reasons else ""
    return f"{outcome.effect}{reasons}, band {outcome.band or '-'}"


def _example_lines(report: ReplayReport) -> list[str]:
    lines = []
    for kind in CHANGE_KINDS:
        for example in report.examples.get(kind, []):
            lines += [
                f"  {KIND_NAMES[kind]}: {example.decision_id} ({example.source}:{example.line})",
                f"    {example.policy} {example.action} at {example.at}",
                f"    before: {_outcome(example.before)}",
                f"    after:  {_outcome(example.after)}",
            ]
    return lines


def _policy_lines(report: ReplayReport) -> list[str]:
    lines = []
    for pid, seen in sorted(report.policies.items()):
        new = seen.new_digest or "not in the new set"
        lines.append(f"  {pid}: {seen.decisions:,} decisions; new digest {new}")
        for digest, count in seen.logged.most_common():
            same = " (the same)" if digest == seen.new_digest else ""
            lines.append(f"    logged under {digest}: {count:,}{same}")
    return lines
