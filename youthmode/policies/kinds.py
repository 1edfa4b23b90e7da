"""The rule-kind registry: every rule kind, registered once with all of its parts.

A `Kind` names its TOML model (`schema.py`), its evaluator (`rules.py`), its compile step, its
default reason code, its checks, its remedy and obligation behaviour, what facts it reads (for
`youthmode diff` and `floor`, `authoring/dimensions.py`), which API scopes hide its trace detail,
and its row of the docs table. Everything that used to switch on the kind string reads `KINDS`:
the loader (kind names, models), `validate.py` (kind checks), `compile.py`, `decision.py`
(remedies, obligations, redaction), `authoring/dimensions.py` and `authoring/jsonschema.py`.

A new kind = its model + its evaluator + one entry here (+ its docs section);
`tests/test_kinds.py` fails when an entry lacks a part or a kind exists outside the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from youthmode.calendar import DAY_TYPES
from youthmode.policies import consent_limit, kinds_world, kinds_zoned, schema, windows
from youthmode.policies import kind_checks as checks
from youthmode.policies import loosening_kinds as lk
from youthmode.policies import rules as compiled
from youthmode.policies.kind_checks import RuleCheck

if TYPE_CHECKING:
    from youthmode.facts import Moment, RequestFacts

# The facts of a request a rule's verdict can read: `authoring/dimensions.py` gives each
# dimension its candidate values. A kind reading a fact not listed here needs it taught first.
Dimension = Literal[
    "time",  # local time and day: window edges
    "today",  # usage.today_seconds: daily limits (per day type)
    "session",  # usage.session_seconds: reminders
    "money",  # resource.amount with the day's and month's spend: caps
    "verified",  # subject.verified
    "consents",  # guardian consents
    "min_age",  # resource.min_age against the age
    "resource",  # resource fields a match lists
    "age",  # the exact age within a band: the domain takes each band's first age only (unhandled)
    "lookahead",  # the time left until use stops: not in the diff domain (see domain.py)
    # CONTRACT section 6 (the world packs' kinds, kinds_world.py):
    "app_today",  # usage.app_today_seconds: per-app daily limits
    "week",  # usage.week_seconds: weekly limits
    "app_consent",  # guardian.app_consent
    "linked",  # guardian.linked
    "age_method",  # how the age was established (RequestFacts.age_method): not in the domain
    # issue 15 (kinds_zoned.py):
    "zone_time",  # local time in the subject's or a fixed zone: not in the domain
    "warning_use",  # today's use as a `use_warning` obligation reads it: not in the domain
]
DIMENSIONS: frozenset[str] = frozenset(Dimension.__args__)  # type: ignore[attr-defined]
Scope = Literal["usage", "guardian"]


@dataclass(frozen=True, slots=True)
class PerValue:
    """A default reason code chosen by the value of one of the rule's keys."""

    key: str
    codes: Mapping[str, str]


Compile = Callable[[Any, dict[str, Any]], compiled.CompiledRule]
Remedy = Callable[[compiled.CompiledRule, "RequestFacts"], "dict[str, Any] | None"]
Obligation = Callable[
    [compiled.CompiledRule, "Moment", datetime, "int | None"], "dict[str, Any] | None"
]


@dataclass(frozen=True, slots=True)
class Kind:
    """One rule kind and everything the engine and the tools need to know about it."""

    name: str
    model: type[schema.RuleBase]  # the TOML table
    rule: type[compiled.CompiledRule]  # the evaluator
    compile: Compile  # schema rule + the common fields -> evaluator
    reason: str | PerValue | None  # default reason code; None: `reason` is required
    remedy: Remedy  # what a denial offers (`Decision.remedies`); returns None for nothing
    obligation: Obligation | None  # obligations only: when due, the obligation's extra fields
    reads: frozenset[Dimension]  # the analysis hook: what the verdict depends on
    denies_when: str  # the docs table: "denies when"
    check: Callable[[RuleCheck], None] = checks.no_check  # its own rules in a file
    check_inherited: Callable[[RuleCheck], None] = checks.no_check  # rules inherited via `extends`
    withheld_by: frozenset[Scope] = frozenset()  # scopes whose absence hides the trace detail
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # JSON Schema annotations
    keys_doc: str | None = None  # the docs table's "own keys" text, when not the key list
    # What one rule reads, when its keys decide it (a subset of `reads`; default: `reads`).
    reads_rule: Callable[[Any], frozenset[Dimension]] | None = None
    # How a replacement of an inherited rule of this kind denies less (`loosening.py`), by the
    # kind's own keys; the keys every rule has are compared for every kind.
    loosened: lk.Loosened = lk.nothing

    def default_reason(self, rule: Any) -> str | None:
        if isinstance(self.reason, PerValue):
            return self.reason.codes[getattr(rule, self.reason.key)]
        return self.reason

    @property
    def own_keys(self) -> list[str]:
        """The keys of this kind's table beyond those every rule has."""
        common = set(schema.RuleBase.model_fields) | {"kind"}
        return [
            f.alias or name for name, f in self.model.model_fields.items() if name not in common
        ]


