"""Stage 3 of loading: turn a resolved policy into the immutable form decisions run on.

Compilation does everything that does not depend on a request, once: band lookup by age, the
rule list for every (action, band) pair in policy order, the union of window edges for the
timeline, day-selector sets, and the calendar. A `CompiledPolicy` is never mutated, so any number
of threads may decide against it at once.
"""

from __future__ import annotations

import hashlib
import zoneinfo
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

from youthmode.age_signals import ordered_methods
from youthmode.calendar import Calendar
from youthmode.facts import Day
from youthmode.policies import kinds, schema
from youthmode.policies import rules as compiled
from youthmode.policies.consent_limit import compile_limit
from youthmode.policies.in_force import enforced, rule_dates
from youthmode.policies.resolve import ResolvedPolicy, RuleSource
from youthmode.policies.rules_world import with_policy_methods
from youthmode.policies.validate import ALL, UNKNOWN_BAND, expand_actions

MEMO_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class CompiledAction:
    name: str
    metered: bool
    tags: frozenset[str]
    spend: str | None
    on_store_error: str = "deny"

    @property
    def requires_amount(self) -> bool:
        return self.spend is not None


@dataclass(frozen=True, slots=True)
class Plan:
    """What applies to one action for one band: deny rules and obligations in policy order."""

    rules: tuple[compiled.CompiledRule, ...]
    obligations: tuple[compiled.CompiledRule, ...]
    edges: tuple[int, ...]
    budgets: tuple[compiled.DailyBudgetRule, ...]


@dataclass(frozen=True)
class CompiledPolicy:
    id: str
    version: str
    title: str | None
    digest: str
    timezone: str
    zone: zoneinfo.ZoneInfo
    age_rollover: str
    currency: str
    currency_places: int
    default: bool
    extends: str | None
    files: tuple[str, ...]
    sources: tuple[tuple[str, bytes], ...]
    calendar: Calendar
    bands: tuple[tuple[str, int, int | None], ...]
    groups: dict[str, frozenset[str]]
    exempt_categories: frozenset[str]
    actions: dict[str, CompiledAction]
    rules: tuple[compiled.CompiledRule, ...]
    plans: dict[tuple[str, str], Plan]
    protected_bands: frozenset[str] = frozenset()
    # policy-level keys (validate_meta.py); rules carry their own dates (in_force.py)
    jurisdiction: str | None = None
    in_force_from: date | None = None
    in_force_until: date | None = None
    status: str = "in_force"
    legal_status: str | None = None
    reviewed: date | None = None
    languages: tuple[str, ...] = ()
    floors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    age_methods: frozenset[str] | None = None  # None: every method
    _by_age: tuple[str, ...] = field(repr=False, default=())
    # Memos of request-independent work, filled as decisions need them. Plain dicts: a lost
    # race only computes the same value twice. Bounded, since dates come from requests.
    _days: dict[date, Day] = field(repr=False, compare=False, default_factory=dict)
    memo: dict[Hashable, Any] = field(repr=False, compare=False, default_factory=dict)

    def day(self, on: date) -> Day:
        """The local day ``on`` in this policy's zone and calendar."""
        found = self._days.get(on)
        if found is None:
            if len(self._days) >= MEMO_LIMIT:
                self._days.clear()
            found = self._days[on] = Day(on, self.zone, self.calendar)
        return found

    @cached_property
    def waiver_names(self) -> frozenset[str]:
        """Every name that waives a rule: the code, `policy/rule` ref or id of a waivable rule."""
        return frozenset(n for r in self.rules if r.waivable for n in (r.code, r.ref, r.id))

    def band_of(self, age: int | None) -> str:
        if age is None:
            return UNKNOWN_BAND
        if age < len(self._by_age):
            return self._by_age[age]
        return self._by_age[-1]

    def plan(self, action: str, band: str) -> Plan:
        return self.plans[(action, band)]

    @property
    def band_ids(self) -> tuple[str, ...]:
        return (*(b[0] for b in self.bands), UNKNOWN_BAND)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "digest": self.digest,
            "timezone": self.timezone,
            "calendar": self.calendar.country,
            "default": self.default,
            "extends": self.extends,
            "bands": [{"id": b, "from": lo, "to": hi} for b, lo, hi in self.bands],
            "actions": sorted(self.actions),
        }


