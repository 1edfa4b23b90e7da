"""The fast path of `Engine.decide`: the same answer as `Timeline` and `combine`, for the
requests most integrations send, on tables built once per rule combination (schedule.py),
a guardian's own curfews and daily limit included.

`decide_fast` (compiled: youthmode/_verdicts.c, whose Python twin is `decide_python`) returns
None for anything it does not cover, and the engine then takes the pure
path (timeline.py, decision.py), which stays the reference: several lines (age signals,
jurisdiction floors), a guardian's time grant, the world packs' counters,
dated rules, reason codes that vary, a rule kind the schedule does not know, and any walk
that reaches a daylight-saving day. tests/test_fastpath.py holds both paths to the same
decisions, byte for byte in JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from youthmode import compiled
from youthmode.decision import _guardian_facts, obligations_due
from youthmode.facts import ZERO, Day, Moment, RequestFacts, age_on
from youthmode.model import Decision, Facts, Remedy
from youthmode.policies import CompiledPolicy
from youthmode.policies.rules import (
    AllowWindowRule,
    ConsentRule,
    ContentAgeRule,
    DailyBudgetRule,
    DenyWindowRule,
    ForbidRule,
    ResourceMatchRule,
    SpendingCapRule,
    VerifiedRule,
)
from youthmode.policies.validate import UNKNOWN_BAND
from youthmode.schedule import (
    ALLOW_WINDOW,
    ASK,
    CAP,
    CONSENT,
    CONTENT_AGE,
    DAILY,
    DENY_WINDOW,
    FORBID,
    LOCKOUT,
    MATCH,
    REST,
    VERIFIED,
    Entry,
    GiveUp,
    Schedule,
    Walk,
    schedule_for,
)
from youthmode.schedule import NONE as NO_SCHEDULE
from youthmode.timeline import NEXT_ALLOWED_HORIZON, REMAINING_HORIZON

_set = object.__setattr__
_new = object.__new__
Model = TypeVar("Model", bound=BaseModel)


def decide_python(
    policy: CompiledPolicy, req: RequestFacts, at: datetime, decision_id: str
) -> Decision | None:
    """The decision for ``req`` at ``at``, or None when the pure path must answer.
    youthmode/_verdicts.c's `decide` is its compiled twin (tests/test_verdicts_compiled.py),
    and hands it whatever it declines."""
    if req.extra_seconds:
        return None  # a guardian's grant extends a rule for one day: Timeline does that
    prepared = None if compiled_prepare is None else compiled_prepare(policy, req, at)
    if prepared is None:
        prepared = _prepare(policy, req, at)
        if prepared is None:
            return None
    day, schedule, m = prepared
    birth = req.birthdate
    denials = [e for e in schedule.entries if e[0].denies(m, req)]
    stands = False
    for entry in denials:
        if entry[0].timeless:
            stands = True
            break
    if stands and birth is None:  # only a birthday could lift it, and none is known
        return _denial(policy, req, schedule, day, m, at, denials, decision_id, None)
    walk = Walk(policy, req, m, schedule, stands)
    try:
        if denials:
            found = walk_first(walk, day, m.ts, schedule, stands, True, NEXT_ALLOWED_HORIZON)
            return _denial(policy, req, schedule, day, m, at, denials, decision_id, found)
        found = walk_first(walk, day, m.ts, schedule, False, False, REMAINING_HORIZON)
    except GiveUp:
        return None
    remaining = None if found is None else found - m.ts
    return _allow(policy, req, schedule, day, m, at, decision_id, remaining)


def _prepare(policy: CompiledPolicy, req: RequestFacts, at: datetime) -> Prepared | None:
    """The local day, the schedule and the moment at ``at``; None where the pure path must
    answer (a daylight-saving day, a combination without a schedule). youthmode/_fastpath.c's
    `prepare` is its compiled twin (tests/test_fastpath_compiled.py)."""
    start = at.date()
    day = policy.day(start)
    if not day.even:
        return None
    birth = req.birthdate
    age = req.declared_age if birth is None else age_on(birth, start, policy.age_rollover)
    band = policy.band_of(age)
    schedule = schedule_for(policy, req, band)
    if schedule is None:
        return None
    sod = at.hour * 3600 + at.minute * 60 + at.second
    # An even day keeps one offset all day: `at` is `sod` seconds after its start, with no
    # time-zone look-up (`at.timestamp()` asks the zone for the offset again).
    return (
        day,
        schedule,
        Moment.of_request(day, day.start + sod, sod, policy.calendar, age, band, req),
    )


def _allow(
    policy: CompiledPolicy,
    req: RequestFacts,
    schedule: Schedule,
    day: Day,
    m: Moment,
    at: datetime,
    decision_id: str,
    remaining: int | None,
) -> Decision:
    due = schedule.active.obligations
    return _model(
        Decision,
        {
            "decision_id": decision_id,
            "effect": "allow",
            "allowed": True,
            "band": m.band,
            "reasons": [],
            "obligations": obligations_due(due, m, at, remaining) if due else [],
            "remedies": [],
            "remaining_seconds": remaining,
            "valid_until": None if remaining is None else at + timedelta(seconds=remaining),
            "next_allowed_at": None,
            "facts": facts_of(policy, req, schedule, day, m, at),
            "policy": schedule.ref,
            "policies": None,
            "degraded": False,
        },
        DECISION_SET,
    )


def _denial(
    policy: CompiledPolicy,
    req: RequestFacts,
    schedule: Schedule,
    day: Day,
    m: Moment,
    at: datetime,
    denials: list[Entry],
    decision_id: str,
    next_allowed: int | None,
) -> Decision:
    next_at = None if next_allowed is None else datetime.fromtimestamp(next_allowed, policy.zone)
    return _model(
        Decision,
        {
            "decision_id": decision_id,
            "effect": "deny",
            "allowed": False,
            "band": m.band,
            "reasons": [e[1] for e in denials],
            "obligations": [],
            "remedies": _remedies(denials, next_at),
            "remaining_seconds": None,
            "valid_until": None,
            "next_allowed_at": next_at,
            "facts": facts_of(policy, req, schedule, day, m, at),
            "policy": schedule.ref,
            "policies": None,
            "degraded": False,
        },
        DECISION_SET,
    )


def _remedies(denials: list[Entry], next_at: datetime | None) -> list[Remedy]:
    """`decision._remedies`: each denying rule's, then waiting, without repeats."""
    seen: list[dict[str, Any]] = []
    out: list[Remedy] = []
    for _, _, remedy, shared in denials:
        if remedy is not None and shared is not None and remedy not in seen:
            seen.append(remedy)
            out.append(shared)
    if next_at is not None:
        out.append(_model(Remedy, {**WAIT, "until": next_at}, WAIT_SET))
    return out