# -- remedies and obligations ----------------------------------------------------------------
def waiver(rule: compiled.CompiledRule, facts: RequestFacts) -> dict[str, Any] | None:
    """The default: a waivable rule can be waived by a guardian."""
    return {"type": "guardian_waiver", "code": rule.code} if rule.waivable else None


def _consent(rule: compiled.CompiledRule, facts: RequestFacts) -> dict[str, Any] | None:
    consent = getattr(rule, "consent", None) or facts.action
    return {"type": "guardian_consent", "action": consent}


def _verify(rule: compiled.CompiledRule, facts: RequestFacts) -> dict[str, Any] | None:
    return {"type": "verify_identity"}


def _rest_due(
    rule: compiled.CompiledRule, m: Moment, at: datetime, remaining: int | None
) -> dict[str, Any] | None:
    assert isinstance(rule, compiled.RestReminderRule)  # INVARIANT: this kind's evaluator
    return {} if rule.due(m) else None


def _lockout_due(
    rule: compiled.CompiledRule, m: Moment, at: datetime, remaining: int | None
) -> dict[str, Any] | None:
    assert isinstance(rule, compiled.LockoutWarningRule)  # INVARIANT: this kind's evaluator
    if remaining is not None and remaining <= rule.before:
        return {"at": at + timedelta(seconds=remaining)}
    return None


# -- compile steps ---------------------------------------------------------------------------
def _plain(cls: type[compiled.CompiledRule]) -> Compile:
    """The compile step of a kind with no keys of its own."""
    return lambda rule, common: cls(**common)


def _budget(rule: Any, common: dict[str, Any]) -> compiled.CompiledRule:
    by_day = dict(rule.limit_by_day)
    return compiled.DailyBudgetRule(**common, limit=rule.limit, limit_by_day=by_day, per=rule.per)


def _cap(rule: Any, common: dict[str, Any]) -> compiled.CompiledRule:
    return compiled.SpendingCapRule(**common, period=rule.period, max=rule.max)


def _consent_rule(rule: Any, common: dict[str, Any]) -> compiled.CompiledRule:
    return compiled.ConsentRule(**common, consent=rule.consent, instead=rule.instead)


def _match(rule: Any, common: dict[str, Any]) -> compiled.CompiledRule:
    match = {k: frozenset([v] if isinstance(v, str) else v) for k, v in rule.match.items()}
    return compiled.ResourceMatchRule(**common, match=match)


def _stranger(rule: Any, common: dict[str, Any]) -> compiled.CompiledRule:
    return compiled.ResourceMatchRule(**common, match={"recipient": frozenset({"stranger"})})


def _reminder(rule: Any, common: dict[str, Any]) -> compiled.CompiledRule:
    # `from` is inclusive: due from N seconds on is due after N - 1 (sessions are whole seconds)
    after = rule.after if rule.after is not None else rule.from_ - 1
    return compiled.RestReminderRule(**common, after=after)


def _lockout(rule: Any, common: dict[str, Any]) -> compiled.CompiledRule:
    return compiled.LockoutWarningRule(**common, before=rule.before)


