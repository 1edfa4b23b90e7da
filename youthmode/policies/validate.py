"""Stage 2 of loading: resolve `extends` and cross-check a whole policy set.

Everything that needs more than one table to check lives here: bands that must cover every age,
references from rules to bands, groups, actions, tags and day names (each with a did-you-mean),
inheritance, and duplicate ids. All problems are collected; a set with any error is rejected.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from youthmode.calendar import CalendarOverrides, supported_countries
from youthmode.errors import Problem, did_you_mean
from youthmode.policies import kinds, schema
from youthmode.policies.loader import SourceFile
from youthmode.policies.positions import Path as KeyPath

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
UNKNOWN_BAND = "unknown"
ALL = "*"
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


@dataclass
class _Checker:
    problems: list[Problem] = field(default_factory=list)

    def add(self, src: SourceFile, path: KeyPath, code: str, message: str, **more: Any) -> None:
        self.problems.append(src.problem(path, code, message, **more))


def resolve(files: Sequence[SourceFile]) -> tuple[list[ResolvedPolicy], list[Problem]]:
    """Resolve and check every policy in ``files``; problems are empty when all is well."""
    check = _Checker()
    by_id: dict[str, SourceFile] = {}
    for src in files:
        pid = src.document.policy.id
        if not ID_PATTERN.match(pid):
            check.add(
                src,
                ("policy", "id"),
                "invalid_id",
                f"policy id `{pid}` is not valid",
                hint="use lowercase letters, digits, `-`, `_` and `.`",
            )
        if pid in by_id:
            check.add(
                src,
                ("policy", "id"),
                "duplicate_policy_id",
                f"policy `{pid}` is also defined in `{by_id[pid].path}`",
                hint="give each policy file its own `id`",
            )
            continue
        by_id[pid] = src
    done: dict[str, ResolvedPolicy | None] = {}  # None: failed, already reported
    for pid in by_id:
        _resolve_one(pid, by_id, done, check, ())
    resolved = [p for p in done.values() if p is not None]
    defaults = [p for p in resolved if p.default]
    ancestors = {f.document.policy.id for p in defaults for f in p.files[:-1]}
    defaults = [p for p in defaults if p.id not in ancestors]  # a child's default wins
    for extra in defaults[1:]:
        check.add(
            extra.files[-1],
            ("policy", "default"),
            "duplicate_default",
            f"policies `{defaults[0].id}` and `{extra.id}` are both marked `default`",
            hint="set `default = true` on one policy only",
        )
    return resolved, sorted(check.problems, key=Problem.sort_key)


def _resolve_one(
    pid: str,
    by_id: dict[str, SourceFile],
    done: dict[str, ResolvedPolicy | None],
    check: _Checker,
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
    check: _Checker,
    chain: tuple[str, ...],
) -> ResolvedPolicy | None:
    src = by_id[pid]
    meta = src.document.policy
    parent: ResolvedPolicy | None = None
    if meta.extends is not None:
        if meta.extends in chain or meta.extends == pid:
            cycle = (*chain[chain.index(meta.extends) :], pid) if meta.extends in chain else (pid,)
            check.add(
                src,
                ("policy", "extends"),
                "extends_cycle",
                f"`extends` makes a cycle: {' -> '.join((*cycle, meta.extends))}",
                hint="a policy cannot extend itself, directly or through others",
            )
            return None
        if meta.extends not in by_id:
            check.add(
                src,
                ("policy", "extends"),
                "unknown_policy",
                f"policy `{pid}` extends unknown policy `{meta.extends}`",
                hint=did_you_mean(meta.extends, by_id),
            )
            return None
        parent = _resolve_one(meta.extends, by_id, done, check, (*chain, pid))
        if parent is None:
            return None
    before = len(check.problems)
    policy = _merge(src, parent, check)
    if policy is None or len(check.problems) > before:
        return None
    return policy


def _merge(
    src: SourceFile, parent: ResolvedPolicy | None, check: _Checker
) -> ResolvedPolicy | None:
    doc, meta = src.document, src.document.policy
    timezone = meta.timezone or (parent.timezone if parent else None)
    version = meta.version
    if version is None:
        check.add(
            src,
            ("policy", "version"),
            "missing_key",
            "missing required key `version`",
            hint='give the policy a version, e.g. version = "2026.1"',
        )
    if timezone is None:
        check.add(
            src,
            ("policy", "timezone"),
            "missing_key",
            "missing required key `timezone`",
            hint='e.g. timezone = "Asia/Shanghai"',
        )
    else:
        _check_timezone(src, timezone, check)
    country = meta.calendar if meta.calendar is not None else (parent.calendar if parent else None)
    if meta.calendar is not None and meta.calendar.upper() not in supported_countries():
        check.add(
            src,
            ("policy", "calendar"),
            "unknown_calendar",
            f"no holiday calendar for country `{meta.calendar}`",
            hint=_COUNTRY_ALIASES.get(meta.calendar.upper())
            or did_you_mean(meta.calendar.upper(), supported_countries()),
        )
    currency = meta.currency or (parent.currency if parent else "CNY")
    if not re.fullmatch(r"[A-Z]{3}", currency):
        check.add(
            src,
            ("policy", "currency"),
            "invalid_value",
            f"currency `{currency}` is not an ISO 4217 code",
            hint='e.g. "CNY"',
        )
    bands = _bands(src, parent, check)
    groups = _groups(src, parent, bands, check)
    actions = _actions(src, parent, check)
    exempt = doc.catalog.exempt_categories
    exempt_categories = frozenset(
        exempt if exempt is not None else (parent.exempt_categories if parent else ())
    )
    rules = _rules(src, parent, check)
    if version is None or timezone is None:
        return None
    policy = ResolvedPolicy(
        id=meta.id,
        version=version,
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
        exempt_categories=exempt_categories,
        actions=actions,
        rules=rules,
    )
    for rule in rules:
        if rule.file is src:
            _check_rule(policy, rule, check)
        else:  # the kind's checks of what this file's additions do to an inherited rule
            kinds.BY_NAME[rule.rule.kind].check_inherited(_rule_check(policy, rule, src, check))
    return policy


def _rule_check(
    policy: ResolvedPolicy, item: RuleSource, src: SourceFile, check: _Checker
) -> kinds.RuleCheck:
    """What a kind's own checks see of ``item``; problems are reported in ``src``."""
    rule = item.rule
    selected = expand_actions(rule.actions, rule.tags, policy.actions)
    return kinds.RuleCheck(
        rule=rule,
        path=item.path,
        origin=item.origin,
        currency=policy.currency,
        currency_places=policy.currency_places,
        selected={a: policy.actions[a] for a in sorted(selected)},
        own_actions=frozenset(src.document.catalog.actions),
        report=functools.partial(check.add, src),
    )