def _facts(
    policy: CompiledPolicy, req: RequestFacts, schedule: Schedule, day: Day, m: Moment, at: datetime
) -> Facts:
    """`decision.facts_of` for one line: `facts_values`'s fields, written out in declaration
    order (one dict instead of a template's copy updated from a second dict)."""
    guardian = None
    if m.band in policy.protected_bands and (
        req.exempt_apps
        or req.consents
        or req.app_consent is not None
        or req.linked
        or req.guardian_curfews
        or req.guardian_daily_limit is not None
    ):
        guardian = _guardian_facts(req)  # the fast path has no grant (extra_seconds)
    spending = schedule.spending
    fields = {
        "local_time": at,
        "timezone": policy.timezone,
        "day_type": m.day_type,
        "calendar_official": day.official,
        "age": m.age,
        "age_range": None,
        "ignored_signals": None,
        "jurisdiction": None,
        "verified": req.verified,
        "today_seconds": req.today_seconds,
        "session_seconds": req.session_seconds,
        "app_today_seconds": req.app_today_seconds or None,
        "week_seconds": req.week_seconds or None,
        "day_spent": req.day_spent if spending else None,
        "month_spent": req.month_spent if spending else None,
        "amount": req.amount,
        "category": req.category,
        "waived": list(schedule.waived) if schedule.waived else None,
        "guardian": guardian,
        "redacted": None,
    }
    return _model(Facts, fields, FACTS_SET)


def _python_model(cls: type[Model], fields: dict[str, Any], given: frozenset[str]) -> Model:
    """What `trusted(cls, ...)` builds, from every field in declaration order (checked by
    tests/test_fastpath.py), without its template copy and update. youthmode/_response.c's
    `model` is its compiled twin (tests/test_response_compiled.py)."""
    obj = _new(cls)  # pydantic models keep object's __new__ (tests/test_fastpath.py)
    _set(obj, "__dict__", fields)
    _set(obj, "__pydantic_fields_set__", set(given))
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


class ModelBuilder(Protocol):
    def __call__(self, cls: type[Model], fields: dict[str, Any], given: frozenset[str], /) -> Model:
        """A response model from every one of its fields, in declaration order."""


def _model_builder() -> ModelBuilder:
    module = compiled.load("_response")
    if module is None:
        return _python_model
    module.configure({"base_model": BaseModel})
    built: ModelBuilder = module.model
    return built


_model = _model_builder()
Prepared = tuple[Day, Schedule, Moment]
Preparer = Callable[[CompiledPolicy, RequestFacts, datetime], Prepared | None]


WalkFirst = Callable[[Walk, Day, int, Schedule, bool, bool, int], int | None]


