"""Stage 2 of loading: resolve `extends`, merging each pack onto the pack it extends.

A child inherits its parent's bands, groups, catalog and rules, adds its own, and may replace an
inherited rule (`override = true`); what it adds is cross-checked by `validate.py` on the way.
Each policy is resolved once; a parent that fails fails its children without blaming them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from youthmode.calendar import CalendarOverrides
from youthmode.errors import Problem, did_you_mean
from youthmode.policies import diagnostics as d
from youthmode.policies import loosening, schema, validate, validate_meta
from youthmode.policies.loader import SourceFile
from youthmode.policies.positions import KeyPath
from youthmode.policies.validate import ID_PATTERN, UNKNOWN_BAND, Checker

# Minor units of currencies whose minor unit is not 2 (ISO 4217).
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3}


@dataclass(frozen=True, slots=True)
class RuleSource:
    """A rule as it stands in a resolved policy, with the policy and file it came from."""

    rule: Any  # one of the schema rule models
    origin: str
    file: SourceFile
    index: int

    @property
    def path(self) -> KeyPath:
        return ("rules", self.index)


@dataclass(frozen=True, slots=True)
class ResolvedPolicy:
    """A policy with its `extends` chain merged: what the compiler turns into a fast form."""

    id: str
    version: str
    title: str | None
    timezone: str
    calendar: str | None
    age_rollover: str
    currency: str
    currency_places: int
    default: bool
    extends: str | None
    files: tuple[SourceFile, ...]
    overrides: CalendarOverrides
    bands: tuple[schema.Band, ...]
    groups: dict[str, frozenset[str]]
    exempt_categories: frozenset[str]
    actions: dict[str, schema.ActionSpec]
    rules: tuple[RuleSource, ...]
    # policy-level keys (validate_meta.py decides what a child inherits)
    jurisdiction: str | None = None
    in_force_from: date | None = None
    in_force_until: date | None = None
    status: str = "in_force"
    legal_status: str | None = None
    reviewed: date | None = None
    languages: tuple[str, ...] = ()
    floors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    age_methods: frozenset[str] | None = None


def resolve(files: Sequence[SourceFile]) -> tuple[list[ResolvedPolicy], list[Problem]]:
    """Resolve and check every policy in ``files``; problems are empty when all is well."""
    check = Checker()
    by_id: dict[str, SourceFile] = {}
    for src in files:
        pid = src.document.policy.id
        if not ID_PATTERN.match(pid):
            check.add(src, ("policy", "id"), d.INVALID_POLICY_ID(id=pid))
        if pid in by_id:
            found = d.DUPLICATE_POLICY_ID(id=pid, other=by_id[pid].path)
            check.add(src, ("policy", "id"), found)
            continue
        by_id[pid] = src
    done: dict[str, ResolvedPolicy | None] = {}  # None: failed, already reported
    for pid in by_id:
        _resolve_one(pid, by_id, done, check, ())
    resolved = [p for p in done.values() if p is not None]
    floors = loosening.floor_packs(src.document.policy.floors for src in by_id.values())
    loosening.check_overrides(resolved, floors, check)
    validate_meta.check_floors(resolved, by_id, check)
    defaults = [p for p in resolved if p.default]
    ancestors = {f.document.policy.id for p in defaults for f in p.files[:-1]}
    defaults = [p for p in defaults if p.id not in ancestors]  # a child's default wins
    for extra in defaults[1:]:
        found = d.DUPLICATE_DEFAULT(first=defaults[0].id, other=extra.id)
        check.add(extra.files[-1], ("policy", "default"), found)
    return resolved, sorted(check.problems, key=Problem.sort_key)


def _resolve_one(
    pid: str,
    by_id: dict[str, SourceFile],
    done: dict[str, ResolvedPolicy | None],
    check: Checker,
    chain: tuple[str, ...],
) -> ResolvedPolicy | None:
    if pid in done:
        return done[pid]
    done[pid] = _resolve_new(pid, by_id, done, check, chain)
    return done[pid]


def _resolve_new(
    pid: str,
    by_id: dict[str, SourceFile],
    done: dict[str, ResolvedPolicy | None],
    check: Checker,
    chain: tuple[str, ...],
) -> ResolvedPolicy | None:
    src = by_id[pid]
    parent_id = src.document.policy.extends
    parent: ResolvedPolicy | None = None
    if parent_id is not None:
        if parent_id in chain or parent_id == pid:
            cycle = (*chain[chain.index(parent_id) :], pid) if parent_id in chain else (pid,)
            found = d.EXTENDS_CYCLE(cycle=" -> ".join((*cycle, parent_id)))
            check.add(src, ("policy", "extends"), found)
            return None
        if parent_id not in by_id:
            hint = did_you_mean(parent_id, by_id)
            found = d.UNKNOWN_POLICY(id=pid, parent=parent_id, hint=hint)
            check.add(src, ("policy", "extends"), found)
            return None
        parent = _resolve_one(parent_id, by_id, done, check, (*chain, pid))
        if parent is None:
            return None
    before = len(check.problems)
    policy = _merge(src, parent, check)
    if policy is None or len(check.problems) > before:
        return None
    return policy


def _merge(src: SourceFile, parent: ResolvedPolicy | None, check: Checker) -> ResolvedPolicy | None:
    """``src`` merged onto ``parent`` (None: a pack of its own), or None when it cannot be."""
    doc, meta = src.document, src.document.policy
    timezone = meta.timezone or (parent.timezone if parent else None)
    country = meta.calendar if meta.calendar is not None else (parent.calendar if parent else None)
    currency = meta.currency or (parent.currency if parent else "CNY")
    validate.check_meta(src, timezone, currency, check)
    bands = _bands(src, parent, check)
    groups = _groups(src, parent, bands, check)
    actions = _actions(src, parent, check)
    exempt = doc.catalog.exempt_categories
    rules = _rules(src, parent, check)
    world = validate_meta.policy_meta(src, parent, check)
    validate_meta.check_rule_meta(src, rules, world["languages"], check)
    if meta.version is None or timezone is None:
        return None
    policy = ResolvedPolicy(
        id=meta.id,
        version=meta.version,
        title=meta.title if meta.title is not None else (parent.title if parent else None),
        timezone=timezone,
        calendar=country.upper() if country else None,
        age_rollover=meta.age_rollover or (parent.age_rollover if parent else "next_day"),
        currency=currency,
        currency_places=_MINOR_UNITS.get(currency, 2),
        default=meta.default,
        extends=meta.extends,
        files=(*(parent.files if parent else ()), src),
        overrides=_overrides(src, parent),
        bands=bands,
        groups=groups,
        exempt_categories=frozenset(
            exempt if exempt is not None else (parent.exempt_categories if parent else ())
        ),
        actions=actions,
        rules=rules,
        **world,
    )
    validate.check_rules(policy, src, check)
    return policy


def _overrides(src: SourceFile, parent: ResolvedPolicy | None) -> CalendarOverrides:
    base = parent.overrides if parent else CalendarOverrides()
    own = src.document.calendar
    if own is None:
        return base
    rest = {day for group in own.rest_days for day in group}
    working = {day for group in own.working_days for day in group}
    # The extending pack's word wins over its parent's for the days it names.
    return CalendarOverrides(
        rest_days=(base.rest_days - working) | rest,
        working_days=(base.working_days - rest) | working,
        declared_years=base.declared_years | frozenset(own.official_years),
    )


def _bands(
    src: SourceFile, parent: ResolvedPolicy | None, check: Checker
) -> tuple[schema.Band, ...]:
    own = src.document.bands
    if parent and parent.bands:
        if own:
            check.add(src, ("bands",), d.BANDS_REDEFINED(parent=parent.id))
        return parent.bands
    validate.check_bands(src, own, check)
    return tuple(own)


def _groups(
    src: SourceFile, parent: ResolvedPolicy | None, bands: Sequence[schema.Band], check: Checker
) -> dict[str, frozenset[str]]:
    """The parent's groups and this file's, each expanded to the bands it holds."""
    band_ids = {b.id for b in bands} | {UNKNOWN_BAND}
    groups = dict(parent.groups) if parent else {}
    own = src.document.groups
    validate.check_group_names(src, band_ids, groups, parent.id if parent else "?", check)
    if not bands:  # already reported: no band is known, so no member can be checked
        return groups
    inherited = set(groups)

    def expand(name: str, stack: tuple[str, ...]) -> frozenset[str]:
        out: set[str] = set()
        for j, member in enumerate(own[name]):
            if member in band_ids:
                out.add(member)
            elif member in inherited or member in groups:
                out |= groups[member]
            elif member in stack:
                cycle = " -> ".join((*stack[stack.index(member) :], member))
                found = (d.GROUP_INCLUDES_ITSELF if member == name else d.GROUP_CYCLE)(
                    name=name, cycle=cycle
                )
                check.add(src, ("groups", name, j), found)
            elif member in own:
                groups[member] = expand(member, (*stack, member))
                out |= groups[member]
            else:
                hint = validate.band_hint(member, [*band_ids, *own, *groups])
                found = d.UNKNOWN_GROUP_MEMBER(name=name, member=member, hint=hint)
                check.add(src, ("groups", name, j), found)
        return frozenset(out)

    for name in own:
        if name not in groups and name not in band_ids:
            groups[name] = expand(name, (name,))
    return groups


def _actions(
    src: SourceFile, parent: ResolvedPolicy | None, check: Checker
) -> dict[str, schema.ActionSpec]:
    actions = dict(parent.actions) if parent else {}
    for name, spec in src.document.catalog.actions.items():
        validate.check_action(src, name, spec, check)
        if name in actions:
            found = d.DUPLICATE_ACTION(name=name, parent=parent.id if parent else "?")
            check.add(src, ("catalog", "actions", name), found)
        actions[name] = spec
    return actions


def _rules(
    src: SourceFile, parent: ResolvedPolicy | None, check: Checker
) -> tuple[RuleSource, ...]:
    """The parent's rules, those this file overrides replaced where they stood, then its own."""
    rules = list(parent.rules) if parent else []
    positions = {r.rule.id: i for i, r in enumerate(rules)}
    own_ids: set[str] = set()
    for index, rule in enumerate(src.document.rules):
        item = RuleSource(rule, src.document.policy.id, src, index)
        id_path = (*item.path, "id")
        if not ID_PATTERN.match(rule.id):
            check.add(src, id_path, d.INVALID_RULE_ID(id=rule.id), rule=rule.id)
        if rule.id in own_ids:
            check.add(src, id_path, d.DUPLICATE_RULE_ID(id=rule.id), rule=rule.id)
            continue
        own_ids.add(rule.id)
        if rule.id in positions:
            if not rule.override:
                origin = rules[positions[rule.id]].origin
                check.add(
                    src, id_path, d.INHERITED_RULE_ID(id=rule.id, origin=origin), rule=rule.id
                )
            else:
                rules[positions[rule.id]] = item
            continue
        if rule.override:
            hint = did_you_mean(rule.id, positions) or (
                d.NOT_INHERITED.format(parent=parent.id, id=rule.id) if parent else d.NO_PARENT
            )
            found = d.NOTHING_TO_OVERRIDE(id=rule.id, hint=hint)
            check.add(src, (*item.path, "override"), found, rule=rule.id)
        positions[rule.id] = len(rules)
        rules.append(item)
    return tuple(rules)
