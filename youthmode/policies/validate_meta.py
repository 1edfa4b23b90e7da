"""Stage 2 of loading, the policy-level keys: jurisdiction, in force, status, languages, floors.

`resolve.py` calls `policy_meta` when it merges a file onto its parent (what is inherited is
decided here: `floors`, `languages` and `[age_assurance]` are; `jurisdiction`, `in_force`,
`status` and `legal_status` are not, a pack extending another is its own legal instrument),
`check_rule_meta` on the rules a file adds, and `check_floors` once every policy is known.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from youthmode import jurisdictions
from youthmode.age_signals import METHODS
from youthmode.errors import did_you_mean
from youthmode.policies import diagnostics as d
from youthmode.policies import diagnostics_meta as dm
from youthmode.policies import schema
from youthmode.policies.languages import BUILT_IN, TAG, undeclared
from youthmode.policies.loader import SourceFile
from youthmode.policies.positions import KeyPath
from youthmode.policies.validate import Checker

if TYPE_CHECKING:
    from youthmode.policies.resolve import ResolvedPolicy, RuleSource


def policy_meta(src: SourceFile, parent: ResolvedPolicy | None, check: Checker) -> dict[str, Any]:
    """The policy-level fields of `ResolvedPolicy` for ``src`` on ``parent``, checked."""
    meta, doc = src.document.policy, src.document
    start, end = check_in_force(src, ("policy", "in_force"), meta.in_force, check)
    languages = _languages(src, meta.languages, check)
    if parent is not None:
        languages = (*parent.languages, *(x for x in languages if x not in parent.languages))
    floors: Mapping[str, tuple[str, ...]] = _floors(src, meta.floors, check)
    if meta.floors is None and parent is not None:
        floors = parent.floors
    methods = _methods(src, doc.age_assurance, check)
    if doc.age_assurance is None and parent is not None:
        methods = parent.age_methods
    return {
        "jurisdiction": _jurisdiction(src, ("policy", "jurisdiction"), meta.jurisdiction, check),
        "in_force_from": start,
        "in_force_until": end,
        "status": meta.status,
        "legal_status": meta.legal_status,
        # Not inherited: a pack extending another is reviewed on its own sources.
        "reviewed": meta.reviewed,
        "languages": languages,
        "floors": floors,
        "age_methods": methods,
    }


def check_in_force(
    src: SourceFile, path: KeyPath, spec: schema.InForce | None, check: Checker
) -> tuple[date | None, date | None]:
    """The dates of an `in_force` table; `from` must come before `until`."""
    if spec is None:
        return None, None
    if spec.from_ is not None and spec.until is not None and spec.from_ >= spec.until:
        found = dm.IN_FORCE_ORDER(start=spec.from_, end=spec.until)
        check.add(src, (*path, "until"), found)
    return spec.from_, spec.until


def _jurisdiction(src: SourceFile, path: KeyPath, code: str | None, check: Checker) -> str | None:
    if code is None:
        return None
    try:
        return jurisdictions.normalise(code)
    except jurisdictions.UnknownJurisdiction as err:
        check.add(src, path, dm.INVALID_JURISDICTION(detail=str(err)))
        return None


def _languages(src: SourceFile, languages: list[str] | None, check: Checker) -> tuple[str, ...]:
    out: list[str] = []
    for i, tag in enumerate(languages or ()):
        if tag in BUILT_IN or not TAG.match(tag):
            check.add(src, ("policy", "languages", i), d.INVALID_LANGUAGE(language=tag))
        elif tag not in out:
            out.append(tag)
    return tuple(out)


def _floors(
    src: SourceFile, floors: Mapping[str, str | list[str]] | None, check: Checker
) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for key, value in (floors or {}).items():
        code = _jurisdiction(src, ("policy", "floors", key), key, check)
        if code is not None:
            ids = (value,) if isinstance(value, str) else tuple(value)
            out[code] = (*out.get(code, ()), *ids)
    return out


def _methods(
    src: SourceFile, spec: schema.AgeAssurance | None, check: Checker
) -> frozenset[str] | None:
    if spec is None:
        return None
    if not spec.methods:
        check.add(src, ("age_assurance", "methods"), d.NO_AGE_METHODS())
    for i, method in enumerate(spec.methods):
        if method not in METHODS:
            hint = did_you_mean(method, METHODS) or "methods: " + ", ".join(METHODS)
            found = dm.UNKNOWN_AGE_METHOD(method=method, hint=hint)
            check.add(src, ("age_assurance", "methods", i), found)
    return frozenset(spec.methods)


def check_rule_meta(
    src: SourceFile, rules: Iterable[RuleSource], languages: tuple[str, ...], check: Checker
) -> None:
    """A file's own rules: their `in_force` dates and the languages of their messages."""
    for item in rules:
        if item.file is not src:
            continue  # inherited: checked with the file it comes from
        rule = item.rule
        check_in_force(src, (*item.path, "in_force"), rule.in_force, check)
        for tag, text in rule.message.others.items():
            path = (*item.path, "message", tag)
            if tag in languages:
                if not text:
                    check.add(src, path, d.EMPTY_TRANSLATION(language=tag), rule=rule.id)
                continue
            check.add(src, path, undeclared(tag, languages), rule=rule.id)


def check_floors(
    policies: Iterable[ResolvedPolicy], known: Mapping[str, SourceFile], check: Checker
) -> None:
    """Every floor is a loaded policy other than the one naming it, and floors make no cycle."""
    graph: dict[str, set[str]] = {}
    for policy in policies:
        graph[policy.id] = {f for ids in policy.floors.values() for f in ids}
    for policy in policies:
        src = policy.files[-1]
        own = src.document.policy.floors or {}
        for key, value in own.items():
            ids = [value] if isinstance(value, str) else value
            for j, floor in enumerate(ids):
                path: KeyPath = (
                    ("policy", "floors", key)
                    if isinstance(value, str)
                    else (
                        "policy",
                        "floors",
                        key,
                        j,
                    )
                )
                found = _floor_problem(policy.id, key, floor, known, graph)
                if found is not None:
                    check.add(src, path, found)


def _floor_problem(
    pid: str, key: str, floor: str, known: Mapping[str, SourceFile], graph: dict[str, set[str]]
) -> d.Finding | None:
    if floor == pid:
        return dm.FLOOR_IS_ITSELF(id=pid, jurisdiction=key)
    if floor not in known:
        hint = did_you_mean(floor, known)
        return dm.UNKNOWN_FLOOR(floor=floor, jurisdiction=key, hint=hint)
    path = _path_back(floor, pid, graph, (pid, floor))
    if path is not None:
        return dm.FLOOR_CYCLE(cycle=" -> ".join(path))
    return None


def _path_back(
    at: str, target: str, graph: dict[str, set[str]], path: tuple[str, ...]
) -> tuple[str, ...] | None:
    """A chain of floors from ``at`` back to ``target``, if there is one."""
    for nxt in sorted(graph.get(at, ())):
        if nxt == target:
            return (*path, nxt)
        if nxt not in path:
            found = _path_back(nxt, target, graph, (*path, nxt))
            if found is not None:
                return found
    return None
