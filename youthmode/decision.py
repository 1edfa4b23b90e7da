"""Stage 5: combine the verdicts the engine found into a Decision, and explain it.

Deny overrides; reasons keep the policy's rule order; an allow looks ahead for
`remaining_seconds`, a deny for `next_allowed_at`; obligations, remedies and the facts used are
attached. Fail-closed decisions (`engine_error`, `store_unavailable`) are built here too, and
the redacted copies the API answers to keys that may not see the ledger's figures.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from youthmode.facts import Moment, RequestFacts, age_on
from youthmode.model import (
    ConsentAgeUsed,
    Decision,
    Facts,
    Model,
    Obligation,
    PolicyRef,
    Reason,
    Remedy,
    RuleTrace,
    trusted,
)
from youthmode.policies import CompiledPolicy
from youthmode.policies.in_force import why_not
from youthmode.policies.kinds import kind_of, remedies_of, withheld_kinds
from youthmode.policies.rules import CompiledRule
from youthmode.timeline import Timeline
from youthmode.units import format_time_of_day


# -- combining (pure) -------------------------------------------------------------------------
def combine(
    line: Timeline,
    now: Moment,
    denials: list[CompiledRule],
    decision_id: str,
    *,
    remaining: int | None,
    next_allowed: int | None,
) -> Decision:
    """The Decision for the verdicts the engine found at ``now`` along ``line``."""
    policy, facts, at = line.policy, line.req, line.at
    active = line.active(now.band)
    obligations: list[Obligation] = []
    remedies: list[Remedy] = []
    next_at = None
    if not denials:
        due = active.obligations_on(now.date)
        if due:
            obligations = obligations_due(due, now, at, remaining)
    else:
        if next_allowed is not None:
            next_at = datetime.fromtimestamp(next_allowed, policy.zone)
        remedies = _remedies(denials, facts, next_at)
    return trusted(
        Decision,
        {
            "decision_id": decision_id,
            "effect": "deny" if denials else "allow",
            "allowed": not denials,
            "band": now.band,
            "reasons": [reason_of(r) for r in denials],
            "obligations": obligations,
            "remedies": remedies,
            "remaining_seconds": remaining,
            "valid_until": at + timedelta(seconds=remaining) if remaining is not None else None,
            "next_allowed_at": next_at,
            "facts": facts_of(policy, facts, now, at, [r.code for r in active.waived]),
            "policy": policy_ref(policy),
        },
    )


def reason_of(rule: CompiledRule) -> Reason:
    """The reason a denying rule gives: the same for every decision, so built once."""
    applied = getattr(rule, "applied", None)  # a consent asked below the age of consent
    key = ("reason", rule.ref, rule.code, rule.message, rule.message_en, *rule.messages.values())
    if applied is not None:
        key = (*key, repr(applied))
    found: Reason | None = _SHARED.get(key)
    if found is None:
        fields: dict[str, Any] = {
            "code": rule.code,
            "rule": rule.ref,
            "message": rule.message,
            "message_en": rule.message_en,
            "messages": dict(rule.messages) or None,
        }
        if applied is not None:
            fields["consent_age"] = ConsentAgeUsed.model_validate(applied.to_dict())
        found = _shared(key, trusted(Reason, fields))
    return found


def policy_ref(policy: CompiledPolicy) -> PolicyRef:
    key = ("policy", policy.id, policy.version, policy.digest)
    found: PolicyRef | None = _SHARED.get(key)
    if found is None:
        ref = {"id": policy.id, "version": policy.version, "digest": policy.digest}
        found = _shared(key, trusted(PolicyRef, ref))
    return found


_SHARED: dict[tuple[str, ...], Any] = {}


def _shared(key: tuple[str, ...], value: Model) -> Model:
    if len(_SHARED) >= 4096:  # rules and policies come and go with reloads
        _SHARED.clear()
    _SHARED[key] = value
    return value


def obligations_due(
    rules: tuple[CompiledRule, ...], m: Moment, at: datetime, remaining: int | None
) -> list[Obligation]:
    out = []
    for rule in rules:
        due = kind_of(rule).obligation
        extra = due(rule, m, at, remaining) if due is not None else None
        if extra is not None:
            out.append(_obligation(rule, **extra))
    return out


def _obligation(rule: CompiledRule, **more: Any) -> Obligation:
    fields = {
        "type": rule.code,
        "rule": rule.ref,
        "message": rule.message,
        "message_en": rule.message_en,
    }
    return trusted(Obligation, fields | more)


def _remedies(
    denials: list[CompiledRule], facts: RequestFacts, next_at: datetime | None
) -> list[Remedy]:
    out: list[dict[str, Any]] = []
    for rule in denials:
        out.extend(remedies_of(rule, facts))
    if next_at is not None:
        out.append({"type": "wait", "until": next_at})
    unique: list[dict[str, Any]] = []
    for remedy in out:
        if remedy not in unique:
            unique.append(remedy)
    return [trusted(Remedy, r) for r in unique]


def facts_of(
    policy: CompiledPolicy,
    req: RequestFacts,
    m: Moment,
    at: datetime,
    waived: list[str],
    more: dict[str, Any] | None = None,
) -> Facts:
    """The facts a decision rests on (``more``: what several lines add, `decision_joint`)."""
    guardian = _guardian_facts(req) if m.band in policy.protected_bands else None
    values = facts_values(policy, req, m, at, waived, guardian)
    if more:
        values.update(more)
    return trusted(Facts, values)


def facts_values(
    policy: CompiledPolicy,
    req: RequestFacts,
    m: Moment,
    at: datetime,
    waived: list[str],
    guardian: dict[str, Any] | None,
) -> dict[str, Any]:
    """The `Facts` fields every decision reports. fastpath.py `_facts` writes the same ones
    out in one dict (a change here goes there too: tests/test_fastpath.py compares them)."""
    spending = policy.actions[req.action].requires_amount
    return {
        "local_time": at,
        "timezone": policy.timezone,
        "day_type": m.day_type,
        "calendar_official": policy.calendar.is_official(m.date.year),
        "age": m.age,
        "verified": req.verified,
        "today_seconds": req.today_seconds,
        "session_seconds": req.session_seconds,
        "app_today_seconds": req.app_today_seconds or None,
        "week_seconds": req.week_seconds or None,
        "day_spent": req.day_spent if spending else None,
        "month_spent": req.month_spent if spending else None,
        "amount": req.amount,
        "category": req.category,
        "waived": waived or None,
        "guardian": guardian,
    }


def _guardian_facts(req: RequestFacts) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    if req.guardian_daily_limit is not None:
        out["daily_limit_seconds"] = req.guardian_daily_limit
    if req.guardian_curfews:
        shown = [[format_time_of_day(t) for t in w] for w in req.guardian_curfews]
        out["curfew" if len(shown) == 1 else "curfews"] = shown[0] if len(shown) == 1 else shown
    if req.extra_seconds:
        out["extra_seconds"] = req.extra_seconds
    if req.exempt_apps:
        out["exempt_apps"] = sorted(req.exempt_apps)
    if req.consents:
        out["consents"] = sorted(req.consents)
    if req.app_consent is not None:
        out["app_consent"] = req.app_consent
    if req.linked:
        out["linked"] = True
    return out or None


def trace_rules(policy: CompiledPolicy, line: Timeline, m: Moment) -> list[RuleTrace]:
    active = line.active(m.band)
    # Rules are matched by ref, not identity: a guardian's time grant puts an extended copy of
    # a daily budget in force (timeline._with_grant), and that copy is what `decide` evaluated.
    in_force = {r.ref: r for r in (*active.rules, *active.obligations)}
    waived = {r.ref for r in active.waived}
    exempt = {r.ref for r in active.exempt}
    out = []
    guardian = [
        r for r in (*active.rules, *active.waived, *active.exempt) if r.ref.startswith("guardian/")
    ]
    for rule in (*policy.rules, *guardian):
        code = rule.code
        applies = rule.ref.startswith("guardian/") or (
            line.req.action in rule.actions and m.band in rule.bands
        )
        if not applies:
            scope = "action" if line.req.action not in rule.actions else "band"
            outcome, detail = (
                "not_applicable",
                f"{scope} out of scope ({line.req.action}, {m.band})",
            )
        elif (why := why_not(rule, m.date)) is not None:
            outcome, detail = "not_in_force", why
        elif rule.ref in waived:
            outcome, detail = "waived", f"guardian waived `{rule.code}` (rule is waivable)"
        elif rule.ref in exempt:
            outcome, detail = "exempt", f"app category `{line.req.category}` is exempt"
        elif rule.obligation:
            outcome, detail = "obligation", rule.explain(m, line.req)
        else:
            live = in_force.get(rule.ref)
            assert live is not None  # INVARIANT: in scope and neither waived nor exempt
            outcome = "deny" if live.denies(m, line.req) else "pass"
            detail = live.explain(m, line.req)
            if outcome == "deny":
                code = live.denied(m, line.req).code  # the code it denies with, e.g. revoked
        out.append(
            RuleTrace(
                rule=rule.ref,
                kind=rule.kind,
                code=code,
                applies=applies,
                outcome=outcome,
                detail=detail,
            )
        )
    return out


# -- redaction (the API's scopes) ------------------------------------------------------------
# What a decision's facts tell that a `decide` key may not see (docs/api.md "Scopes and
# redaction"): the ledger's usage figures, and the subject's stored guardian settings.
WITHHELD_FACTS = {
    "usage": (
        "today_seconds",
        "session_seconds",
        "day_spent",
        "month_spent",
        "app_today_seconds",
        "week_seconds",
    ),
    "guardian": ("guardian", "waived"),
}
USAGE_KINDS = withheld_kinds("usage")
GUARDIAN_KINDS = withheld_kinds("guardian")  # grants, stored consents


def redacted(decision: Decision, withheld: tuple[str, ...]) -> Decision:
    """The decision with the withheld facts left out and named in `facts.redacted`."""
    if not withheld:
        return decision
    facts = decision.facts
    names = [
        name
        for scope in withheld
        for name in WITHHELD_FACTS[scope]
        # Whether usage figures exist depends on the action alone; guardian facts on the
        # ledger: those are named always.
        if scope == "guardian" or getattr(facts, name) is not None
    ]
    if not names:
        return decision
    hidden = facts.model_copy(update={**dict.fromkeys(names), "redacted": names})
    return decision.model_copy(update={"facts": hidden})


def redacted_trace(trace: list[RuleTrace], withheld: tuple[str, ...]) -> list[RuleTrace]:
    """The trace without what the withheld facts would tell: a detail quoting them is
    replaced; a guardian's own rule is listed only when it denies (it is in `reasons`)."""
    if not withheld:
        return trace
    out = []
    for entry in trace:
        own = entry.rule.startswith("guardian/")
        if "guardian" in withheld and own and entry.outcome != "deny":
            continue
        scope = _detail_scope(entry, own, withheld)
        if scope is not None:
            entry = entry.model_copy(update={"detail": f"withheld: needs the `{scope}` scope"})
        out.append(entry)
    return out


