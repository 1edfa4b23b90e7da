"""The values each dimension of the diff domain takes, from the rules that read it.

Which rules read which dimension is their kind's `reads` in the registry
(`youthmode.policies.kinds`). A dimension's candidate values are the thresholds those rules
name (limits, caps, consents, listed resource values) and the values just beside them; values
every rule treats alike are merged (`distinct`). `domain.py` takes the product.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from youthmode.policies.kinds import reads_of
from youthmode.policies.rules import (
    CompiledRule,
    ConsentRule,
    DailyBudgetRule,
    ResourceMatchRule,
    RestReminderRule,
    SpendingCapRule,
)
from youthmode.policies.rules_world import (
    AgeAssuranceRule,
    AppConsentRule,
    GuardianLinkRule,
    MinimumAgeRule,
    WeeklyBudgetRule,
)
from youthmode.policies.rules_zoned import QuietHoursRule, UseWarningRule

# The dimensions of `kinds.Dimension` the domain varies, for denying rules and for obligations,
# and the evaluator each is read through. `lookahead` (lockout warnings) is left out of the
# domain on purpose (see domain.py).
Evaluators = type[CompiledRule] | tuple[type[CompiledRule], ...]
FOR_DENIALS: dict[str, Evaluators] = {
    "time": CompiledRule,  # any rule: its answer at the start of each slice
    "today": DailyBudgetRule,
    "money": SpendingCapRule,
    "verified": CompiledRule,
    "consents": (ConsentRule, QuietHoursRule),  # a consent that lifts the quiet hours
    "min_age": CompiledRule,
    "resource": ResourceMatchRule,
    # the world kinds: per-app and weekly use, the app consent and the link are guard values;
    # the domain's ages include every minimum age (the age the rule names and those below it)
    # and every age of consent a `require_consent` rule's `below_age` takes, with the
    # jurisdictions of its table (`consent_jurisdictions`)
    "app_today": DailyBudgetRule,
    "week": WeeklyBudgetRule,
    "app_consent": AppConsentRule,
    "linked": GuardianLinkRule,
    "age": (MinimumAgeRule, AgeAssuranceRule, ConsentRule),
    # issue 15: quiet hours on another clock: a fixed zone's, or the subject's (compared for a
    # subject who gives no `subject.timezone`, on the policy's zone: `Domain.notes` says so);
    # the domain cuts the day at their edges in that zone (`zoned_clocks`)
    "zone_time": QuietHoursRule,
}
FOR_OBLIGATIONS: dict[str, Evaluators] = {
    "session": RestReminderRule,
    "lookahead": CompiledRule,
    "warning_use": UseWarningRule,  # today's use around each warning's `after` and `every`
}
# Facts the domain does not vary, by name: a rule reading one (`minimum_age` or
# `require_age_assurance` with `methods`: how the age was established) stops `diff` and
# `floor` with an error (`check_known`) instead of leaving its regions out.
REFUSED: frozenset[str] = frozenset({"age_method"})


def unhandled(reads: Iterable[str], evaluator: type[CompiledRule]) -> list[str]:
    """What the domain cannot vary of what a kind ``reads`` through ``evaluator``."""
    obligation = evaluator.obligation
    table = FOR_OBLIGATIONS if obligation else FOR_DENIALS
    return [
        f"`{d}` ({'obligation' if obligation else 'denying rule'}, {evaluator.__name__})"
        for d in sorted(reads)
        if d not in table or not issubclass(evaluator, table[d])
    ]


class UnvariedFact(ValueError):
    """A rule reads a fact `diff` and `floor` cannot vary: they refuse rather than skip it."""


def check_known(rules: Iterable[CompiledRule]) -> None:
    """Refuse rules of a kind the domain cannot vary, rather than leave their regions out."""
    for rule in rules:
        missing = unhandled(reads_of(rule), type(rule))
        if any(m.startswith("`age_method`") for m in missing):
            raise UnvariedFact(
                f"rule `{rule.ref}` names the age methods it accepts (`methods`), which diff "
                "and floor cannot vary; list the methods for the whole pack in "
                "[age_assurance] methods instead, or compare with the engine (youthmode test)"
            )
        if missing:
            raise UnvariedFact(
                f"rule kind `{rule.kind}` reads {', '.join(missing)}, which "
                "authoring/dimensions.py does not vary: teach it this kind"
            )


R = TypeVar("R", bound=CompiledRule)


def reading(rules: Iterable[CompiledRule], dimension: str, cls: type[R]) -> list[R]:
    """The rules whose kind reads ``dimension``; the domain knows its values through ``cls``."""
    out: list[R] = []
    for rule in rules:
        if dimension in reads_of(rule):
            if not isinstance(rule, cls):
                raise TypeError(
                    f"rule kind `{rule.kind}` reads `{dimension}`, which authoring/dimensions.py "
                    f"varies only for {cls.__name__} rules: teach it this kind"
                )
            out.append(rule)
    return out


# Resource fields with a meaning of their own; `resource_match` values for others are free text.
TYPED_FIELDS = ("category", "app", "min_age", "amount", "currency")
EXEMPT_APP = "guardian-exempt-app"


def distinct(candidates: Iterable[Any], signature: Callable[[Any], Any]) -> list[Any]:
    """The first candidate of every signature, in order."""
    seen: set[Any] = set()
    out = []
    for c in candidates:
        key = signature(c)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def todays(rules: list[CompiledRule], dimension: str = "today") -> list[int]:
    limits = {
        limit
        for r in reading(rules, dimension, DailyBudgetRule)
        for limit in (r.limit, *(r.limit_by_day or {}).values())
    }
    return sorted({0, *(x for limit in limits for x in (limit - 1, limit) if x >= 0)})


def weeks(rules: list[CompiledRule]) -> list[int]:
    limits = {r.limit for r in reading(rules, "week", WeeklyBudgetRule)}
    return sorted({0, *(x for limit in limits for x in (limit - 1, limit) if x >= 0)})


def app_consents(rules: list[CompiledRule]) -> list[str | None]:
    """Absent (as pending and denied), approved, revoked: what `require_app_consent` tells."""
    return (
        [None, "approved", "revoked"] if reading(rules, "app_consent", AppConsentRule) else [None]
    )


def links(rules: list[CompiledRule]) -> list[bool]:
    return [False, True] if reading(rules, "linked", GuardianLinkRule) else [False]


def minimum_ages(rules: Iterable[CompiledRule]) -> set[int]:
    """The ages `minimum_age` rules name, and every age of consent of a `require_consent`
    rule with `below_age`: the domain's ages are cut there too."""
    out: set[int] = set()
    for r in rules:
        if isinstance(r, MinimumAgeRule):
            out.add(r.age)
        elif isinstance(r, ConsentRule) and r.below is not None:
            out |= r.below.ages()
    return out


