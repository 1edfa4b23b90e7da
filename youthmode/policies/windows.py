"""The daily time windows of `deny_window` and `allow_window` rules: their checks and compile step.

Both kinds share the same keys (`between`, `days`, `except_days` or `windows`), so the registry
entries of both (`kinds.py`) point here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from youthmode.calendar import DAY_TYPES, WEEKDAYS
from youthmode.errors import did_you_mean
from youthmode.policies import diagnostics as d
from youthmode.policies import rules as compiled
from youthmode.policies.kind_checks import RuleCheck
from youthmode.policies.positions import KeyPath
from youthmode.units import format_time_of_day

EVERY = "*"
DAY_SELECTORS = (*WEEKDAYS, "weekend", "workday", "holiday", "makeup_workday", EVERY)

# JSON Schema annotations of the window keys (`youthmode schema`), shared with the Window table.
KEYS: dict[str, dict[str, Any]] = {
    "between": {
        "description": 'the window [start, end), e.g. ["22:00", "06:00"]; crosses midnight '
        "when end <= start",
    },
    "days": {
        "items": {"enum": list(DAY_SELECTORS)},
        "description": "days the window is on (default: every day)",
    },
    "except_days": {
        "items": {"enum": list(DAY_SELECTORS)},
        "description": "days taken out of `days`",
    },
    "windows": {"description": "several windows, each with between, days and except_days"},
}


# -- compile ---------------------------------------------------------------------------------
def day_set(selectors: Iterable[str], excluded: Iterable[str]) -> frozenset[compiled.DayKey]:
    """The (weekday, day type) pairs ``selectors`` name, less those ``excluded`` names."""
    every: set[compiled.DayKey] = {(wd, dt) for wd in range(7) for dt in DAY_TYPES}

    def matching(selector: str) -> set[compiled.DayKey]:
        if selector == EVERY:
            return every
        if selector in WEEKDAYS:
            return {k for k in every if k[0] == WEEKDAYS.index(selector)}
        if selector == "workday":
            return {k for k in every if k[1] in ("workday", "makeup_workday")}
        return {k for k in every if k[1] == selector}

    included = set().union(*(matching(s) for s in selectors))
    return frozenset(included - set().union(*(matching(s) for s in excluded)))


def _windows(rule: Any) -> tuple[compiled.Window, ...]:
    if rule.between is not None:
        days = [EVERY] if rule.days is None else rule.days
        specs = [(rule.between, days, rule.except_days or [])]
    else:
        specs = [(w.between, w.days, w.except_days) for w in rule.windows]
    return tuple(
        compiled.Window(start, end, day_set(days, excl)) for (start, end), days, excl in specs
    )


def compile_windows(rule: Any, common: dict[str, Any]) -> compiled.CompiledRule:
    """A `deny_window` or `allow_window` rule, with its edges for the timeline."""
    windows = _windows(rule)
    edges = tuple(sorted({e % 86400 for w in windows for e in (w.start, w.end)} - {0}))
    cls = compiled.DenyWindowRule if rule.kind == "deny_window" else compiled.AllowWindowRule
    return cls(**common, edges=edges, windows=windows)


# -- checks ----------------------------------------------------------------------------------
def check_windows(ctx: RuleCheck) -> None:
    """`between` or `windows` (not both), each window non-empty, days that exist."""
    rule, path = ctx.rule, ctx.path
    shorthand = rule.between is not None
    if shorthand == bool(rule.windows):
        ctx.report(path, d.BETWEEN_OR_WINDOWS(id=rule.id), rule=rule.id)
        return
    if not shorthand and (rule.days is not None or rule.except_days is not None):
        ctx.report((*path, "days"), d.DAYS_BESIDE_WINDOWS(), rule=rule.id)
    windows: list[tuple[KeyPath, tuple[int, int], list[str], list[str]]] = []
    if shorthand:
        days = [EVERY] if rule.days is None else rule.days
        windows.append((path, rule.between, days, rule.except_days or []))
    else:
        for j, w in enumerate(rule.windows):
            windows.append(((*path, "windows", j), w.between, w.days, w.except_days))
    for wpath, span, days, except_days in windows:
        _check_window(ctx, wpath, span, days, except_days)


def _check_window(
    ctx: RuleCheck, wpath: KeyPath, span: tuple[int, int], days: list[str], except_days: list[str]
) -> None:
    rule_id = ctx.rule.id
    start, end = span
    if start == end or (start, end) == (0, 86400):
        found = d.EMPTY_WINDOW(start=format_time_of_day(start), end=format_time_of_day(end))
        ctx.report((*wpath, "between"), found, rule=rule_id)
    if start == 86400:
        ctx.report((*wpath, "between", 0), d.WINDOW_STARTS_AT_24(), rule=rule_id)
    if not days:
        ctx.report((*wpath, "days"), d.NO_DAYS(), rule=rule_id)
    for key, selectors in (("days", days), ("except_days", except_days)):
        for j, day in enumerate(selectors):
            if day not in DAY_SELECTORS:
                hint = did_you_mean(day, DAY_SELECTORS) or "days: " + ", ".join(DAY_SELECTORS)
                ctx.report((*wpath, key, j), d.UNKNOWN_DAY(day=day, hint=hint), rule=rule_id)
