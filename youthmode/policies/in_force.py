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
from youthmode.policies.catalogue import Finding
from youthmode.policies.positions import KeyPath
from youthmode.policies.rules import CompiledRule
from youthmode.policies.source import parse_toml

if TYPE_CHECKING:
    from youthmode.policies.compile import CompiledPolicy
    from youthmode.policies.resolve import ResolvedPolicy, RuleSource

IN_FORCE = "in_force"
FAR_AHEAD_DAYS = 5 * 366  # a `from` further ahead is more likely a typo than a law
REVIEW_MONTHS = 6  # a pack's sources are checked again at least this often (issue 15)


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
class _Where:
    """The keys of a policy's own file, to give a warning its line (parsed again: `check` only)."""

    def __init__(self, policy: CompiledPolicy) -> None:
        self.name, data = policy.sources[-1]
        self.source, _ = parse_toml(data, self.name)
        rules = self.source.raw.get("rules") if self.source else None
        self.rules = {r.get("id"): i for i, r in enumerate(rules or ()) if isinstance(r, dict)}

    def at(self, finding: Finding, path: KeyPath, rule: str | None = None) -> Problem:
        if self.source is None:
            return finding.at(self.name, rule=rule)
        return self.source.problem(path, finding, rule)

    def rule(self, rule: CompiledRule, finding: Finding, *key: str) -> Problem:
        index = self.rules.get(rule.id)
        path: KeyPath = ("rules",) if index is None else ("rules", index, *key)
        return self.at(finding, path, rule.id)


def status_warnings(policy: CompiledPolicy, today: date) -> list[Problem]:
    """Warnings for a policy or rules that are not in force, ended, or start far ahead."""
    where = _Where(policy)
    if policy.status != IN_FORCE:
        found = dm.POLICY_NOT_IN_FORCE(policy=policy.id, status=policy.status)
        return [where.at(found, ("policy", "status"))]
    what = f"policy `{policy.id}`"
    dated = _date_warnings(what, policy.in_force_from, policy.in_force_until, today)
    if dated:  # the whole pack: its rules would repeat it
        return [where.at(f, ("policy", "in_force", key)) for f, key in dated]
    out = []
    for rule in policy.rules:
        if not rule.ref.startswith(f"{policy.id}/"):
            continue  # inherited: warned about with its own pack
        if rule.status != IN_FORCE:
            found = dm.RULE_NOT_IN_FORCE(rule=rule.ref, status=rule.status)
            out.append(where.rule(rule, found, "status"))
            continue
        what = f"rule `{rule.ref}`"
        for f, key in _date_warnings(what, rule.in_force_from, rule.in_force_until, today):
            out.append(where.rule(rule, f, "in_force", key))
    return out


def _date_warnings(
    what: str, start: date | None, end: date | None, today: date
) -> list[tuple[Finding, str]]:
    """The warning about dates that ended or start far ahead, and the `in_force` key it is at."""
    if end is not None and end <= today:
        return [(dm.IN_FORCE_ENDED(what=what, until=end.isoformat()), "until")]
    if start is not None and (start - today).days > FAR_AHEAD_DAYS:
        return [(dm.IN_FORCE_FAR_AHEAD(what=what, start=start.isoformat()), "from")]
    return []


def translation_warnings(policy: CompiledPolicy) -> list[Problem]:
    """A rule of the policy's own file without a message in a declared extra language."""
    out = []
    where = _Where(policy)
    for rule in policy.rules:
        if not rule.ref.startswith(f"{policy.id}/"):
            continue  # inherited: warned about with its own pack
        for language in policy.languages:
            if language not in rule.messages:
                found = dm.MISSING_TRANSLATION(rule=rule.ref, language=language)
                out.append(where.rule(rule, found, "message"))
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
                out.append(_Where(policy).at(warning, ("policy", "floors")))
    return out


def _floor_ids(values: Iterable[tuple[str, ...]]) -> list[str]:
    return list(dict.fromkeys(f for ids in values for f in ids))


def review_overdue(reviewed: date | None, today: date) -> bool:
    """Whether a pack last reviewed on ``reviewed`` is due again: laws and their dates move
    (injunctions, delays), so a pack's sources are checked at least every REVIEW_MONTHS."""
    if reviewed is None:
        return False
    months = (today.year - reviewed.year) * 12 + today.month - reviewed.month
    return months > REVIEW_MONTHS or (months == REVIEW_MONTHS and today.day > reviewed.day)


def review_warnings(policy: CompiledPolicy, today: date) -> list[Problem]:
    """A pack whose `reviewed` date is more than REVIEW_MONTHS before ``today``."""
    if policy.reviewed is None or not review_overdue(policy.reviewed, today):
        return []
    found = dm.REVIEW_OVERDUE(
        policy=policy.id, reviewed=policy.reviewed.isoformat(), months=REVIEW_MONTHS
    )
    return [_Where(policy).at(found, ("policy", "reviewed"))]


def meta_warnings(policies: Sequence[CompiledPolicy], now: datetime) -> list[Problem]:
    """Every warning of this module for ``policies`` at ``now`` (each on its local date)."""
    out = floor_warnings(policies)
    for policy in policies:
        today = now.astimezone(policy.zone).date()
        out += status_warnings(policy, today) + translation_warnings(policy)
        out += review_warnings(policy, today)
    return out