def consent_jurisdictions(
    rules: Iterable[CompiledRule], floor_keys: list[str | None]
) -> list[str | None]:
    """``floor_keys`` (none and each key of the policies' floors), then the jurisdictions of
    the consent-age tables the rules read, merged where every rule's age of consent agrees
    (a jurisdiction absent from every table answers as none: the fallback ages)."""
    limits = [r.below for r in rules if isinstance(r, ConsentRule) and r.below is not None]
    if not limits:
        return floor_keys
    listed = sorted({key for limit in limits for key in limit.entries})
    floors = set(floor_keys)

    def signature(code: str | None) -> tuple[Any, ...]:
        own = code if code in floors else "-"  # floors are kept apart: their packs differ
        return (own, *(limit.applied(code).age for limit in limits))

    return distinct([*floor_keys, *listed], signature)


def warning_todays(obligations: list[CompiledRule]) -> set[int]:
    """Today's use where a `use_warning` obligation changes: none yet (first access), and at,
    just before and just after its `after` and its first repeat (`every` later, the repeats
    recur alike)."""
    out: set[int] = set()
    for r in reading(obligations, "warning_use", UseWarningRule):
        out |= {0, 1}
        marks = [] if r.after is None else [r.after]
        if r.after is not None and r.every is not None:
            marks.append(r.after + r.every)
        out |= {x for mark in marks for x in (mark - 1, mark, mark + 1) if x >= 0}
    return out


def warning_codes(obligations: Iterable[CompiledRule], m: Any) -> list[tuple[str, str]]:
    """The `use_warning` obligations a decision at ``m`` carries, as (ref, text): due now, or
    announced for later today (`after_seconds` > 0); their exact seconds follow from the use,
    so the domain compares them at the uses where one becomes due (`warning_todays`)."""
    out = []
    for r in obligations:
        if isinstance(r, UseWarningRule):
            due = r.due_in(m)
            if due is not None:
                out.append((r.ref, f"warning {r.warning} {'due' if due == 0 else 'later'}"))
    return out


def zoned_clocks(rules: Iterable[CompiledRule], own: Any) -> list[tuple[Any, tuple[int, ...]]]:
    """The clocks `quiet_hours` rules read, each with its edges: a fixed zone, or the
    subject's, compared as ``own`` (the zone of the rule's policy: no `subject.timezone`)."""
    out = []
    for r in rules:
        if isinstance(r, QuietHoursRule):
            edges = tuple(e for e in r.local_edges if e < 86400)
            out.append((r.fixed_zone or own, edges))
    return out


def sessions(obligations: list[CompiledRule]) -> list[int]:
    after = {r.after for r in reading(obligations, "session", RestReminderRule)}
    return sorted({0, *(x for a in after for x in (a, a + 1))})


