"""Overrides that loosen the pack they extend (issue 14).

A child pack may replace an inherited rule (`override = true`). A replacement that denies less
than the rule it replaces (fewer bands or actions, a shorter curfew, a larger limit, waivable,
not in force for part of the time, ...) loosens the parent pack: that is an error unless the
rule says why (`loosens = "reason"`). The rules of a pack that is a floor (one that names
jurisdiction floors, or one some loaded policy names as a floor) can never be loosened.

The comparison is of the rule tables: the keys every rule has here, each kind's own keys by its
registry entry (`Kind.loosened`, in `loosening_kinds.py`): each difference that can
let through what the parent's rule denies is named. It is conservative: a change it cannot
prove stricter (a kind replaced by another, a `match` changed) counts as loosening.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from youthmode.policies import diagnostics as d
from youthmode.policies import kinds
from youthmode.policies.validate import Checker, expand_actions
from youthmode.policies.windows import EVERY

if TYPE_CHECKING:
    from youthmode.policies.resolve import ResolvedPolicy, RuleSource


def check_overrides(
    policies: Sequence[ResolvedPolicy], floor_ids: Iterable[str], check: Checker
) -> None:
    """Report each override that loosens the rule it replaces (see the module docstring)."""
    by_id = {p.id: p for p in policies}
    floors = set(floor_ids)
    for policy in policies:
        parent = by_id.get(policy.extends or "")
        if parent is None:
            continue
        inherited = {r.rule.id: r for r in parent.rules}
        for item in policy.rules:
            old = inherited.get(item.rule.id)
            if item.origin != policy.id or not item.rule.override or old is None:
                continue
            what = loosened(old.rule, item.rule, policy)
            if what:
                _report(item, old, what, floors, check)


def _report(
    item: RuleSource, old: RuleSource, what: list[str], floors: set[str], check: Checker
) -> None:
    rule, origin, text = item.rule, old.origin, "; ".join(what)
    floor = origin in floors or bool(old.file.document.policy.floors)
    if floor:
        found = d.LOOSENED_FLOOR(id=rule.id, origin=origin, what=text)
    elif rule.loosens is None:
        found = d.LOOSENED_RULE(id=rule.id, origin=origin, what=text)
    else:
        return  # said why
    check.add(item.file, (*item.path, "override"), found, rule=rule.id)


def floor_packs(floors: Iterable[Mapping[str, str | list[str]] | None]) -> set[str]:
    """The ids of the packs named as floors in the `floors` tables given."""
    out: set[str] = set()
    for table in floors:
        for value in (table or {}).values():
            out.update([value] if isinstance(value, str) else value)
    return out


def loosened(old: Any, new: Any, policy: ResolvedPolicy) -> list[str]:
    """How the rule ``new`` lets through what ``old`` denies (empty: it does not)."""
    found = _coverage(old, new, policy) + _common(old, new)
    if new.kind != old.kind:
        if new.kind != "forbid":  # a forbid denies whatever the old rule could deny
            found.append(f"a `{new.kind}` rule instead of a `{old.kind}` rule")
        return found
    return found + kinds.BY_NAME[new.kind].loosened(old, new)


def _coverage(old: Any, new: Any, policy: ResolvedPolicy) -> list[str]:
    found = []
    lost_bands = _bands(old.bands, policy) - _bands(new.bands, policy)
    if lost_bands:
        found.append(f"no longer covers band {_names(lost_bands)}")
    actions = policy.actions
    lost = expand_actions(old.actions, old.tags, actions) - expand_actions(
        new.actions, new.tags, actions
    )
    if lost:
        found.append(f"no longer covers {_names(lost)}")
    return found


def _common(old: Any, new: Any) -> list[str]:
    found = []
    if new.waivable and not old.waivable:
        found.append("a guardian may waive it (`waivable = true`)")
    if new.category_exemptions and not old.category_exemptions:
        found.append("exempt app categories skip it (`category_exemptions = true`)")
    if old.status == "in_force" and new.status != "in_force":
        found.append(f"status `{new.status}` (never enforced)")
    elif not _dates_cover(old.in_force, new.in_force):
        found.append("in force for less time (`in_force`)")
    return found


def _dates_cover(old: Any, new: Any) -> bool:
    return _start(new) <= _start(old) and _end(new) >= _end(old)


def _start(in_force: Any) -> date:
    start: date = in_force.from_ if in_force and in_force.from_ else date.min
    return start


def _end(in_force: Any) -> date:
    end: date = in_force.until if in_force and in_force.until else date.max
    return end


def _bands(names: Iterable[str], policy: ResolvedPolicy) -> set[str]:
    every = {b.id for b in policy.bands} | {"unknown"}
    out: set[str] = set()
    for name in names:
        out |= every if name == EVERY else set(policy.groups.get(name, {name}))
    return out


def _names(items: Iterable[str]) -> str:
    return ", ".join(f"`{x}`" for x in sorted(items))