def _check_timezone(src: SourceFile, name: str, check: _Checker) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        check.add(
            src,
            ("policy", "timezone"),
            "invalid_timezone",
            f"`{name}` is not an IANA time zone",
            hint=_ZONE_ALIASES.get(name) or did_you_mean(name, _zones()) or 'e.g. "Asia/Shanghai"',
        )


# Names people write that the closest spelling would get wrong (Asia/Brunei, Puerto Rico).
_ZONE_ALIASES = {
    "Asia/Beijing": "did you mean `Asia/Shanghai`? (China's zone is named after Shanghai)",
    "Beijing": "did you mean `Asia/Shanghai`?",
    "China": "did you mean `Asia/Shanghai`?",
}
_COUNTRY_ALIASES = {"PRC": "did you mean `CN`?", "CHINA": "did you mean `CN`?"}


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _overrides(src: SourceFile, parent: ResolvedPolicy | None) -> CalendarOverrides:
    base = parent.overrides if parent else CalendarOverrides()
    own = src.document.calendar
    if own is None:
        return base
    rest = {d for group in own.rest_days for d in group}
    working = {d for group in own.working_days for d in group}
    # The extending pack's word wins over its parent's for the days it names.
    return CalendarOverrides(
        rest_days=(base.rest_days - working) | rest,
        working_days=(base.working_days - rest) | working,
        declared_years=base.declared_years | frozenset(own.official_years),
    )


def _bands(
    src: SourceFile, parent: ResolvedPolicy | None, check: _Checker
) -> tuple[schema.Band, ...]:
    own = src.document.bands
    if parent and parent.bands:
        if own:
            check.add(
                src,
                ("bands",),
                "bands_redefined",
                f"bands are inherited from `{parent.id}` and cannot be redefined",
                hint="refer to the parent's bands or add groups of them",
            )
        return parent.bands
    if not own:
        check.add(
            src,
            ("bands",),
            "missing_key",
            "a policy needs `[[bands]]` covering every age",
            hint='start with [[bands]] id = "adult" from = 0',
        )
        return ()
    seen: set[str] = set()
    for i, band in enumerate(own):
        if band.id in (UNKNOWN_BAND, ALL):
            check.add(
                src,
                ("bands", i, "id"),
                "invalid_id",
                f"band id `{band.id}` is reserved",
                hint="the band `unknown` (age not known) always exists; choose another id",
            )
        elif not ID_PATTERN.match(band.id):
            check.add(
                src,
                ("bands", i, "id"),
                "invalid_id",
                f"band id `{band.id}` is not valid",
                hint="use lowercase letters, digits, `-`, `_` and `.`",
            )
        elif band.id in seen:
            check.add(
                src,
                ("bands", i, "id"),
                "duplicate_band",
                f"band `{band.id}` is defined twice",
                hint="give each band its own id",
            )
        seen.add(band.id)
        if band.to is not None and band.to <= band.from_:
            check.add(
                src,
                ("bands", i, "to"),
                "invalid_band_range",
                f"band `{band.id}` must end after it starts: `to` is {band.to}, "
                f"`from` is {band.from_}",
                hint="`to` is the first age after the band: ages 8 to 11 are from = 8, to = 12",
            )
    _check_coverage(src, own, check)
    return tuple(own)


