"""The engine: holds compiled policies and answers decision requests.

`decide` runs the pipeline: parse the request, resolve its facts, evaluate every rule in force at
`at`, combine (deny overrides), then look along the timeline for `remaining_seconds` or
`next_allowed_at`. The clock is read once per decision. Nothing here does I/O after loading, and
compiled policies are immutable, so one engine serves any number of threads.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from youthmode.decision import (
    ENGINE_ERROR,
    STORE_UNAVAILABLE,
    evaluate,
    fail_closed,
    fails_closed,
)
from youthmode.errors import RequestError, RequestProblem, did_you_mean
from youthmode.facts import RequestFacts, curfew_windows
from youthmode.model import (
    Decision,
    DecisionRequest,
    Explanation,
    Guardian,
    RuleTrace,
)
from youthmode.policies import CompiledPolicy, load_policies
from youthmode.request_reader import read_plain

log = logging.getLogger("youthmode.engine")
_random = random.Random()  # decision ids need uniqueness, not secrecy
os.register_at_fork(after_in_child=_random.seed)  # forked workers must not repeat ids
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def new_decision_id(now: datetime) -> str:
    """A UUIDv7 (RFC 9562): time-ordered, so decision logs sort by id. Unique, not secret."""
    millis = int(now.timestamp() * 1000) & ((1 << 48) - 1)
    rand = _random.getrandbits(74)
    value = (millis << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62)
    text = f"{value | (rand & ((1 << 62) - 1)):032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class Engine:
    """Decides requests against a set of compiled policies.

    >>> engine = Engine.from_path("configs")
    >>> engine.decide({"subject": {"age": 12}, "action": "app.use"}).effect  # doctest: +SKIP
    """

    def __init__(
        self,
        policies: Iterable[CompiledPolicy],
        *,
        clock: Clock | None = None,
        default_policy: str | None = None,
    ) -> None:
        self._policies = {p.id: p for p in policies}
        self._clock = clock or system_clock
        marked = self._marked_defaults()
        if default_policy is not None and default_policy not in self._policies:
            raise ValueError(f"default policy `{default_policy}` is not loaded")
        if default_policy is None and len(self._policies) == 1:
            default_policy = next(iter(self._policies))
        self.default_policy = default_policy or (marked[0] if marked else None)
        self.loaded_at = self._clock()

    def _marked_defaults(self) -> list[str]:
        """Policies marked `default`, leaving out any that a marked pack extends."""
        marked = [p.id for p in self._policies.values() if p.default]
        ancestors: set[str] = set()
        for pid in marked:
            parent = self._policies[pid].extends
            while parent is not None and parent not in ancestors:
                ancestors.add(parent)
                parent = self._policies[parent].extends if parent in self._policies else None
        return [pid for pid in marked if pid not in ancestors]

    @classmethod
    def from_path(
        cls,
        *paths: str | Path,
        clock: Clock | None = None,
        default_policy: str | None = None,
    ) -> Engine:
        """Load, validate and compile every policy file under ``paths`` (raises PolicyError)."""
        return cls(load_policies(paths or ("configs",)), clock=clock, default_policy=default_policy)

    def warm(self) -> Engine:
        """Build each policy's calendar for this year and the next, so the first decisions
        are as fast as the rest (a holiday calendar's first use imports it: ~100 ms)."""
        now = self._clock()
        for policy in self._policies.values():
            year = now.astimezone(policy.zone).year
            policy.calendar.warm((year, year + 1))
        return self

    @property
    def policies(self) -> Mapping[str, CompiledPolicy]:
        return self._policies

    def policy(self, policy_id: str | None = None) -> CompiledPolicy:
        chosen = policy_id or self.default_policy
        if chosen is None:
            raise RequestError.single(
                ("policy",),
                "no policy named and no default policy is set",
                code="unknown_policy",
                hint="name one of: " + ", ".join(sorted(self._policies)),
                known=sorted(self._policies),
            )
        found = self._policies.get(chosen)
        if found is None:
            raise RequestError.single(
                ("policy",),
                f"unknown policy `{chosen}`",
                code="unknown_policy",
                hint=did_you_mean(chosen, self._policies),
                known=sorted(self._policies),
            )
        return found

    # -- deciding ---------------------------------------------------------------------------
    def decide(
        self,
        request: DecisionRequest | Mapping[str, Any],
        *,
        degraded: bool = False,
        store_unavailable: bool = False,
    ) -> Decision:
        """Decide one request. Raises RequestError for invalid input, never for evaluation.

        ``store_unavailable``: the ledger the usage should come from cannot be read. Protected
        subjects (minors and unknown ages) then get the action's declared `on_store_error`
        mode: a `store_unavailable` denial, or a decision on the request as given. Either way,
        and with ``degraded``, the decision is marked `degraded`.
        """
        return self._run(
            request,
            explain=False,
            degraded=degraded or store_unavailable,
            store_unavailable=store_unavailable,
        )[0]

    def explain(self, request: DecisionRequest | Mapping[str, Any]) -> Explanation:
        """The decision plus every rule considered, whether it applied, and why."""
        decision, trace = self._run(request, explain=True)
        return Explanation(decision=decision, trace=trace)

    def parse(self, request: DecisionRequest | Mapping[str, Any]) -> DecisionRequest:
        if isinstance(request, DecisionRequest):
            return request
        if not isinstance(request, Mapping):
            raise RequestError.single((), "a decision request must be a JSON object")
        try:
            return DecisionRequest.model_validate(request)
        except ValidationError as err:
            raise RequestError([request_problem_from(e) for e in err.errors()]) from None

    def _run(
        self,
        request: DecisionRequest | Mapping[str, Any],
        *,
        explain: bool,
        degraded: bool = False,
        store_unavailable: bool = False,
    ) -> tuple[Decision, list[RuleTrace]]:
        now = self._clock()
        plain = (
            read_plain(request, self._policies, self.default_policy, now)
            if type(request) is dict
            else None
        )
        if plain is not None:
            policy, at, facts = plain
        else:  # typed, coercible or invalid: the model decides, and words any error
            req = self.parse(request)
            policy = self.policy(req.policy)
            at = (req.at or now).astimezone(policy.zone).replace(microsecond=0)
            facts = request_facts(req, policy, at)
        decision_id = new_decision_id(now)
        try:
            if store_unavailable and fails_closed(policy, facts, at):
                return fail_closed(policy, facts, at, decision_id, STORE_UNAVAILABLE), []
            decision, trace = evaluate(policy, facts, at, decision_id, explain)
        except Exception:  # fail closed: a bug must never allow, nor escape as a 500
            log.exception("engine error in decision %s (policy %s)", decision_id, policy.id)
            return fail_closed(policy, facts, at, decision_id, ENGINE_ERROR), []
        if degraded:
            decision.degraded = True
        return decision, trace


def request_problem_from(error: Any) -> RequestProblem:
    loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden":
        name = str(loc[-1])
        fields = _fields_at(loc[:-1])
        return RequestProblem(
            loc, f"unknown field `{name}`", "unknown_field", did_you_mean(name, fields)
        )
    if error["type"] == "missing":
        return RequestProblem(loc, f"`{loc[-1]}` is required", "missing_field")
    return RequestProblem(loc, error["msg"], "invalid_value")


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    from youthmode import model

    models: dict[tuple[Any, ...], type[Any]] = {
        (): model.DecisionRequest,
        ("subject",): model.Subject,
        ("usage",): model.Usage,
        ("guardian",): model.Guardian,
        ("resource",): model.Resource,
    }
    found = models.get(loc)
    return list(found.model_fields) if found else []


def request_facts(req: DecisionRequest, policy: CompiledPolicy, at: datetime) -> RequestFacts:
    """Check the request against the policy's catalog and build its static facts."""
    action = policy.actions.get(req.action)
    if action is None:
        raise RequestError.single(
            ("action",),
            f"unknown action `{req.action}` for policy `{policy.id}`",
            code="unknown_action",
            hint=did_you_mean(req.action, policy.actions),
            known=sorted(policy.actions),
        )
    resource = req.resource
    amount = resource.amount if resource else None
    _check_money(req, policy, action.requires_amount, amount)
    subject, usage, guardian = req.subject, req.usage, req.guardian
    if subject.birthdate is not None and subject.birthdate > at.date():
        raise RequestError.single(
            ("subject", "birthdate"), "birthdate is after `at`", code="birthdate_in_future"
        )
    return RequestFacts(
        action=req.action,
        metered=action.metered,
        verified=subject.verified,
        birthdate=subject.birthdate,
        declared_age=subject.age,
        amount=amount,
        category=resource.category if resource else None,
        app=resource.app if resource else None,
        min_age=resource.min_age if resource else None,
        recipient=resource.recipient if resource else None,
        resource={**resource.__dict__, **(resource.__pydantic_extra__ or {})} if resource else {},
        consents=frozenset(guardian.consents) if guardian else frozenset(),
        exemptions=frozenset(guardian.exemptions) if guardian else frozenset(),
        exempt_apps=frozenset(guardian.exempt_apps) if guardian else frozenset(),
        at_date=at.date(),
        guardian_daily_limit=guardian.daily_limit_seconds if guardian else None,
        guardian_curfews=_curfews(guardian) if guardian else (),
        extra_seconds=(guardian.extra_seconds or 0) if guardian else 0,
        today_seconds=(usage.today_seconds or 0) if usage else 0,
        session_seconds=(usage.session_seconds or 0) if usage else 0,
        day_spent=(usage.day_spent or Decimal(0)) if usage else Decimal(0),
        month_spent=(usage.month_spent or Decimal(0)) if usage else Decimal(0),
    )


def _curfews(guardian: Guardian) -> tuple[tuple[int, int], ...]:
    windows = [guardian.curfew] if guardian.curfew else []
    return curfew_windows(windows + (guardian.more_curfews or []))


def _check_money(
    req: DecisionRequest, policy: CompiledPolicy, required: bool, amount: Decimal | None
) -> None:
    if required and amount is None:
        raise RequestError.single(
            ("resource", "amount"),
            f"`{req.action}` is a spending action and needs `resource.amount`",
            code="missing_amount",
            hint='e.g. "amount": "30.00"',
        )
    currency = req.resource.currency if req.resource else None
    if currency is not None and currency != policy.currency:
        raise RequestError.single(
            ("resource", "currency"),
            f"policy `{policy.id}` counts money in {policy.currency}, not {currency}",
            code="unsupported_currency",
        )
    if amount is not None:
        _check_places(("resource", "amount"), amount, policy)
    if req.usage is not None:  # most requests carry no money at all: check only what is there
        if req.usage.month_spent is not None:
            _check_places(("usage", "month_spent"), req.usage.month_spent, policy)
        if req.usage.day_spent is not None:
            _check_places(("usage", "day_spent"), req.usage.day_spent, policy)


def _check_places(loc: tuple[str, str], value: Decimal, policy: CompiledPolicy) -> None:
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > policy.currency_places:
        raise RequestError.single(
            loc,
            f"`{value}` has more than {policy.currency_places} decimal places for "
            f"{policy.currency}",
            code="invalid_amount",
        )