def waived(rule: CompiledRule, exemptions: Iterable[str]) -> bool:
    names = set(exemptions)
    return rule.code in names or rule.id in names or rule.ref in names


def waiver_sets(waivable: list[CompiledRule]) -> list[tuple[str, ...]]:
    """No waiver, each reason code or rule id alone, and all of them. Full names
    (`policy/rule`) are left out: they only rename what the id waives."""
    tokens = list(dict.fromkeys(t for r in waivable for t in (r.code, r.id)))
    sets: list[tuple[str, ...]] = [(), *((t,) for t in tokens)]
    if len(tokens) > 1:
        sets.append(tuple(tokens))
    return distinct(sets, lambda s: tuple(waived(r, s) for r in waivable))


def consent_sets(rules: list[CompiledRule], action: str) -> list[tuple[str, ...]]:
    """No consent, each consent a rule names alone (`require_consent`'s, or the requested
    action's; `quiet_hours`'s `consent`), and all of them, merged where the rules agree."""
    rules = [r for r in rules if isinstance(r, ConsentRule | QuietHoursRule)]
    names = list(dict.fromkeys(getattr(r, "consent", None) or action for r in rules))
    sets: list[tuple[str, ...]] = [(), *((n,) for n in names)]
    if len(names) > 1:
        sets.append(tuple(names))
    return distinct(
        sets, lambda s: tuple((getattr(r, "consent", None) or action) in s for r in rules)
    )


def apps(
    rules: list[CompiledRule], matches: list[ResourceMatchRule]
) -> list[tuple[str | None, bool]]:
    out: list[tuple[str | None, bool]] = [(None, False)]
    if any(r.category_exemptions and r.waivable for r in rules):
        out.append((EXEMPT_APP, True))
    listed = [v for r in matches for v in sorted((r.match or {}).get("app", ()))]
    out.extend((v, False) for v in listed)
    return distinct(
        out,
        lambda c: (
            c[1],
            *(c[0] is not None and c[0] in (r.match or {}).get("app", ()) for r in matches),
        ),
    )


def min_ages(
    rules: list[CompiledRule], matches: list[ResourceMatchRule], age: int | None
) -> list[int | None]:
    listed = [
        int(v)
        for r in matches
        for v in sorted((r.match or {}).get("min_age", ()))
        if v.isdigit() and int(v) <= 150
    ]
    content = bool(reading(rules, "min_age", CompiledRule))
    if not content and not listed:
        return [None]
    near = [0] if age is None else [age, age + 1] if age < 150 else [age]
    candidates: list[int | None] = [None, *(near if content else []), *listed]

    def signature(mn: int | None) -> tuple[bool, ...]:
        restricted = mn is not None and (age is None or mn > age)
        return (
            mn is None,
            restricted,
            *(mn is not None and str(mn) in (r.match or {}).get("min_age", ()) for r in matches),
        )

    return distinct(candidates, signature)


def extras(matches: list[ResourceMatchRule]) -> list[tuple[tuple[str, str], ...]]:
    """Values for the other resource fields `resource_match` rules read (e.g. `recipient`)."""
    keys = sorted({k for r in matches for k in (r.match or {}) if k not in TYPED_FIELDS})
    if not keys:
        return [()]
    per_key: list[list[tuple[str, str] | None]] = []
    for key in keys:
        values = sorted({v for r in matches for v in (r.match or {}).get(key, ())})
        if key == "recipient":
            values = [v for v in values if v in ("contact", "stranger")]
        per_key.append([None, *((key, v) for v in values)])
    combos = [tuple(x for x in combo if x is not None) for combo in itertools.product(*per_key)]

    def signature(combo: tuple[tuple[str, str], ...]) -> tuple[bool, ...]:
        fields = dict(combo)
        return tuple(
            all(fields.get(k) in vs for k, vs in (r.match or {}).items() if k not in TYPED_FIELDS)
            for r in matches
        )

    return distinct(combos, signature)


def categories(
    policies: Sequence[Any], rules: list[CompiledRule], matches: list[ResourceMatchRule]
) -> list[str | None]:
    """No category, each category a policy exempts, and those `resource_match` rules list."""
    listed = [v for r in matches for v in sorted((r.match or {}).get("category", ()))]
    if not listed and not any(r.category_exemptions for r in rules):
        return [None]
    exempt = sorted({c for p in policies for c in p.exempt_categories})
    candidates: list[str | None] = [None, *exempt, *listed]

    def signature(cat: str | None) -> tuple[bool, ...]:
        return (
            *(cat in p.exempt_categories for p in policies),
            *(cat is not None and cat in (r.match or {}).get("category", ()) for r in matches),
        )

    return distinct(candidates, signature)