def _detail_scope(entry: RuleTrace, own: bool, withheld: tuple[str, ...]) -> str | None:
    if entry.outcome == "not_applicable":
        return None  # "action out of scope": nothing about the subject
    if "guardian" in withheld and (
        own or entry.kind in GUARDIAN_KINDS or entry.outcome in ("waived", "exempt")
    ):
        return "guardian"
    if "usage" in withheld and entry.kind in USAGE_KINDS:
        return "usage"
    return None


ENGINE_ERROR = (
    "engine_error",
    "engine",
    "系统暂时无法判断，已按未成年人保护要求暂停该功能",
    "The decision could not be evaluated; denied to stay safe",
)
STORE_UNAVAILABLE = (
    "store_unavailable",
    "store",
    "暂时无法读取使用记录，已按未成年人保护要求暂停该功能",
    "Usage records cannot be read right now; denied to stay safe",
)


def age_at(policy: CompiledPolicy, facts: RequestFacts, at: datetime) -> int | None:
    if facts.birthdate is not None:
        return age_on(facts.birthdate, at.date(), policy.age_rollover)
    return facts.declared_age


def fails_closed(policy: CompiledPolicy, facts: RequestFacts, at: datetime) -> bool:
    """Without the ledger, does this subject and action get a `store_unavailable` denial?"""
    band = policy.band_of(age_at(policy, facts, at))
    return band in policy.protected_bands and policy.actions[facts.action].on_store_error == "deny"


def fail_closed(
    policy: CompiledPolicy,
    facts: RequestFacts,
    at: datetime,
    decision_id: str,
    why: tuple[str, str, str, str],
) -> Decision:
    code, rule, message, message_en = why
    try:
        age = age_at(policy, facts, at)
        band = policy.band_of(age)
    except Exception:  # the fallback itself must not fail
        age, band = None, "unknown"
    return Decision(
        decision_id=decision_id,
        effect="deny",
        allowed=False,
        band=band,
        reasons=[
            Reason(code=code, rule=f"{policy.id}/{rule}", message=message, message_en=message_en)
        ],
        obligations=[],
        remedies=[],
        remaining_seconds=None,
        valid_until=None,
        next_allowed_at=None,
        facts=Facts(
            local_time=at,
            timezone=policy.timezone,
            day_type="unknown",
            calendar_official=False,
            age=age,
            verified=facts.verified,
        ),
        policy=PolicyRef(id=policy.id, version=policy.version, digest=policy.digest),
        degraded=code == "store_unavailable",
    )