def compile_policy(policy: ResolvedPolicy) -> CompiledPolicy:
    band_ids = (*(b.id for b in policy.bands), UNKNOWN_BAND)
    actions = {
        name: CompiledAction(
            name, spec.metered, frozenset(spec.tags), spec.spend, spec.on_store_error
        )
        for name, spec in policy.actions.items()
    }
    rules = with_policy_methods(
        tuple(_compile_rule(item, policy, band_ids) for item in policy.rules),
        ordered_methods(policy.age_methods),
    )
    plans = {(action, band): _plan(rules, action, band) for action in actions for band in band_ids}
    return CompiledPolicy(
        id=policy.id,
        version=policy.version,
        title=policy.title,
        digest=_digest([*(f.sha256 for f in policy.files), *_tables(rules)]),
        timezone=policy.timezone,
        zone=zoneinfo.ZoneInfo(policy.timezone),
        age_rollover=policy.age_rollover,
        currency=policy.currency,
        currency_places=policy.currency_places,
        default=policy.default,
        extends=policy.extends,
        files=tuple(f.path for f in policy.files),
        # the consent-age tables first: the last source is the policy's own file (in_force.py)
        sources=(*_table_sources(rules), *((f.path, f.data) for f in policy.files)),
        calendar=Calendar(policy.calendar, policy.overrides),
        bands=tuple((b.id, b.from_, b.to) for b in sorted(policy.bands, key=lambda b: b.from_)),
        groups=policy.groups,
        exempt_categories=policy.exempt_categories,
        actions=actions,
        rules=rules,
        plans=plans,
        protected_bands=_protected(policy),
        _by_age=_age_table(policy.bands),
        **_meta(policy),
    )


def _meta(policy: ResolvedPolicy) -> dict[str, Any]:
    """The policy-level keys, as resolved."""
    return {
        "jurisdiction": policy.jurisdiction,
        "in_force_from": policy.in_force_from,
        "in_force_until": policy.in_force_until,
        "status": policy.status,
        "legal_status": policy.legal_status,
        "reviewed": policy.reviewed,
        "languages": policy.languages,
        "floors": policy.floors,
        "age_methods": policy.age_methods,
    }


def _protected(policy: ResolvedPolicy) -> frozenset[str]:
    """Bands that fail closed when the ledger is down: the `minors` group (or every band but
    the open-ended oldest one) and `unknown`."""
    if "minors" in policy.groups:
        return policy.groups["minors"] | {UNKNOWN_BAND}
    return frozenset(b.id for b in policy.bands if b.to is not None) | {UNKNOWN_BAND}


def _table_sources(rules: Iterable[compiled.CompiledRule]) -> list[tuple[str, bytes]]:
    """The consent-age tables the rules read, as (path, bytes read)."""
    found = (getattr(r, "below", None) for r in rules)
    return sorted({(b.table, b.data) for b in found if b is not None and b.table is not None})


def _tables(rules: Iterable[compiled.CompiledRule]) -> list[str]:
    """The digests of the consent-age tables the rules read: a changed table changes the
    decisions, so it changes the policy digest (replay names what decided)."""
    found = (getattr(r, "below", None) for r in rules)
    return sorted({b.digest for b in found if b is not None and b.digest})


def _digest(file_digests: Iterable[str]) -> str:
    return "sha256:" + hashlib.sha256("\n".join(file_digests).encode()).hexdigest()


def _age_table(bands: Iterable[schema.Band]) -> tuple[str, ...]:
    """Band id for every age from 0 up to the oldest band's start (that band covers the rest)."""
    ordered = sorted(bands, key=lambda b: b.from_)
    top = ordered[-1].from_
    return tuple(
        next(b.id for b in ordered if b.from_ <= age and (b.to is None or age < b.to))
        for age in range(top + 1)
    )


def _plan(rules: tuple[compiled.CompiledRule, ...], action: str, band: str) -> Plan:
    selected = [r for r in rules if action in r.actions and band in r.bands and enforced(r)]
    deny = tuple(r for r in selected if not r.obligation)
    edges = sorted({e for r in deny for e in r.edges})
    budgets = tuple(r for r in deny if isinstance(r, compiled.DailyBudgetRule))
    return Plan(deny, tuple(r for r in selected if r.obligation), tuple(edges), budgets)


def _expand_bands(
    names: Iterable[str], policy: ResolvedPolicy, band_ids: tuple[str, ...]
) -> frozenset[str]:
    out: set[str] = set()
    for name in names:
        if name == ALL:
            out |= set(band_ids)
        elif name in policy.groups:
            out |= policy.groups[name]
        else:
            out.add(name)
    return frozenset(out)


def _compile_rule(
    item: RuleSource, policy: ResolvedPolicy, band_ids: tuple[str, ...]
) -> compiled.CompiledRule:
    rule = item.rule
    kind = kinds.BY_NAME[rule.kind]
    code = rule.reason or kind.default_reason(rule)
    common: dict[str, Any] = {
        "id": rule.id,
        "ref": f"{item.origin}/{rule.id}",
        "kind": rule.kind,
        "code": code,
        "waivable": rule.waivable,
        "category_exemptions": rule.category_exemptions,
        "message": rule.message.zh_cn,
        "message_en": rule.message.en,
        "bands": _expand_bands(rule.bands, policy, band_ids),
        "actions": frozenset(expand_actions(rule.actions, rule.tags, policy.actions)),
    }
    others = rule.message.others
    common["messages"] = {lang: others[lang] for lang in policy.languages if lang in others}
    common |= rule_dates(item, policy)
    if isinstance(rule, schema.ConsentRule):  # the table is read beside the rule's own file
        common["below"] = compile_limit(rule, item.file.path)
    return kind.compile(rule, common)