def _check_coverage(src: SourceFile, bands: Sequence[schema.Band], check: _Checker) -> None:
    order = sorted(range(len(bands)), key=lambda i: bands[i].from_)
    expected = 0
    for i in order:
        band = bands[i]
        if band.from_ > expected:
            check.add(
                src,
                ("bands", i, "from"),
                "band_gap",
                f"no band covers age {expected}"
                if band.from_ - 1 == expected
                else f"no band covers ages {expected} to {band.from_ - 1}",
                hint=f"start band `{band.id}` at {expected} or add a band for the gap",
            )
        elif band.from_ < expected:
            check.add(
                src,
                ("bands", i, "from"),
                "band_overlap",
                f"band `{band.id}` overlaps another band at age {band.from_}",
                hint="bands are half-open ranges [from, to): each starts where the last ends",
            )
        if band.to is None:
            expected = 10**6
        else:
            expected = max(expected, band.to)
    if expected < 10**6:
        last = bands[order[-1]] if order else None
        check.add(
            src,
            ("bands", order[-1], "to") if last else ("bands",),
            "band_gap",
            f"no band covers ages {expected} and over",
            hint="leave out `to` on the oldest band",
        )


def _groups(
    src: SourceFile, parent: ResolvedPolicy | None, bands: Sequence[schema.Band], check: _Checker
) -> dict[str, frozenset[str]]:
    band_ids = {b.id for b in bands} | {UNKNOWN_BAND}
    groups = dict(parent.groups) if parent else {}
    own = src.document.groups
    for name in own:
        if name in band_ids or name == ALL:
            check.add(
                src,
                ("groups", name),
                "invalid_id",
                f"group `{name}` has the name of a band",
                hint="choose another name for the group",
            )
        elif name in groups:
            check.add(
                src,
                ("groups", name),
                "duplicate_group",
                f"group `{name}` is already defined by `{parent.id if parent else '?'}`",
                hint="choose another name for the group",
            )
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
                cycle = (*stack[stack.index(member) :], member)
                check.add(
                    src,
                    ("groups", name, j),
                    "group_cycle",
                    f"group `{name}` includes itself"
                    if member == name
                    else f"groups include each other: {' -> '.join(cycle)}",
                    hint="a group can name bands and other groups, but not itself",
                )
            elif member in own:
                groups[member] = expand(member, (*stack, member))
                out |= groups[member]
            else:
                check.add(
                    src,
                    ("groups", name, j),
                    "unknown_band",
                    f"group `{name}` names unknown band `{member}`",
                    hint=_band_hint(member, [*band_ids, *own, *groups]),
                )
        return frozenset(out)

    for name in own:
        if name not in groups and name not in band_ids:
            groups[name] = expand(name, (name,))
    return groups


def _band_hint(name: str, known: Iterable[str]) -> str:
    known = sorted(set(known) - {ALL})
    return did_you_mean(name, known) or "bands and groups: " + ", ".join(known)


def _actions(
    src: SourceFile, parent: ResolvedPolicy | None, check: _Checker
) -> dict[str, schema.ActionSpec]:
    actions = dict(parent.actions) if parent else {}
    for name, spec in src.document.catalog.actions.items():
        path: KeyPath = ("catalog", "actions", name)
        if not ACTION_PATTERN.match(name):
            check.add(
                src,
                path,
                "invalid_action_name",
                f"action name `{name}` is not valid",
                hint="dotted lowercase words, e.g. `game.play`",
            )
        if name in actions:
            check.add(
                src,
                path,
                "duplicate_action",
                f"action `{name}` is already in the catalog of `{parent.id if parent else '?'}`",
                hint="an inherited action cannot be redefined; use it or choose another name",
            )
        if spec.on_store_error == "allow" and spec.spend is not None:
            check.add(
                src,
                (*path, "on_store_error"),
                "unsafe_store_error_mode",
                f"spending action `{name}` cannot be allowed while the ledger is unavailable",
                hint='spending always fails closed; remove on_store_error or set it to "deny"',
            )
        for j, tag in enumerate(spec.tags):
            if not CODE_PATTERN.match(tag):
                check.add(
                    src,
                    (*path, "tags", j),
                    "invalid_tag",
                    f"tag `{tag}` is not valid",
                    hint="lowercase snake_case",
                )
        actions[name] = spec
    return actions


