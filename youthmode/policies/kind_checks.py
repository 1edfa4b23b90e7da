"""The checks a rule kind makes of its own keys, beyond those every rule gets (`validate.py`).

A `Kind` (`kinds.py`) names its `check` (a rule of the checked file) and `check_inherited` (a
rule inherited through `extends`, as far as the file's own actions change it); both get a
`RuleCheck` and report each finding from `diagnostics.py` at a key path of the file. The window
kinds' checks are in `windows.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from youthmode.calendar import DAY_TYPES
from youthmode.errors import did_you_mean
from youthmode.policies import diagnostics as d
from youthmode.policies import diagnostics_world as dw
from youthmode.policies import schema
from youthmode.policies.positions import KeyPath


class Report(Protocol):
    """Reports a finding at a key path of the checked file."""

    def __call__(self, path: KeyPath, finding: d.Finding, rule: str | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class RuleCheck:
    """What a kind's checks see of one rule: the rule, where it is, the policy around it."""

    rule: Any  # the kind's schema model
    path: KeyPath
    origin: str  # the id of the policy that defines the rule
    currency: str
    currency_places: int
    selected: Mapping[str, schema.ActionSpec]  # the catalog actions the rule covers
    own_actions: frozenset[str]  # actions of the checked file's own catalog
    report: Report  # report(path, finding, rule=...) in the checked file
    file: str = ""  # the file that defines the rule (a consent-age table is read beside it)


def no_check(ctx: RuleCheck) -> None:
    """No checks beyond those every rule gets."""


# -- the kinds' own checks ------------------------------------------------------------------
def check_budget(ctx: RuleCheck) -> None:
    rule = ctx.rule
    for day in rule.limit_by_day:
        if day not in DAY_TYPES:
            hint = did_you_mean(day, DAY_TYPES) or "day types: " + ", ".join(DAY_TYPES)
            found = d.UNKNOWN_DAY_TYPE(day=day, hint=hint)
            ctx.report((*ctx.path, "limit_by_day", day), found, rule=rule.id)


def check_match(ctx: RuleCheck) -> None:
    rule = ctx.rule
    if not rule.match:
        ctx.report((*ctx.path, "match"), d.EMPTY_MATCH(id=rule.id), rule=rule.id)


def check_cap(ctx: RuleCheck) -> None:
    rule = ctx.rule
    exponent = rule.max.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > ctx.currency_places:
        found = d.TOO_MANY_DECIMAL_PLACES(
            amount=rule.max, places=ctx.currency_places, currency=ctx.currency
        )
        ctx.report((*ctx.path, "max"), found, rule=rule.id)
    for action in sorted(ctx.selected):
        if ctx.selected[action].spend is None:
            found = d.CAP_ON_NON_SPENDING_ACTION(id=rule.id, action=action)
            ctx.report((*ctx.path, "actions" if rule.actions else "tags"), found, rule=rule.id)


def check_inherited_cap(ctx: RuleCheck) -> None:
    """An inherited cap that selects a new action of this pack needs that action to spend."""
    rule = ctx.rule
    for action in sorted(ctx.selected):
        if action in ctx.own_actions and ctx.selected[action].spend is None:
            ref = f"{ctx.origin}/{rule.id}"
            found = d.INHERITED_CAP_ON_NON_SPENDING_ACTION(ref=ref, action=action)
            ctx.report(("catalog", "actions", action), found, rule=rule.id)


# -- the world packs' kinds ------------------------------------------------------------------
def check_reminder(ctx: RuleCheck) -> None:
    """Exactly one of `after` (exclusive) and `from` (inclusive)."""
    rule = ctx.rule
    if rule.after is None and rule.from_ is None:
        found = dw.REMINDER_NEEDS_AFTER_OR_FROM(id=rule.id)
        ctx.report(ctx.path, found, rule=rule.id)
    elif rule.after is not None and rule.from_ is not None:
        ctx.report((*ctx.path, "from"), dw.REMINDER_AFTER_AND_FROM(id=rule.id), rule=rule.id)


def check_minimum_age(ctx: RuleCheck) -> None:
    """A minimum age is never waivable: no guardian setting lifts it."""
    rule = ctx.rule
    if rule.waivable:
        ctx.report((*ctx.path, "waivable"), dw.WAIVABLE_MINIMUM_AGE(id=rule.id), rule=rule.id)