# -- the registry ----------------------------------------------------------------------------
KINDS: tuple[Kind, ...] = (
    Kind(
        name="deny_window",
        loosened=lk.deny_window,
        model=schema.DenyWindowRule,
        rule=compiled.DenyWindowRule,
        compile=windows.compile_windows,
        reason=None,
        remedy=waiver,
        obligation=None,
        reads=frozenset({"time"}),
        check=windows.check_windows,
        keys=windows.KEYS,
        denies_when="the local time is inside a window",
        keys_doc="`between`, `days`, `except_days` or `windows`",
    ),
    Kind(
        name="allow_window",
        loosened=lk.allow_window,
        model=schema.AllowWindowRule,
        rule=compiled.AllowWindowRule,
        compile=windows.compile_windows,
        reason="outside_allowed_window",
        remedy=waiver,
        obligation=None,
        reads=frozenset({"time"}),
        check=windows.check_windows,
        keys=windows.KEYS,
        denies_when="the local time is outside every window",
        keys_doc="same as `deny_window`",
    ),
    Kind(
        name="daily_budget",
        loosened=lk.daily_budget,
        model=schema.DailyBudgetRule,
        rule=compiled.DailyBudgetRule,
        compile=_budget,
        reason=PerValue("per", {"subject": "daily_limit", "app": "app_daily_limit"}),
        remedy=waiver,
        obligation=None,
        reads=frozenset({"today", "app_today"}),  # with its limits by day type
        reads_rule=lambda r: frozenset({"app_today" if r.per == "app" else "today"}),
        check=checks.check_budget,
        withheld_by=frozenset({"usage", "guardian"}),  # usage figures; guardian grants
        keys={
            "limit": {"description": "the daily limit: allowed while less than this is used today"},
            "limit_by_day": {
                "propertyNames": {"enum": list(DAY_TYPES)},
                "description": "another limit on days of a type: workday, weekend, holiday, "
                "makeup_workday",
            },
            "per": {
                "description": "subject (default): all metered use today (usage.today_seconds); "
                "app: today's use of the app in resource.app (usage.app_today_seconds)"
            },
        },
        denies_when="today's use has reached the limit",
    ),
    Kind(
        name="spending_cap",
        loosened=lk.spending_cap,
        model=schema.SpendingCapRule,
        rule=compiled.SpendingCapRule,
        compile=_cap,
        reason=PerValue(
            "period",
            {
                "transaction": "per_transaction_cap",
                "day": "daily_spend_cap",
                "month": "monthly_cap",
            },
        ),
        remedy=waiver,
        obligation=None,
        reads=frozenset({"money"}),
        check=checks.check_cap,
        check_inherited=checks.check_inherited_cap,
        withheld_by=frozenset({"usage"}),
        keys={
            "period": {
                "description": "transaction: the amount alone; day or month: spent + amount"
            },
            "max": {"description": "the cap; denies when the total is more than this"},
        },
        denies_when="the amount (plus the period's spend) is over the cap",
    ),
    Kind(
        name="forbid",
        model=schema.ForbidRule,
        rule=compiled.ForbidRule,
        compile=_plain(compiled.ForbidRule),
        reason="feature_forbidden",
        remedy=waiver,
        obligation=None,
        reads=frozenset(),
        denies_when="always",
    ),
    Kind(
        name="require_consent",
        loosened=lk.consent,
        model=schema.ConsentRule,
        rule=compiled.ConsentRule,
        compile=_consent_rule,
        reason="guardian_consent_required",
        remedy=_consent,
        obligation=None,
        reads=frozenset({"consents", "age"}),
        # with `below_age`: the age too, against the age of consent (consent_limit.py)
        reads_rule=lambda r: frozenset({"consents", "age"} if r.below else {"consents"}),
        check=consent_limit.check,
        withheld_by=frozenset({"guardian"}),  # stored consents
        keys={
            "consent": {"description": "the consent needed (default: the requested action's name)"},
            **consent_limit.KEYS,
            "instead": {
                "description": "an action the app may offer instead while consent is absent "
                '(remedy {"type": "use_instead"}), e.g. feed.chronological'
            },
        },
        denies_when="the guardian has not consented (with `below_age`: to a younger subject)",
    ),
    Kind(
        name="require_verified",
        model=schema.VerifiedRule,
        rule=compiled.VerifiedRule,
        compile=_plain(compiled.VerifiedRule),
        reason="unverified",
        remedy=_verify,
        obligation=None,
        reads=frozenset({"verified"}),
        denies_when="the subject's identity is not verified",
    ),
    Kind(
        name="content_age",
        model=schema.ContentAgeRule,
        rule=compiled.ContentAgeRule,
        compile=_plain(compiled.ContentAgeRule),
        reason="age_restricted",
        remedy=waiver,
        obligation=None,
        reads=frozenset({"min_age"}),
        denies_when="the content's minimum age is above the subject's age",
    ),
    Kind(
        name="stranger_contact",
        model=schema.StrangerContactRule,
        rule=compiled.ResourceMatchRule,
        compile=_stranger,
        reason="stranger_contact",
        remedy=waiver,
        obligation=None,
        reads=frozenset({"resource"}),
        denies_when="the recipient is a stranger",
    ),
    Kind(
        name="resource_match",
        loosened=lk.same("match"),
        model=schema.ResourceMatchRule,
        rule=compiled.ResourceMatchRule,
        compile=_match,
        reason=None,
        remedy=waiver,
        obligation=None,
        reads=frozenset({"resource"}),
        check=checks.check_match,
        keys={
            "match": {
                "description": "resource fields and the values that deny, "
                'e.g. { item_type = ["lootbox"] }',
            },
        },
        denies_when="the request's resource matches",
    ),
    Kind(
        name="rest_reminder",
        loosened=lk.reminder,
        model=schema.RestReminderRule,
        rule=compiled.RestReminderRule,
        compile=_reminder,
        reason="rest_reminder",
        remedy=waiver,
        obligation=_rest_due,
        reads=frozenset({"session"}),
        check=checks.check_reminder,
        withheld_by=frozenset({"usage"}),
        keys={
            "after": {
                "description": "session length after which the reminder is due (more than this)"
            },
            "from": {
                "description": "session length from which the reminder is due (this or more); "
                "exactly one of `after` and `from`"
            },
        },
        denies_when="never: asks the app to remind",
    ),
    Kind(
        name="lockout_warning",
        loosened=lk.lockout,
        model=schema.LockoutWarningRule,
        rule=compiled.LockoutWarningRule,
        compile=_lockout,
        reason="lockout_warning",
        remedy=waiver,
        obligation=_lockout_due,
        reads=frozenset({"lookahead"}),
        keys={"before": {"description": "how long before use stops the warning starts"}},
        denies_when="never: asks the app to warn",
    ),
    # the world packs' kinds (CONTRACT section 6), in kinds_world.py
    *(Kind(**{"remedy": waiver, **spec}) for spec in kinds_world.WORLD_KINDS),
    # issue 15's kinds: quiet hours on the subject's clock, use warnings (kinds_zoned.py)
    *(Kind(**{"remedy": waiver, **spec}) for spec in kinds_zoned.ZONED_KINDS),
)

