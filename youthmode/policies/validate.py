"""Stage 2 of loading, the cross-checks: what needs more than one key of a file to check.

Bands that must cover every age, ids, names and tags, and the references of each rule to bands,
groups, actions and tags (each with a did-you-mean), then the rule kind's own checks
(`kinds.py`). `resolve.py` merges a file onto the policy it extends and calls these on what
the file adds. Every problem is collected; a set with any error is rejected.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from youthmode.calendar import supported_countries
from youthmode.errors import Problem, did_you_mean
from youthmode.policies import diagnostics as d
from youthmode.policies import kinds, schema
from youthmode.policies.kind_checks import RuleCheck
from youthmode.policies.loader import SourceFile
from youthmode.policies.positions import KeyPath

if TYPE_CHECKING:
    from youthmode.policies.resolve import ResolvedPolicy, RuleSource

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
UNKNOWN_BAND = "unknown"
ALL = "*"
_NO_TOP = 10**6  # past every age: the oldest band has no `to`


@dataclass
class Checker:
    """The problems found so far, each located in the file it is about."""

    problems: list[Problem] = field(default_factory=list)

    def add(
        self, src: SourceFile, path: KeyPath, finding: d.Finding, rule: str | None = None
    ) -> None:
        self.problems.append(src.problem(path, finding, rule=rule))


# -- [policy] ------------------------------------------------------------------------------------
def check_meta(src: SourceFile, timezone: str | None, currency: str, check: Checker) -> None:
    """The keys of [policy] a file must have (or inherit), and their values."""
    meta = src.document.policy
    if meta.version is None:
        check.add(src, ("policy", "version"), d.MISSING_VERSION())
    if timezone is None:
        check.add(src, ("policy", "timezone"), d.MISSING_TIMEZONE())
    else:
        _check_timezone(src, timezone, check)
    if meta.calendar is not None and meta.calendar.upper() not in supported_countries():
        hint = d.COUNTRY_ALIASES.get(meta.calendar.upper()) or did_you_mean(
            meta.calendar.upper(), supported_countries()
        )
        check.add(src, ("policy", "calendar"), d.UNKNOWN_CALENDAR(country=meta.calendar, hint=hint))
    if not re.fullmatch(r"[A-Z]{3}", currency):
        check.add(src, ("policy", "currency"), d.INVALID_CURRENCY(currency=currency))


def _check_timezone(src: SourceFile, name: str, check: Checker) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        hint = d.ZONE_ALIASES.get(name) or did_you_mean(name, _zones()) or 'e.g. "Asia/Shanghai"'
        check.add(src, ("policy", "timezone"), d.INVALID_TIMEZONE(name=name, hint=hint))


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


# -- [[bands]], [groups], [catalog] --------------------------------------------------------------
def check_bands(src: SourceFile, bands: Sequence[schema.Band], check: Checker) -> None:
    """A file's own bands: ids, ranges, and that together they cover every age once."""
    if not bands:
        check.add(src, ("bands",), d.MISSING_BANDS())
        return
    seen: set[str] = set()
    for i, band in enumerate(bands):
        if band.id in (UNKNOWN_BAND, ALL):
            check.add(src, ("bands", i, "id"), d.RESERVED_BAND_ID(id=band.id))
        elif not ID_PATTERN.match(band.id):
            check.add(src, ("bands", i, "id"), d.INVALID_BAND_ID(id=band.id))
        elif band.id in seen:
            check.add(src, ("bands", i, "id"), d.DUPLICATE_BAND(id=band.id))
        seen.add(band.id)
        if band.to is not None and band.to <= band.from_:
            found = d.INVALID_BAND_RANGE(id=band.id, to=band.to, from_=band.from_)
            check.add(src, ("bands", i, "to"), found)
    _check_coverage(src, bands, check)


def _check_coverage(src: SourceFile, bands: Sequence[schema.Band], check: Checker) -> None:
    order = sorted(range(len(bands)), key=lambda i: bands[i].from_)
    expected = 0
    for i in order:
        band = bands[i]
        if band.from_ > expected:
            gap = d.BAND_GAP_AGE if band.from_ - 1 == expected else d.BAND_GAP_AGES
            found = gap(low=expected, high=band.from_ - 1, band=band.id)
            check.add(src, ("bands", i, "from"), found)
        elif band.from_ < expected:
            found = d.BAND_OVERLAP(id=band.id, age=band.from_)
            check.add(src, ("bands", i, "from"), found)
        expected = _NO_TOP if band.to is None else max(expected, band.to)
    if expected < _NO_TOP:
        path: KeyPath = ("bands", order[-1], "to") if order else ("bands",)
        check.add(src, path, d.BAND_GAP_ABOVE(low=expected))


def check_group_names(
    src: SourceFile, band_ids: set[str], inherited: Iterable[str], parent: str, check: Checker
) -> None:
    """A file's own group names: not a band's, not one the parent already defines."""
    inherited = set(inherited)
    for name in src.document.groups:
        if name in band_ids or name == ALL:
            check.add(src, ("groups", name), d.GROUP_NAMED_LIKE_A_BAND(name=name))
        elif name in inherited:
            check.add(src, ("groups", name), d.DUPLICATE_GROUP(name=name, parent=parent))


