"""Stage 5 for several lines (an age range, jurisdiction floors): the most protective answer
of every line, worded as one Decision (CONTRACT section 6)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from youthmode.age_signals import ordered_methods
from youthmode.decision import facts_of, obligations_due, policy_ref, reason_of
from youthmode.facts import Moment
from youthmode.lines import Lines
from youthmode.model import Decision, Obligation, Remedy, trusted
from youthmode.policies.kinds import remedies_of
from youthmode.policies.rules import CompiledRule


def combine_lines(
    lines: Lines,
    moments: Sequence[Moment],
    denials: Sequence[list[CompiledRule]],
    decision_id: str,
    *,
    remaining: int | None,
    next_allowed: int | None,
) -> Decision:
    """The Decision for several lines (an age range, floors): the most protective answer,
    reasons and obligations united in the lines' order (CONTRACT section 6)."""
    first, m0 = lines.timelines[0], moments[0]
    policy, at = first.policy, first.at
    denied = _unique_rules(rule for found in denials for rule in found)
    obligations: list[Obligation] = []
    remedies: list[Remedy] = []
    next_at = None
    if not denied:
        seen: set[tuple[str, str | None]] = set()
        for line, m in zip(lines.timelines, moments, strict=True):
            binding = line.active(m.band).obligations_on(m.date)
            for due in obligations_due(binding, m, at, remaining):
                if (due.type, due.rule) not in seen:
                    seen.add((due.type, due.rule))
                    obligations.append(due)
    else:
        if next_allowed is not None:
            next_at = datetime.fromtimestamp(next_allowed, policy.zone)
        remedies = _line_remedies(lines, denials, next_at)
    waived = [r.code for r in first.active(m0.band).waived]
    facts = facts_of(policy, first.req, m0, at, waived, _world_facts(lines))
    return trusted(
        Decision,
        {
            "decision_id": decision_id,
            "effect": "deny" if denied else "allow",
            "allowed": not denied,
            "band": m0.band,
            "reasons": [reason_of(r) for r in denied],
            "obligations": obligations,
            "remedies": remedies,
            "remaining_seconds": remaining,
            "valid_until": at + timedelta(seconds=remaining) if remaining is not None else None,
            "next_allowed_at": next_at,
            "facts": facts,
            "policy": policy_ref(policy),
            "policies": [policy_ref(p.policy) for p in lines.packs]
            if len(lines.packs) > 1
            else None,
        },
    )


def _unique_rules(rules: Iterable[CompiledRule]) -> list[CompiledRule]:
    seen: set[str] = set()
    out = []
    for rule in rules:
        if rule.ref not in seen:
            seen.add(rule.ref)
            out.append(rule)
    return out


def _world_facts(lines: Lines) -> dict[str, Any]:
    """What the requested pack made of the subject's age signals and jurisdiction."""
    pack = lines.requested
    out: dict[str, Any] = {"jurisdiction": pack.facts[0].jurisdiction}
    found = pack.age_range
    if found is not None:
        out["age_range"] = found.to_dict()
        if not found.exact:
            out["age"] = None
    if pack.resolution is not None and pack.resolution.ignored:
        out["ignored_signals"] = [
            {"source": s.source, "method": s.method} for s in pack.resolution.ignored
        ]
    return out


def _line_remedies(
    lines: Lines, denials: Sequence[list[CompiledRule]], next_at: datetime | None
) -> list[Remedy]:
    out: list[dict[str, Any]] = []
    for line, found in zip(lines.timelines, denials, strict=True):
        for rule in found:
            for remedy in remedies_of(rule, line.req):
                if remedy not in out:
                    out.append(remedy)
    proof = _verify_age(lines, denials)
    if proof is not None and proof not in out:
        out.insert(0, proof)
    if next_at is not None:
        out.append({"type": "wait", "until": next_at})
    return [trusted(Remedy, r) for r in out]


def _verify_age(lines: Lines, denials: Sequence[list[CompiledRule]]) -> dict[str, Any] | None:
    """`verify_age` when the youngest ages of a range are denied and an older one is not: the
    least such age (CONTRACT section 6)."""
    verdicts: dict[int, bool] = {}  # age -> allowed by every line that decides it
    every_age: list[bool] = []  # lines that decide whatever the age (one line for the pack)
    index = 0
    for pack in lines.packs:
        ranged = len(pack.facts) > 1
        for facts in pack.facts:
            allowed = not denials[index]
            index += 1
            if ranged and facts.declared_age is not None:
                age = facts.declared_age
                verdicts[age] = verdicts.get(age, True) and allowed
            else:
                every_age.append(allowed)
    if not verdicts or not all(every_age):
        return None
    ages = sorted(verdicts)
    allowed_ages = [age for age in ages if verdicts[age]]
    if verdicts[ages[0]] or not allowed_ages:
        return None
    proof: dict[str, Any] = {"type": "verify_age", "at_least": allowed_ages[0]}
    methods = ordered_methods(lines.requested.policy.age_methods)
    if methods is not None:
        proof["methods"] = list(methods)
    return proof