BY_NAME: dict[str, Kind] = {k.name: k for k in KINDS}
NAMES: tuple[str, ...] = tuple(BY_NAME)
MODELS: dict[str, type[schema.RuleBase]] = {k.name: k.model for k in KINDS}


def kind_of(rule: compiled.CompiledRule) -> Kind:
    """The registry entry of a compiled rule."""
    return BY_NAME[rule.kind]


def reads_of(rule: compiled.CompiledRule) -> frozenset[Dimension]:
    """The facts one compiled rule reads: its kind's `reads`, narrowed by its keys."""
    kind = kind_of(rule)
    return kind.reads if kind.reads_rule is None else kind.reads_rule(rule)


def remedies_of(rule: compiled.CompiledRule, facts: RequestFacts) -> list[dict[str, Any]]:
    """What a denying rule offers: its kind's remedy, then an action to use instead (a
    refused consent falls back to another action rather than a lock-out)."""
    out = []
    remedy = kind_of(rule).remedy(rule, facts)
    if remedy is not None:
        out.append(remedy)
    instead = getattr(rule, "instead", None)
    if instead is not None:
        out.append({"type": "use_instead", "action": instead})
    return out


def withheld_kinds(scope: Scope) -> frozenset[str]:
    """The kinds whose trace detail a key without ``scope`` may not see."""
    return frozenset(k.name for k in KINDS if scope in k.withheld_by)


# -- the docs table (docs/policy-language.md, "Rule kinds") ----------------------------------
def _reason_cell(kind: Kind) -> str:
    if kind.reason is None:
        return "none: `reason` required"
    if isinstance(kind.reason, PerValue):
        codes = [f"`{c}`" for c in kind.reason.codes.values()]
        return ", ".join(codes[:-1]) + " or " + codes[-1]
    return f"`{kind.reason}`"


def docs_table() -> str:
    """The table of rule kinds of docs/policy-language.md, as the registry has them."""
    lines = [
        "| kind | denies when | default reason code | own keys |",
        "|---|---|---|---|",
    ]
    for kind in KINDS:
        keys = kind.keys_doc or (", ".join(f"`{k}`" for k in kind.own_keys) or "none")
        link = f"[`{kind.name}`](#{kind.name})"
        lines.append(f"| {link} | {kind.denies_when} | {_reason_cell(kind)} | {keys} |")
    return "\n".join(lines) + "\n"
