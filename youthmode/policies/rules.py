"""One small evaluator per rule kind: given the facts of a moment, does this rule deny?

Rules are compiled once at load and shared by every thread; they hold no mutable state. Each
answers three questions: `denies(moment, request)`, `explain(...)` (why, in one line), and
`edges` (the local times of day at which its answer can change), which lets the timeline find
the next change without scanning minute by minute.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from youthmode.policies.consent_limit import AppliedAge, ConsentAgeLimit
from youthmode.units import format_duration, format_time_of_day

if TYPE_CHECKING:
    from youthmode.facts import Moment, RequestFacts

DayKey = tuple[int, str]  # (weekday 0=Mon, day type)


@dataclass(frozen=True, slots=True)
class Window:
    """A daily window [start, end) in local seconds of day; it crosses midnight when end <= start.

    A window that crosses midnight belongs to the day it starts on: its early-morning part is
    tested against the previous day's weekday and type.
    """

    start: int
    end: int
    days: frozenset[DayKey]

    def contains(self, m: Moment) -> bool:
        if self.start < self.end:
            return self.start <= m.sod < self.end and m.day_key in self.days
        if m.sod >= self.start:
            return m.day_key in self.days
        return m.sod < self.end and m.previous_day() in self.days

    def describe(self) -> str:
        return f"{format_time_of_day(self.start)}–{format_time_of_day(self.end)}"


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """What every rule has: identity, scope, reason code, messages."""

    id: str
    ref: str  # "policy-id/rule-id", as decisions name it
    kind: str
    code: str
    waivable: bool
    category_exemptions: bool
    message: str
    message_en: str
    bands: frozenset[str]
    actions: frozenset[str]

    obligation = False
    # INVARIANT: a `timeless` rule's verdict depends only on the request and the subject's
    # age, never on the clock, the day or usage; so while the age stays the same, its denial
    # stands (the timeline uses this to skip ahead).
    timeless = False
    # A rule whose reason code depends on why it denies (`rules_world.py`) says so here; the
    # timeline then reports `denied(m, r)`, the rule as it denies, instead of the rule.
    variant_codes = False
    # A rule that reads the clock of another zone than the policy's (`rules_zoned.py`) names
    # its own next change (`next_change`), which the timeline adds to its candidates.
    own_clock = False
    edges: tuple[int, ...] = ()
    # Messages in the policy's extra languages, and when the rule binds (its own dates and
    # status met with its pack's: policies/in_force.py). Most rules bind always: no dates.
    messages: Mapping[str, str] = field(default_factory=dict, compare=False)
    in_force_from: date | None = None
    in_force_until: date | None = None
    status: str = "in_force"

    def denies(self, m: Moment, r: RequestFacts) -> bool:
        raise NotImplementedError

    @property
    def dated(self) -> bool:
        """The rule binds only between dates: whether it does depends on the local day."""
        return self.in_force_from is not None or self.in_force_until is not None

    def in_force_on(self, day: date) -> bool:
        """Whether the rule is enforced on the local date ``day`` (its status aside)."""
        return (self.in_force_from is None or self.in_force_from <= day) and (
            self.in_force_until is None or day < self.in_force_until
        )

    def next_change(self, m: Moment, r: RequestFacts) -> int:
        """For an `own_clock` rule: the first instant after ``m`` its verdict may change."""
        raise NotImplementedError

    def denied(self, m: Moment, r: RequestFacts) -> CompiledRule:
        """This rule as it denies at ``m``: itself, or a copy with the code that says why."""
        return self

    def explain(self, m: Moment, r: RequestFacts) -> str:
        return "denies" if self.denies(m, r) else "passes"


@dataclass(frozen=True, slots=True)
class DenyWindowRule(CompiledRule):
    windows: tuple[Window, ...] = ()

    def denies(self, m: Moment, r: RequestFacts) -> bool:
        for window in self.windows:  # a loop, not any(): this runs for every moment
            if window.contains(m):
                return True
        return False

    def explain(self, m: Moment, r: RequestFacts) -> str:
        spans = ", ".join(w.describe() for w in self.windows)
        inside = "inside" if self.denies(m, r) else "outside"
        return f"local time {m.clock()} ({m.day_type}) is {inside} the denied window {spans}"


@dataclass(frozen=True, slots=True)
class AllowWindowRule(CompiledRule):
    windows: tuple[Window, ...] = ()

    def denies(self, m: Moment, r: RequestFacts) -> bool:
        for window in self.windows:
            if window.contains(m):
                return False
        return True

    def explain(self, m: Moment, r: RequestFacts) -> str:
        spans = ", ".join(w.describe() for w in self.windows)
        inside = "outside" if self.denies(m, r) else "inside"
        return (
            f"local time {m.clock()} on a {m.weekday_name()} ({m.day_type}) is {inside} "
            f"the allowed windows {spans}"
        )


@dataclass(frozen=True, slots=True)
class DailyBudgetRule(CompiledRule):
    limit: int = 0
    limit_by_day: Mapping[str, int] | None = None
    grant: int = 0  # extra seconds a guardian granted for one day (`grant_day`)
    grant_day: date | None = None
    # "subject": all metered use today (`usage.today_seconds`); "app": today's use of the app
    # named by `resource.app` (`usage.app_today_seconds`).
    per: str = "subject"

    def limit_on(self, day_type: str) -> int:
        by_day = self.limit_by_day
        if by_day:
            if day_type in by_day:
                return by_day[day_type]
            if day_type == "makeup_workday" and "workday" in by_day:
                return by_day["workday"]  # a make-up working day is a working day
        return self.limit

    def limit_at(self, m: Moment) -> int:
        extra = self.grant if self.grant and m.date == self.grant_day else 0
        return self.limit_on(m.day_type) + extra

    def used(self, m: Moment) -> int:
        return m.today_seconds if self.per == "subject" else m.app_today_seconds

    def denies(self, m: Moment, r: RequestFacts) -> bool:
        used = m.today_seconds if self.per == "subject" else m.app_today_seconds  # hot: inline
        return used >= self.limit_at(m)

    def left(self, m: Moment) -> int:
        """Seconds of use left at ``m`` (0 or less: used up)."""
        return self.limit_at(m) - self.used(m)

    def explain(self, m: Moment, r: RequestFacts) -> str:
        limit = self.limit_at(m)
        used = self.used(m)
        sign = ">=" if used >= limit else "<"
        what = "used today" if self.per == "subject" else "this app used today"
        return f"{what} {used}s {sign} limit {limit}s ({format_duration(limit)})"


@dataclass(frozen=True, slots=True)
class SpendingCapRule(CompiledRule):
    period: str = "transaction"
    max: Decimal = Decimal(0)

    @property
    def timeless(self) -> bool:  # type: ignore[override]  # per instance: by period
        return self.period == "transaction"

    def total(self, m: Moment, r: RequestFacts) -> Decimal:
        amount = r.amount if r.amount is not None else Decimal(0)
        if self.period == "day":
            return m.day_spent + amount
        if self.period == "month":
            return m.month_spent + amount
        return amount

    def denies(self, m: Moment, r: RequestFacts) -> bool:
        return self.total(m, r) > self.max

    def explain(self, m: Moment, r: RequestFacts) -> str:
        total = self.total(m, r)
        what = {
            "transaction": "amount",
            "day": "today's spend + amount",
            "month": "this month's spend + amount",
        }[self.period]
        sign = ">" if total > self.max else "<="
        return f"{what} {total} {sign} cap {self.max}"


@dataclass(frozen=True, slots=True)
class ForbidRule(CompiledRule):
    timeless = True

    def denies(self, m: Moment, r: RequestFacts) -> bool:
        return True

    def explain(self, m: Moment, r: RequestFacts) -> str:
        return f"`{r.action}` is closed to band `{m.band}`"


@dataclass(frozen=True, slots=True)
class ConsentRule(CompiledRule):
    timeless = True

    consent: str | None = None
    instead: str | None = None  # the action to use instead while consent is absent
    # Consent needed only below this age (`below_age`: fixed, or per jurisdiction from the
    # consent-age table); and, on the copy `denied` returns, the age the decision used.
    below: ConsentAgeLimit | None = None
    applied: AppliedAge | None = None

    @property
    def variant_codes(self) -> bool:  # type: ignore[override]  # per instance: by `below`
        # Not another code, but a reason that names the age used: the timeline asks `denied`.
        return self.below is not None

    def needed(self, r: RequestFacts) -> str:
        return self.consent or r.action

    def of_age(self, m: Moment, r: RequestFacts) -> bool:
        """At or above the age from which this rule no longer asks for consent (an unknown
        age never is)."""
        below = self.below
        return (
            below is not None and m.age is not None and m.age >= below.applied(r.jurisdiction).age
        )

    def denies(self, m: Moment, r: RequestFacts) -> bool:
        return self.needed(r) not in r.consents and not self.of_age(m, r)

    def denied(self, m: Moment, r: RequestFacts) -> CompiledRule:
        if self.below is None:
            return self
        return dataclasses.replace(self, applied=self.below.applied(r.jurisdiction))

    def explain(self, m: Moment, r: RequestFacts) -> str:
        has = "has" if self.needed(r) in r.consents else "has no"
        text = f"subject {has} guardian consent `{self.needed(r)}`"
        if self.below is None:
            return text
        used = self.below.applied(r.jurisdiction).describe()
        if m.age is None:
            return f"age unknown, taken as under the consent age {used}: {text}"
        side = "at or above" if self.of_age(m, r) else "under"
        return f"age {m.age} is {side} the consent age {used}: {text}"


@dataclass(frozen=True, slots=True)
class VerifiedRule(CompiledRule):
    timeless = True

    def denies(self, m: Moment, r: RequestFacts) -> bool:
        return not r.verified

    def explain(self, m: Moment, r: RequestFacts) -> str:
        return "identity verified" if r.verified else "identity not verified"


@dataclass(frozen=True, slots=True)
class ContentAgeRule(CompiledRule):
    timeless = True

    def denies(self, m: Moment, r: RequestFacts) -> bool:
        if r.min_age is None:
            return False
        return m.age is None or r.min_age > m.age

    def explain(self, m: Moment, r: RequestFacts) -> str:
        if r.min_age is None:
            return "resource has no `min_age`"
        return f"content minimum age {r.min_age}, subject age {m.age}"


@dataclass(frozen=True, slots=True)
class ResourceMatchRule(CompiledRule):
    timeless = True

    match: Mapping[str, frozenset[str]] | None = None

    def denies(self, m: Moment, r: RequestFacts) -> bool:
        conditions = self.match or {}
        for key, values in conditions.items():
            value = r.resource.get(key)
            if value is None or str(value) not in values:
                return False
        return bool(conditions)

    def explain(self, m: Moment, r: RequestFacts) -> str:
        shown = {key: r.resource.get(key) for key in (self.match or {})}
        return f"resource {shown} {'matches' if self.denies(m, r) else 'does not match'}"


@dataclass(frozen=True, slots=True)
class RestReminderRule(CompiledRule):
    after: int = 0
    obligation = True

    def denies(self, m: Moment, r: RequestFacts) -> bool:
        return False

    def due(self, m: Moment) -> bool:
        return m.session_seconds > self.after

    def explain(self, m: Moment, r: RequestFacts) -> str:
        sign = ">" if self.due(m) else "<="
        state = "due" if self.due(m) else "not due"
        return f"session {m.session_seconds}s {sign} {self.after}s: reminder {state}"


@dataclass(frozen=True, slots=True)
class LockoutWarningRule(CompiledRule):
    before: int = 0
    obligation = True

    def denies(self, m: Moment, r: RequestFacts) -> bool:
        return False

    def explain(self, m: Moment, r: RequestFacts) -> str:
        return f"warns {format_duration(self.before)} before the end of allowed use"


def describe(rule: CompiledRule) -> dict[str, Any]:
    """A plain description of a compiled rule, for listings and explanations."""
    return {"rule": rule.ref, "kind": rule.kind, "code": rule.code, "waivable": rule.waivable}
