"""Explaining a decision, behind `youthmode explain`: the answer, why, what next, and a table
of every rule the engine considered; and an invalid request, one line per problem."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from youthmode.authoring.checking import plural
from youthmode.errors import RequestError
from youthmode.model import Decision, Explanation, RuleTrace
from youthmode.units import format_duration


def explanation_lines(explanation: Explanation, *, only_applicable: bool = False) -> list[str]:
    """A decision for a terminal: the answer, why, what next, then every rule considered."""
    decision = explanation.decision
    lines = decision_lines(decision)
    trace = [t for t in explanation.trace if t.applies or not only_applicable]
    lines += ["", *trace_table(trace)]
    hidden = len(explanation.trace) - len(trace)
    if hidden:
        lines.append(f"({plural(hidden, 'rule')} out of scope not shown)")
    return lines


def decision_lines(decision: Decision) -> list[str]:
    """Effect, band, policy and time, reasons with both messages, then when and what next."""
    facts = decision.facts
    age = "age unknown" if facts.age is None else f"age {facts.age}"
    if facts.age_range is not None:  # an age signal counted: show which
        found = facts.age_range
        low, high = found["lower"], found["upper"]
        span = f"{low}+" if high is None else (f"{low}" if low == high else f"{low}-{high}")
        age = f"ages {span} ({found['source']}, {found['method']})"
    verified = "verified" if facts.verified else "not verified"
    official = "" if facts.calendar_official else ", no official calendar"
    lines = [
        f"effect:   {decision.effect}",
        f"band:     {decision.band} ({age}, {verified})",
        f"policy:   {decision.policy.id} {decision.policy.version}",
        f"time:     {facts.local_time.isoformat()} "
        f"({facts.local_time:%A}, {facts.day_type}{official})",
    ]
    if facts.waived:
        lines.append(f"waived:   {', '.join(facts.waived)}")
    if decision.reasons:
        lines.append("reasons:")
        for reason in decision.reasons:
            lines += [
                f"  {reason.code} ({reason.rule})",
                f"    zh-CN: {reason.message}",
                f"    en:    {reason.message_en}",
            ]
    lines += _timing(decision)
    for obligation in decision.obligations:
        at = f" at {obligation.at.isoformat()}" if obligation.at else ""
        lines.append(f"obligation: {obligation.type}{at} ({obligation.rule})")
        lines += [f"    zh-CN: {obligation.message}", f"    en:    {obligation.message_en}"]
    for remedy in decision.remedies:
        lines.append(f"remedy:   {_remedy(remedy.model_dump(mode='json', exclude_none=True))}")
    return lines


def _timing(decision: Decision) -> list[str]:
    if decision.allowed:
        if decision.remaining_seconds is None:
            return ["remaining: unlimited (nothing cuts use off within 48 hours)"]
        until = decision.valid_until.isoformat() if decision.valid_until else "?"
        left = format_duration(decision.remaining_seconds)
        return [f"remaining: {decision.remaining_seconds} s ({left}, until {until})"]
    if decision.next_allowed_at is None:
        return ["next allowed: none (waiting does not help within 14 days)"]
    wait = int((decision.next_allowed_at - decision.facts.local_time).total_seconds())
    return [f"next allowed: {decision.next_allowed_at.isoformat()} (in {format_duration(wait)})"]


def _remedy(remedy: dict[str, Any]) -> str:
    kind = remedy.pop("type")
    details = ", ".join(f"{k} {v}" for k, v in remedy.items())
    return f"{kind} ({details})" if details else kind


TRACE_HEADER = ("rule", "kind", "outcome", "detail")


def trace_table(trace: Sequence[RuleTrace]) -> list[str]:
    """Every rule considered, one row each, in aligned columns."""
    rows = [TRACE_HEADER, *((t.rule, t.kind, t.outcome, t.detail) for t in trace)]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in rows
    ]


def request_error_lines(err: RequestError) -> list[str]:
    """One line per problem: `field: message [code]; hint`."""
    lines = []
    for p in err.problems:
        where = ".".join(str(part) for part in p.loc) or "request"
        line = f"{where}: {p.msg} [{p.code}]"
        if p.hint:
            line += f"; {p.hint}"
        lines.append(line)
    return lines
