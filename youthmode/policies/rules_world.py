"""The evaluators of the world packs' rule kinds (CONTRACT section 6): minimum ages, age
assurance, a guardian's consent to the app and link to the account, and weekly budgets.

Like those of `rules.py` (their base), they hold no mutable state. `minimum_age` and
`require_app_consent` give another reason code than their own when they deny for another
reason (an age not assured; a consent revoked): they set `variant_codes`, and `denied(m, r)`
is the rule as it denies, with that code, which the timeline reports in its place.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from youthmode.policies.rules import CompiledRule, DailyBudgetRule
from youthmode.units import format_duration

if TYPE_CHECKING:
    from youthmode.facts import Moment, RequestFacts

ASSURANCE_REQUIRED = "age_assurance_required"
CONSENT_REVOKED = "consent_revoked"


def method_of(r: RequestFacts) -> str:
    """How the age was established: the signal's method, else `operator` (subject.age or
    subject.birthdate, which the caller vouches for: CONTRACT section 6)."""
    return r.age_method or "operator"


def _assured(m: Moment, r: RequestFacts, methods: tuple[str, ...] | None) -> bool:
    """An age is known and, when ``methods`` are given, rests on one of them."""
    return m.age is not None and (methods is None or method_of(r) in methods)


def _assurance_text(m: Moment, r: RequestFacts, methods: tuple[str, ...] | None) -> str:
    if m.age is None:
        return "age unknown"
    if methods is not None and method_of(r) not in methods:
        return f"age {m.age} rests on `{method_of(r)}`, not one of {', '.join(methods)}"
    return f"age {m.age} ({method_of(r)})"


@dataclass(frozen=True, slots=True)
class MinimumAgeRule(CompiledRule):
    """Denies under `age` (reason `minimum_age`, never waivable); an unknown age, or one not
    resting on `methods`, denies with `age_assurance_required` instead."""

    timeless = True  # the age alone decides: the timeline waits for a birthday
    variant_codes = True

    age: int = 0
    methods: tuple[str, ...] | None = None
    # The methods the policy accepts, for the remedy when the rule names none (set at compile
    # time once policies declare them: `[age_assurance] methods`).
    policy_methods: tuple[str, ...] | None = None
    unassured: bool = False  # this copy denies for want of an assured age

    def denies(self, m: Moment, r: RequestFacts) -> bool:
        if not _assured(m, r, self.methods):
            return True
        assert m.age is not None  # INVARIANT: an assured age is known
        return m.age < self.age

    def denied(self, m: Moment, r: RequestFacts) -> CompiledRule:
        if _assured(m, r, self.methods):
            return self
        return dataclasses.replace(self, code=ASSURANCE_REQUIRED, unassured=True)

    def explain(self, m: Moment, r: RequestFacts) -> str:
        if not _assured(m, r, self.methods):
            return f"{_assurance_text(m, r, self.methods)}: minimum age {self.age} not shown"
        sign = "<" if self.denies(m, r) else ">="
        return f"{_assurance_text(m, r, self.methods)} {sign} minimum age {self.age}"


@dataclass(frozen=True, slots=True)
class AgeAssuranceRule(CompiledRule):
    """Denies while the age is unknown or, with `methods`, rests on another method."""

    timeless = True

    methods: tuple[str, ...] | None = None
    at_least: int | None = None  # the age the remedy asks to prove
    policy_methods: tuple[str, ...] | None = None  # as for MinimumAgeRule

    def denies(self, m: Moment, r: RequestFacts) -> bool:
        return not _assured(m, r, self.methods)

    def explain(self, m: Moment, r: RequestFacts) -> str:
        state = "not assured" if self.denies(m, r) else "assured"
        return f"{_assurance_text(m, r, self.methods)}: {state}"


@dataclass(frozen=True, slots=True)
class AppConsentRule(CompiledRule):
    """Denies unless `guardian.app_consent` is `approved`; `consent_revoked` when revoked."""

    timeless = True
    variant_codes = True

    def denies(self, m: Moment, r: RequestFacts) -> bool:
        return r.app_consent != "approved"

    def denied(self, m: Moment, r: RequestFacts) -> CompiledRule:
        if r.app_consent == "revoked":
            return dataclasses.replace(self, code=CONSENT_REVOKED)
        return self

    def explain(self, m: Moment, r: RequestFacts) -> str:
        return f"guardian's consent to the app: {r.app_consent or 'not known'}"


@dataclass(frozen=True, slots=True)
class GuardianLinkRule(CompiledRule):
    """Denies unless the account is linked to a guardian's account (`guardian.linked`)."""

    timeless = True

    def denies(self, m: Moment, r: RequestFacts) -> bool:
        return not r.linked

    def explain(self, m: Moment, r: RequestFacts) -> str:
        return "linked to a guardian account" if r.linked else "not linked to a guardian account"


@dataclass(frozen=True, slots=True)
class WeeklyBudgetRule(CompiledRule):
    """Denies once this ISO week's use (from the local Monday 00:00) has reached `limit`."""

    limit: int = 0

    def denies(self, m: Moment, r: RequestFacts) -> bool:
        return m.week_seconds >= self.limit

    def left(self, m: Moment) -> int:
        """Seconds of use left this week at ``m`` (0 or less: used up)."""
        return self.limit - m.week_seconds

    def explain(self, m: Moment, r: RequestFacts) -> str:
        sign = ">=" if self.denies(m, r) else "<"
        limit = format_duration(self.limit)
        return f"used this week {m.week_seconds}s {sign} limit {self.limit}s ({limit})"


# The rules whose use runs out while a metered action is in use: the timeline counts them down.
Budget = (DailyBudgetRule, WeeklyBudgetRule)


def with_policy_methods(
    rules: tuple[CompiledRule, ...], methods: tuple[str, ...] | None
) -> tuple[CompiledRule, ...]:
    """``rules`` with the methods their policy accepts (`[age_assurance] methods`) set on the
    age rules that name none, for their `verify_age` remedies (CONTRACT section 7: au-smma's
    remedy lists the pack's methods). For compile.py, once policies declare their methods."""
    if not methods:
        return rules
    return tuple(
        dataclasses.replace(r, policy_methods=methods)
        if isinstance(r, MinimumAgeRule | AgeAssuranceRule) and r.methods is None
        else r
        for r in rules
    )
