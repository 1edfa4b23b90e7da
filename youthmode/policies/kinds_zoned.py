"""The registry entries of issue 15's rule kinds, appended to `kinds.KINDS` like
`kinds_world.py`'s: `quiet_hours` (windows on the subject's or a fixed zone's clock, with
months) and `use_warning` (cumulative-use warnings, an obligation). Models in `schema.py`,
evaluators in `rules_zoned.py`; their compile steps and checks are here."""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import TYPE_CHECKING, Any

from youthmode.errors import did_you_mean
from youthmode.policies import diagnostics as d
from youthmode.policies import diagnostics_world as dw
from youthmode.policies import rules_zoned as zoned
from youthmode.policies import schema, windows
from youthmode.policies.kind_checks import RuleCheck
from youthmode.policies.rules import CompiledRule

if TYPE_CHECKING:
    from datetime import datetime

    from youthmode.facts import Moment, RequestFacts


# -- months -----------------------------------------------------------------------------------
def month_set(items: list[str]) -> frozenset[int] | None:
    """The months (1-12) ``items`` name ("sep", or "sep-may" wrapping the year); empty: every
    month (the empty set); None when an item is neither."""
    out: set[int] = set()
    for item in items:
        first, dash, last = item.partition("-")
        if first not in zoned.MONTHS or (dash and last not in zoned.MONTHS):
            return None
        start = zoned.MONTHS.index(first)
        end = zoned.MONTHS.index(last) if dash else start
        out.update(1 + (start + n) % 12 for n in range((end - start) % 12 + 1))
    return frozenset(out)


# -- compile ----------------------------------------------------------------------------------
def _specs(rule: Any) -> list[tuple[list[int], list[str], list[str], list[str]]]:
    if rule.between is not None:
        days = [windows.EVERY] if rule.days is None else rule.days
        return [(rule.between, days, rule.except_days or [], rule.months or [])]
    return [(w.between, w.days, w.except_days, w.months) for w in rule.windows]


def _quiet_hours(rule: Any, common: dict[str, Any]) -> CompiledRule:
    found = tuple(
        zoned.ZonedWindow(start, end, windows.day_set(days, excl), month_set(months) or frozenset())
        for (start, end), days, excl, months in _specs(rule)
    )
    edges = sorted({e % zoned.DAY for w in found for e in (w.start, w.end)} - {0})
    fixed = None if rule.zone == zoned.USER else zoneinfo.ZoneInfo(rule.zone)
    return zoned.QuietHoursRule(
        **common,
        windows=found,
        fixed_zone=fixed,
        consent=rule.consent,
        local_edges=(*edges, zoned.DAY),
    )


def _use_warning(rule: Any, common: dict[str, Any]) -> CompiledRule:
    return zoned.UseWarningRule(
        **common,
        warning=rule.warning or rule.id,
        first_access=rule.first_access,
        after=rule.after,
        every=rule.every,
    )


# -- checks -----------------------------------------------------------------------------------
@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_quiet_hours(ctx: RuleCheck) -> None:
    """The window checks of `deny_window`, then months and the zone."""
    windows.check_windows(ctx)
    rule, path = ctx.rule, ctx.path
    if rule.windows and rule.months is not None:
        ctx.report((*path, "months"), dw.MONTHS_BESIDE_WINDOWS(), rule=rule.id)
    months = [((*path, "months"), rule.months or [])]
    months += [((*path, "windows", j, "months"), w.months) for j, w in enumerate(rule.windows)]
    for mpath, items in months:
        for j, item in enumerate(items):
            if month_set([item]) is None:
                ctx.report((*mpath, j), dw.UNKNOWN_MONTH(month=item), rule=rule.id)
    if rule.zone != zoned.USER and rule.zone not in _zones():
        hint = did_you_mean(rule.zone, _zones()) or '"user" or e.g. "America/New_York"'
        ctx.report((*path, "zone"), d.INVALID_TIMEZONE(name=rule.zone, hint=hint), rule=rule.id)


def check_use_warning(ctx: RuleCheck) -> None:
    """When the warning is due: at first access, after some use, or both; `every` repeats
    from `after` (a zero duration is already refused by its parser)."""
    rule, path = ctx.rule, ctx.path
    if not rule.first_access and rule.after is None:
        ctx.report(path, dw.WARNING_NEEDS_WHEN(id=rule.id), rule=rule.id)
    if rule.every is not None and rule.after is None:
        ctx.report((*path, "every"), dw.EVERY_WITHOUT_AFTER(id=rule.id), rule=rule.id)


# -- remedies and obligations -----------------------------------------------------------------
def quiet_remedy(rule: CompiledRule, facts: RequestFacts) -> dict[str, Any] | None:
    """The guardian consent that lifts the quiet hours, else a guardian waiver if waivable."""
    assert isinstance(rule, zoned.QuietHoursRule)  # INVARIANT: this kind's evaluator
    if rule.consent is not None:
        return {"type": "guardian_consent", "action": rule.consent}
    return {"type": "guardian_waiver", "code": rule.code} if rule.waivable else None


def warning_due(
    rule: CompiledRule, m: Moment, at: datetime, remaining: int | None
) -> dict[str, Any] | None:
    assert isinstance(rule, zoned.UseWarningRule)  # INVARIANT: this kind's evaluator
    due = rule.due_in(m)
    return None if due is None else {"id": rule.warning, "after_seconds": due}


ZONED_KINDS: tuple[dict[str, Any], ...] = (
    dict(
        name="quiet_hours",
        model=schema.QuietHoursRule,
        rule=zoned.QuietHoursRule,
        compile=_quiet_hours,
        reason="quiet_hours",
        remedy=quiet_remedy,
        obligation=None,
        # its zone's clock, and the guardian consent that lifts it where it names one
        reads=frozenset({"zone_time", "consents"}),
        reads_rule=lambda r: frozenset({"zone_time", "consents"} if r.consent else {"zone_time"}),
        check=check_quiet_hours,
        keys={
            **windows.KEYS,
            "months": {
                "items": {"pattern": "^[a-z]{3}(-[a-z]{3})?$"},
                "description": 'months the window is on: "sep", or a range "sep-may" '
                "(inclusive, may wrap the year); default: every month",
            },
            "zone": {
                "description": 'whose clock: "user" (default: subject.timezone, else the '
                'policy\'s zone) or an IANA zone such as "America/New_York"'
            },
            "consent": {"description": "a guardian consent (guardian.consents) that lifts it"},
        },
        keys_doc="those of `deny_window`, with `months`; `zone`, `consent`",
        denies_when="the local time of its zone (the subject's, or a fixed one) is inside a window",
    ),
    dict(
        name="use_warning",
        model=schema.UseWarningRule,
        rule=zoned.UseWarningRule,
        compile=_use_warning,
        reason="warning",
        obligation=warning_due,
        reads=frozenset({"warning_use"}),
        check=check_use_warning,
        withheld_by=frozenset({"usage"}),
        keys={
            "warning": {"description": "the obligation's `id` (default: the rule's id)"},
            "first_access": {"description": "due at the day's first access (no use today)"},
            "after": {"description": "due once today's use reaches this"},
            "every": {"description": "then again every this much use"},
        },
        denies_when="never: asks the app to show a warning",
    ),
)
