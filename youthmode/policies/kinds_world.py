"""The registry entries of the world packs' rule kinds (CONTRACT section 6), appended to
`kinds.KINDS`: models in `schema.py`, evaluators in `rules_world.py`, checks in
`kind_checks.py`. Each entry is the keyword arguments of its `kinds.Kind` (this module cannot
import `kinds`, which imports it); `remedy` defaults to the guardian waiver (`kinds.waiver`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from youthmode.policies import kind_checks as checks
from youthmode.policies import loosening_kinds as lk
from youthmode.policies import rules_world as world
from youthmode.policies import schema
from youthmode.policies.rules import CompiledRule

if TYPE_CHECKING:
    from youthmode.facts import RequestFacts

METHODS_KEY = {
    "description": "the age-signal methods the age must rest on (default: any accepted one), "
    "e.g. gov_id, id_plus_selfie, estimation",
}


# -- remedies ---------------------------------------------------------------------------------
def verify_age(rule: CompiledRule, facts: RequestFacts) -> dict[str, Any] | None:
    """`{"type": "verify_age", "at_least": N, "methods": [...]}` for an age not assured (the
    rule's age or `at_least`, its `methods` or else the policy's, each only when known)."""
    if isinstance(rule, world.MinimumAgeRule):
        if not rule.unassured:
            return None  # too young: nothing but time lifts it (`next_allowed_at`)
        at_least: int | None = rule.age
    else:
        assert isinstance(rule, world.AgeAssuranceRule)  # INVARIANT: the two kinds using it
        at_least = rule.at_least
    out: dict[str, Any] = {"type": "verify_age"}
    if at_least is not None:
        out["at_least"] = at_least
    methods = rule.methods or rule.policy_methods
    if methods:
        out["methods"] = list(methods)
    return out


def app_consent(rule: CompiledRule, facts: RequestFacts) -> dict[str, Any] | None:
    """The guardian's consent to the app (not to an action: no `action`), revoked or not."""
    return {"type": "guardian_consent"}


def guardian_link(rule: CompiledRule, facts: RequestFacts) -> dict[str, Any] | None:
    return {"type": "guardian_link"}


# -- compile steps ----------------------------------------------------------------------------
def _methods(rule: Any) -> tuple[str, ...] | None:
    return tuple(rule.methods) if rule.methods is not None else None


def _minimum_age(rule: Any, common: dict[str, Any]) -> CompiledRule:
    return world.MinimumAgeRule(**common, age=rule.age, methods=_methods(rule))


def _assurance(rule: Any, common: dict[str, Any]) -> CompiledRule:
    return world.AgeAssuranceRule(**common, methods=_methods(rule), at_least=rule.at_least)


def _weekly(rule: Any, common: dict[str, Any]) -> CompiledRule:
    return world.WeeklyBudgetRule(**common, limit=rule.limit)


def _plain(cls: type[CompiledRule]) -> Any:
    return lambda rule, common: cls(**common)


def _age_reads(rule: Any) -> frozenset[str]:
    """The age, and how it was established only when the rule names `methods`."""
    return frozenset({"age", "age_method"} if rule.methods is not None else {"age"})


WORLD_KINDS: tuple[dict[str, Any], ...] = (
    dict(
        name="minimum_age",
        loosened=lk.minimum_age,
        model=schema.MinimumAgeRule,
        rule=world.MinimumAgeRule,
        compile=_minimum_age,
        reason="minimum_age",
        remedy=verify_age,
        obligation=None,
        reads=frozenset({"age", "age_method"}),
        reads_rule=_age_reads,
        check=checks.check_minimum_age,
        keys={
            "age": {"description": "the minimum age, whole years: denies younger subjects"},
            "methods": METHODS_KEY,
        },
        denies_when="the subject is younger than `age` (never waivable); an unknown age, or "
        "one not resting on `methods`: `age_assurance_required`",
    ),
    dict(
        name="require_age_assurance",
        loosened=lk.assurance,
        model=schema.AgeAssuranceRule,
        rule=world.AgeAssuranceRule,
        compile=_assurance,
        reason="age_assurance_required",
        remedy=verify_age,
        obligation=None,
        reads=frozenset({"age", "age_method"}),
        reads_rule=_age_reads,
        keys={
            "methods": METHODS_KEY,
            "at_least": {"description": "the age the `verify_age` remedy asks to prove"},
        },
        denies_when="the age is unknown, or does not rest on one of `methods`",
    ),
    dict(
        name="require_app_consent",
        model=schema.AppConsentRule,
        rule=world.AppConsentRule,
        compile=_plain(world.AppConsentRule),
        reason="guardian_consent_required",
        remedy=app_consent,
        obligation=None,
        reads=frozenset({"app_consent"}),
        withheld_by=frozenset({"guardian"}),
        denies_when="`guardian.app_consent` is not `approved` (`revoked`: `consent_revoked`)",
    ),
    dict(
        name="require_guardian_link",
        model=schema.GuardianLinkRule,
        rule=world.GuardianLinkRule,
        compile=_plain(world.GuardianLinkRule),
        reason="guardian_link_required",
        remedy=guardian_link,
        obligation=None,
        reads=frozenset({"linked"}),
        withheld_by=frozenset({"guardian"}),
        denies_when="the account is not linked to a guardian's (`guardian.linked`)",
    ),
    dict(
        name="weekly_budget",
        loosened=lk.larger("limit"),
        model=schema.WeeklyBudgetRule,
        rule=world.WeeklyBudgetRule,
        compile=_weekly,
        reason="weekly_limit",
        obligation=None,
        reads=frozenset({"week"}),
        withheld_by=frozenset({"usage", "guardian"}),
        keys={
            "limit": {
                "description": "the weekly limit: allowed while less than this is used this "
                "ISO week (from the local Monday 00:00)"
            }
        },
        denies_when="this week's use has reached the limit",
    ),
)
