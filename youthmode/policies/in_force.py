"""Rules in force: when a rule binds, why one does not, and what `youthmode check` warns about.

A rule binds on a local date of its pack's zone when its status, that of the pack it comes from
and that of the policy it is part of are all `in_force`, and the date is within all three's
`in_force` dates (`from` inclusive, `until` exclusive). `rule_dates` meets the three once, at
compile time; the timeline then filters only rules that carry dates (`CompiledRule.dated`),
so a pack without dates decides exactly as before. A rule whose status is not `in_force` is left
out of every plan: it is never enforced, only listed by `explain`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from youthmode.errors import Problem
from youthmode.policies import diagnostics_meta as dm
from youthmode.policies.rules import CompiledRule

if TYPE_CHECKING:
    from youthmode.policies.compile import CompiledPolicy
    from youthmode.policies.resolve import ResolvedPolicy, RuleSource

IN_FORCE = "in_force"
FAR_AHEAD_DAYS = 5 * 366  # a `from` further ahead is more likely a typo than a law


def rule_dates(item: RuleSource, policy: ResolvedPolicy) -> dict[str, Any]:
    """The effective `in_force_from`, `in_force_until` and `status` of a compiled rule: its own,
    its origin pack's and its policy's met (the latest start, the earliest end)."""
    origin = item.file.document.policy
    own = item.rule.in_force
    starts = [
        own.from_ if own else None,
        origin.in_force.from_ if origin.in_force else None,
        policy.in_force_from,
    ]
    ends = [
        own.until if own else None,
        origin.in_force.until if origin.in_force else None,
        policy.in_force_until,
    ]
    statuses = (item.rule.status, origin.status, policy.status)
    known_starts = [d for d in starts if d is not None]
    known_ends = [d for d in ends if d is not None]
    return {
        "in_force_from": max(known_starts) if known_starts else None,
        "in_force_until": min(known_ends) if known_ends else None,
        "status": next((s for s in statuses if s != IN_FORCE), IN_FORCE),
    }


def enforced(rule: CompiledRule) -> bool:
    """Whether the rule is ever enforced (its status is `in_force`): only those enter plans."""
    return rule.status == IN_FORCE


def why_not(rule: CompiledRule, day: date) -> str | None:
    """Why ``rule`` is not enforced on the local date ``day``; None when it is."""
    if rule.status != IN_FORCE:
        return f"status {rule.status}"
    if rule.in_force_from is not None and day < rule.in_force_from:
        return f"in force from {rule.in_force_from.isoformat()}"
    if rule.in_force_until is not None and day >= rule.in_force_until:
        return f"not in force since {rule.in_force_until.isoformat()}"
    return None


# -- warnings of `youthmode check` ----------------------------------------------------------------
def status_warnings(policy: CompiledPolicy, today: date) -> list[Problem]:
    """Warnings for a policy or rules that are not in force, ended, or start far ahead."""
    file = policy.files[-1]
    if policy.status != IN_FORCE:
        found = dm.POLICY_NOT_IN_FORCE(policy=policy.id, status=policy.status)
        return [found.at(file)]
    out = _date_warnings(
        f"policy `{policy.id}`", policy.in_force_from, policy.in_force_until, today, file
    )
    if out:
        return out  # the whole pack: its rules would repeat it
    for rule in policy.rules:
        if not rule.ref.startswith(f"{policy.id}/"):
            continue  # inherited: warned about with its own pack
        if rule.status != IN_FORCE:
            found = dm.RULE_NOT_IN_FORCE(rule=rule.ref, status=rule.status)
            out.append(found.at(file, rule=rule.id))
        else:
            what = f"rule `{rule.ref}`"
            start, end = rule.in_force_from, rule.in_force_until
            out += _date_warnings(what, start, end, today, file, rule.id)
    return out


def _date_warnings(
    what: str,
    start: date | None,
    end: date | None,
    today: date,
    file: str,
    rule: str | None = None,
) -> list[Problem]:
    if end is not None and end <= today:
        return [dm.IN_FORCE_ENDED(what=what, until=end.isoformat()).at(file, rule=rule)]
    if start is not None and (start - today).days > FAR_AHEAD_DAYS:
        return [dm.IN_FORCE_FAR_AHEAD(what=what, start=start.isoformat()).at(file, rule=rule)]
    return []


def translation_warnings(policy: CompiledPolicy) -> list[Problem]:
    """A rule of the policy's own file without a message in a declared extra language."""
    out = []
    own = policy.id
    for rule in policy.rules:
        if not rule.ref.startswith(f"{own}/"):
            continue  # inherited: warned about with its own pack
        for language in policy.languages:
            if language not in rule.messages:
                found = dm.MISSING_TRANSLATION(rule=rule.ref, language=language)
                out.append(found.at(policy.files[-1], rule=rule.id))
    return out


def floor_warnings(policies: Sequence[CompiledPolicy]) -> list[Problem]:
    """A floor pack with floors of its own: those do not apply through the policy naming it."""
    by_id = {p.id: p for p in policies}
    out = []
    for policy in policies:
        for floor in _floor_ids(policy.floors.values()):
            found = by_id.get(floor)
            if found is not None and found.floors:
                warning = dm.FLOOR_HAS_FLOORS(floor=floor, id=policy.id)
                out.append(warning.at(policy.files[-1]))
    return out


def _floor_ids(values: Iterable[tuple[str, ...]]) -> list[str]:
    return list(dict.fromkeys(f for ids in values for f in ids))


def meta_warnings(policies: Sequence[CompiledPolicy], now: datetime) -> list[Problem]:
    """Every warning of this module for ``policies`` at ``now`` (each on its local date)."""
    out = floor_warnings(policies)
    for policy in policies:
        today = now.astimezone(policy.zone).date()
        out += status_warnings(policy, today) + translation_warnings(policy)
    return out
