"""How a rule of each kind can deny less than the rule it replaces: the `loosened` part of each
entry of the rule-kind registry (`kinds.py`, `kinds_world.py`), read by `loosening.py`.

Each function takes the inherited rule and its replacement (of the same kind) and names every
difference that can let through what the inherited rule denies; an empty list: none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from youthmode.calendar import DAY_TYPES
from youthmode.policies.windows import EVERY, day_set
from youthmode.units import format_duration

DAY = 86400
Intervals = dict[tuple[int, str], list[tuple[int, int]]]
Loosened = Callable[[Any, Any], list[str]]


def nothing(old: Any, new: Any) -> list[str]:
    """A kind whose only keys are those every rule has (compared by `loosening.py`)."""
    return []


def _windows(rule: Any) -> Intervals:
    """The seconds a window rule names, per (weekday, day type), on a two-day axis: a window
    crossing midnight belongs to the day it starts on, as in the engine."""
    if rule.between is not None:
        specs = [(rule.between, rule.days or [EVERY], rule.except_days or [])]
    else:
        specs = [(w.between, w.days, w.except_days) for w in rule.windows]
    out: Intervals = {}
    for (start, end), days, excluded in specs:
        span = (start, end + DAY if end <= start else end)
        for key in day_set(days, excluded):
            out.setdefault(key, []).append(span)
    return out


def _within(inner: Intervals, outer: Intervals) -> bool:
    """Whether every second of ``inner`` is in ``outer``."""
    for key, spans in inner.items():
        merged = sorted(outer.get(key, []))
        for start, end in spans:
            reached = start
            for a, b in merged:
                if a <= reached < b:
                    reached = b
            if reached < end:
                return False
    return True


def deny_window(old: Any, new: Any) -> list[str]:
    if _within(_windows(old), _windows(new)):
        return []
    return ["denies at fewer times (`between` / `days` / `windows`)"]


def allow_window(old: Any, new: Any) -> list[str]:
    if _within(_windows(new), _windows(old)):
        return []
    return ["allows at more times (`between` / `days` / `windows`)"]


def daily_budget(old: Any, new: Any) -> list[str]:
    found = []
    larger = [
        day_type
        for day_type in DAY_TYPES
        if new.limit_by_day.get(day_type, new.limit) > old.limit_by_day.get(day_type, old.limit)
    ]
    if len(larger) == len(DAY_TYPES) and not old.limit_by_day and not new.limit_by_day:
        was, now = format_duration(old.limit), format_duration(new.limit)
        found.append(f"a larger `limit` ({now} instead of {was})")
    elif larger:
        found.append(f"a larger limit on a {' / '.join(larger)}")
    if new.per != old.per:
        found.append(f"counts `per = {new.per}` instead of `{old.per}`")
    return found


def larger(key: str) -> Loosened:
    def check(old: Any, new: Any) -> list[str]:
        return [f"a larger `{key}`"] if getattr(new, key) > getattr(old, key) else []

    return check


def spending_cap(old: Any, new: Any) -> list[str]:
    if new.period != old.period:
        return [f"a cap per {new.period} instead of per {old.period}"]
    return larger("max")(old, new)


def same(*keys: str) -> Loosened:
    def check(old: Any, new: Any) -> list[str]:
        return [f"another `{k}`" for k in keys if getattr(new, k) != getattr(old, k)]

    return check


def consent(old: Any, new: Any) -> list[str]:
    """`require_consent`: another consent, or consent asked below another age (a bound where
    there was none, another age or table, more unverified entries used)."""
    out = same("consent")(old, new)
    bound = ("below_age", "fallback_age", "unverified_ages")
    if new.below_age is not None and any(getattr(new, k) != getattr(old, k) for k in bound):
        out.append(
            "asks for consent below another age (`below_age`, `fallback_age`, `unverified_ages`)"
        )
    return out


def methods(old: Any, new: Any) -> list[str]:
    before = set(old.methods) if old.methods else None
    after = set(new.methods) if new.methods else None
    if after is not None and (before is None or after <= before):
        return []
    return [] if before is None and after is None else ["accepts more age methods (`methods`)"]


def minimum_age(old: Any, new: Any) -> list[str]:
    younger = ["a lower minimum `age`"] if new.age < old.age else []
    return younger + methods(old, new)


def assurance(old: Any, new: Any) -> list[str]:
    lower = ["a lower `at_least`"] if (new.at_least or 0) < (old.at_least or 0) else []
    return lower + methods(old, new)


def reminder(old: Any, new: Any) -> list[str]:
    return ["reminds later"] if _reminder_at(new) > _reminder_at(old) else []


def _reminder_at(rule: Any) -> int:
    at: int = rule.after if rule.after is not None else rule.from_
    return at


def lockout(old: Any, new: Any) -> list[str]:
    return ["warns later (a smaller `before`)"] if new.before < old.before else []