def band_hint(name: str, known: Iterable[str]) -> str:
    """Did you mean one of the bands and groups, or the list of them."""
    known = sorted(set(known) - {ALL})
    return did_you_mean(name, known) or "bands and groups: " + ", ".join(known)


def check_action(src: SourceFile, name: str, spec: schema.ActionSpec, check: Checker) -> None:
    """One action of a file's catalog: its name, its tags, its store-error mode."""
    path: KeyPath = ("catalog", "actions", name)
    if not ACTION_PATTERN.match(name):
        check.add(src, path, d.INVALID_ACTION_NAME(name=name))
    if spec.on_store_error == "allow" and spec.spend is not None:
        check.add(src, (*path, "on_store_error"), d.UNSAFE_STORE_ERROR_MODE(name=name))
    for j, tag in enumerate(spec.tags):
        if not CODE_PATTERN.match(tag):
            check.add(src, (*path, "tags", j), d.INVALID_TAG(tag=tag))


# -- [[rules]] -----------------------------------------------------------------------------------
def expand_actions(
    patterns: Iterable[str], tags: Iterable[str], catalog: dict[str, Any]
) -> set[str]:
    """The catalog actions a rule's `actions` patterns and `tags` select."""
    tag_set = set(tags)
    out: set[str] = set()
    for pattern in patterns:
        if pattern == ALL:
            out |= set(catalog)
        elif pattern.endswith(".*"):
            out |= {a for a in catalog if a.startswith(pattern[:-1])}
        elif pattern in catalog:
            out.add(pattern)
    out |= {a for a, spec in catalog.items() if tag_set & set(spec.tags)}
    return out


def check_rules(policy: ResolvedPolicy, src: SourceFile, check: Checker) -> None:
    """The rules of ``policy`` as ``src`` leaves them: its own in full, inherited ones as
    far as what ``src`` adds (its actions) changes them."""
    for rule in policy.rules:
        if rule.file is src:
            _check_rule(policy, rule, check)
        else:  # the kind's checks of what this file's additions do to an inherited rule
            kinds.BY_NAME[rule.rule.kind].check_inherited(_rule_check(policy, rule, src, check))


def _rule_check(
    policy: ResolvedPolicy, item: RuleSource, src: SourceFile, check: Checker
) -> RuleCheck:
    """What a kind's own checks see of ``item``; problems are reported in ``src``."""
    rule = item.rule
    selected = expand_actions(rule.actions, rule.tags, policy.actions)
    return RuleCheck(
        rule=rule,
        path=item.path,
        origin=item.origin,
        currency=policy.currency,
        currency_places=policy.currency_places,
        selected={a: policy.actions[a] for a in sorted(selected)},
        own_actions=frozenset(src.document.catalog.actions),
        report=functools.partial(check.add, src),
        file=item.file.path,
    )


def _check_rule(policy: ResolvedPolicy, item: RuleSource, check: Checker) -> None:
    rule, src, path = item.rule, item.file, item.path
    bands = {b.id for b in policy.bands} | {UNKNOWN_BAND} | set(policy.groups)
    for j, band in enumerate(rule.bands if policy.bands else ()):  # no bands: reported
        if band != ALL and band not in bands:
            found = d.UNKNOWN_BAND(band=band, hint=band_hint(band, bands))
            check.add(src, (*path, "bands", j), found, rule=rule.id)
    _check_actions(policy, item, check)
    if rule.reason is not None and not CODE_PATTERN.match(rule.reason):
        found = d.INVALID_REASON_CODE(reason=rule.reason)
        check.add(src, (*path, "reason"), found, rule=rule.id)
    if rule.reason is None and kinds.BY_NAME[rule.kind].reason is None:
        found = d.MISSING_REASON(id=rule.id, kind=rule.kind)
        check.add(src, (*path, "reason"), found, rule=rule.id)
    kinds.BY_NAME[rule.kind].check(_rule_check(policy, item, src, check))


def _check_actions(policy: ResolvedPolicy, item: RuleSource, check: Checker) -> None:
    rule, src, path = item.rule, item.file, item.path
    catalog = policy.actions
    if not rule.actions and not rule.tags:
        check.add(src, path, d.RULE_WITHOUT_ACTIONS(id=rule.id), rule=rule.id)
    for j, pattern in enumerate(rule.actions):
        if pattern == ALL or pattern in catalog:
            continue
        if pattern.endswith(".*") and any(a.startswith(pattern[:-1]) for a in catalog):
            continue
        hint = did_you_mean(pattern, catalog)
        found = (
            d.UNKNOWN_ACTION_PREFIX(prefix=pattern[:-1], hint=hint)
            if pattern.endswith(".*")
            else d.UNKNOWN_ACTION(action=pattern, hint=hint)
        )
        check.add(src, (*path, "actions", j), found, rule=rule.id)
    known_tags = {t for spec in catalog.values() for t in spec.tags}
    for j, tag in enumerate(rule.tags):
        if tag not in known_tags:
            found = d.UNKNOWN_TAG(tag=tag, hint=did_you_mean(tag, known_tags))
            check.add(src, (*path, "tags", j), found, rule=rule.id)