def _rules(
    src: SourceFile, parent: ResolvedPolicy | None, check: _Checker
) -> tuple[RuleSource, ...]:
    rules = list(parent.rules) if parent else []
    positions = {r.rule.id: i for i, r in enumerate(rules)}
    own_ids: set[str] = set()
    for index, rule in enumerate(src.document.rules):
        item = RuleSource(rule, src.document.policy.id, src, index)
        if not ID_PATTERN.match(rule.id):
            check.add(
                src,
                (*item.path, "id"),
                "invalid_id",
                f"rule id `{rule.id}` is not valid",
                hint="use lowercase letters, digits, `-`, `_` and `.`",
                rule=rule.id,
            )
        if rule.id in own_ids:
            check.add(
                src,
                (*item.path, "id"),
                "duplicate_rule_id",
                f"rule id `{rule.id}` is used twice in this policy",
                hint="give each rule its own id",
                rule=rule.id,
            )
            continue
        own_ids.add(rule.id)
        if rule.id in positions:
            if not rule.override:
                check.add(
                    src,
                    (*item.path, "id"),
                    "duplicate_rule_id",
                    f"rule `{rule.id}` is already defined by `{rules[positions[rule.id]].origin}`",
                    hint="set `override = true` to replace it, or choose another id",
                    rule=rule.id,
                )
            else:
                rules[positions[rule.id]] = item
            continue
        if rule.override:
            check.add(
                src,
                (*item.path, "override"),
                "nothing_to_override",
                f"rule `{rule.id}` sets `override` but no inherited rule has that id",
                hint=did_you_mean(rule.id, positions)
                or (
                    f"`{parent.id}` has no rule `{rule.id}`; remove `override`"
                    if parent
                    else "`override` replaces a rule of the policy named in `extends`"
                ),
                rule=rule.id,
            )
        positions[rule.id] = len(rules)
        rules.append(item)
    return tuple(rules)


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


def _check_rule(policy: ResolvedPolicy, item: RuleSource, check: _Checker) -> None:
    rule, src, path = item.rule, item.file, item.path
    bands = {b.id for b in policy.bands} | {UNKNOWN_BAND} | set(policy.groups)
    for j, band in enumerate(rule.bands if policy.bands else ()):  # no bands: reported
        if band != ALL and band not in bands:
            check.add(
                src,
                (*path, "bands", j),
                "unknown_band",
                f"unknown band or group `{band}`",
                hint=_band_hint(band, bands),
                rule=rule.id,
            )
    _check_actions(policy, item, check)
    if rule.reason is not None and not CODE_PATTERN.match(rule.reason):
        check.add(
            src,
            (*path, "reason"),
            "invalid_reason_code",
            f"reason code `{rule.reason}` is not snake_case",
            hint='lowercase words joined by `_`, e.g. "curfew" or "game_time"',
            rule=rule.id,
        )
    if rule.reason is None and kinds.BY_NAME[rule.kind].reason is None:
        check.add(
            src,
            (*path, "reason"),
            "missing_key",
            f"rule `{rule.id}` of kind `{rule.kind}` needs a `reason`",
            hint='e.g. reason = "curfew"',
            rule=rule.id,
        )
    kinds.BY_NAME[rule.kind].check(_rule_check(policy, item, src, check))


def _check_actions(policy: ResolvedPolicy, item: RuleSource, check: _Checker) -> None:
    rule, src, path = item.rule, item.file, item.path
    catalog = policy.actions
    if not rule.actions and not rule.tags:
        check.add(
            src,
            path,
            "rule_without_actions",
            f"rule `{rule.id}` names no `actions` and no `tags`",
            hint='use actions = ["*"] for every action',
            rule=rule.id,
        )
    for j, pattern in enumerate(rule.actions):
        if pattern == ALL or pattern in catalog:
            continue
        if pattern.endswith(".*") and any(a.startswith(pattern[:-1]) for a in catalog):
            continue
        check.add(
            src,
            (*path, "actions", j),
            "unknown_action",
            f"no action in the catalog starts with `{pattern[:-1]}`"
            if pattern.endswith(".*")
            else f"action `{pattern}` is not in the catalog",
            hint=did_you_mean(pattern, catalog),
            rule=rule.id,
        )
    known_tags = {t for spec in catalog.values() for t in spec.tags}
    for j, tag in enumerate(rule.tags):
        if tag not in known_tags:
            check.add(
                src,
                (*path, "tags", j),
                "unknown_tag",
                f"no action in the catalog has tag `{tag}`",
                hint=did_you_mean(tag, known_tags),
                rule=rule.id,
            )