FactsBuilder = Callable[[CompiledPolicy, RequestFacts, Schedule, Day, Moment, datetime], Facts]


def _compiled_fastpath() -> tuple[Preparer | None, WalkFirst, FactsBuilder]:
    """youthmode/_fastpath.c's `prepare` and `first`, handed the slots classes they read and
    fill; (None, `Walk.first`) where it is not built or not current (compiled.py).
    `prepare` declines (None) what the Python set-up must do itself: a day or schedule not
    yet memoised, a daylight-saving day. `first` is `Walk.first`, its days and ages read from
    the memos, asking the Python walk what they do not hold yet and raising its GiveUp.
    `facts` is `_facts`, the guardian's part from `_guardian_facts`. A new age's timeless verdict
    comes from youthmode/_verdicts.c's `timeless` where it can judge every rule, and from
    `Walk._timeless` where not."""
    module = compiled.load("_fastpath")
    if module is None:
        return None, Walk.first, _facts
    verdicts = compiled.load("_verdicts")  # configured below; until then it judges nothing
    module.configure(
        {
            "policy": CompiledPolicy,
            "day": Day,
            "facts": RequestFacts,
            "moment": Moment,
            "walk": Walk,
            "schedule": Schedule,
            "unknown_band": UNKNOWN_BAND,
            "no_schedule": NO_SCHEDULE,
            "give_up": GiveUp,
            "zero": ZERO,
            "facts_model": Facts,
            "facts_set": FACTS_SET,
            "facts_fields": tuple(Facts.model_fields),
            "model_builder": _model,
            "guardian_facts": _guardian_facts,
            # a new age's timeless verdict judged in C where every rule's kind allows
            "timeless_judge": None if verdicts is None else verdicts.timeless,
        }
    )
    prepare: Preparer = module.prepare
    first: WalkFirst = module.first
    facts: FactsBuilder = module.facts
    return prepare, first, facts


# The fields `combine`, `facts_of` and `_remedies` give `trusted`: what pydantic then counts
# as set (the rest keep their defaults).
DECISION_SET = frozenset(Decision.model_fields) - {"policies", "degraded"}
FACTS_SET = frozenset(Facts.model_fields) - {
    "age_range",
    "ignored_signals",
    "jurisdiction",
    "redacted",
}
WAIT: dict[str, Any] = {
    "type": "wait",
    "action": None,
    "at_least": None,
    "methods": None,
    "until": None,
    "code": None,
}
WAIT_SET = frozenset({"type", "until"})
compiled_prepare, walk_first, facts_of = _compiled_fastpath()


Decider = Callable[[CompiledPolicy, RequestFacts, datetime, str], Decision | None]


def _compiled_decide() -> Decider:
    """youthmode/_verdicts.c's `decide`: `decide_python` in one call, on the compiled set-up,
    walk and facts above, handing `decide_python` whatever it declines; `decide_python`
    itself where the stage, or the set-up it calls, is not built or not current."""
    module = compiled.load("_verdicts")
    if module is None or compiled_prepare is None:
        return decide_python
    module.configure(
        {
            "moment": Moment,
            "facts": RequestFacts,
            "schedule": Schedule,
            "walk": Walk,
            "prepare": compiled_prepare,
            "first": walk_first,
            "facts_of": facts_of,
            "fallback": decide_python,
            "obligations_due": obligations_due,
            "model_builder": _model,
            "decision_model": Decision,
            "decision_set": DECISION_SET,
            "decision_fields": tuple(Decision.model_fields),
            "remedy_model": Remedy,
            "wait": WAIT,
            "wait_set": WAIT_SET,
            "give_up": GiveUp,
            "zero": ZERO,
            "next_allowed_horizon": NEXT_ALLOWED_HORIZON,
            "remaining_horizon": REMAINING_HORIZON,
            "verdict_codes": VERDICT_CODES,
            "verdict_kinds": VERDICT_KINDS,
            "due_codes": (ASK, REST, LOCKOUT),
        }
    )
    decide: Decider = module.decide
    return decide


VERDICT_CODES = (
    ASK,
    FORBID,
    VERIFIED,
    CONSENT,
    CONTENT_AGE,
    DENY_WINDOW,
    ALLOW_WINDOW,
    DAILY,
    CAP,
    MATCH,
)
# The rule class each code judges: a rule of another class, or whose `denies` is no longer
# the class's own, is asked (schedule.verdict_spec gives codes by exact class too).
VERDICT_KINDS = (
    None,
    ForbidRule,
    VerifiedRule,
    ConsentRule,
    ContentAgeRule,
    DenyWindowRule,
    AllowWindowRule,
    DailyBudgetRule,
    SpendingCapRule,
    ResourceMatchRule,
)
decide_fast = _compiled_decide()
