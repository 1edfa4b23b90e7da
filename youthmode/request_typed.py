"""The typed route of `request.read` (request.py): `parse` then `typed_facts`.

`DecisionRequest` says what is valid, coerces what may be coerced and words every error; the
policy's checks (action, currency, decimal places, a birthdate after `at`) follow. Requests
the plain route (`request.read_plain`) does not take come this way, and so does every
`DecisionRequest` an embedder builds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from youthmode.age_signals import AgeSignal
from youthmode.errors import RequestError, did_you_mean
from youthmode.facts import (
    NO_GUARDIAN,
    NO_USAGE,
    ZERO,
    GuardianFacts,
    RequestFacts,
    WorldFacts,
    curfew_windows,
    request_facts,
)
from youthmode.model import DecisionRequest, Guardian, request_problem_from
from youthmode.policies import CompiledPolicy
from youthmode.zones import known_zone


def parse(request: DecisionRequest | Mapping[str, Any]) -> DecisionRequest:
    """The request as the model reads it; RequestError with every problem if it cannot."""
    if isinstance(request, DecisionRequest):
        return request
    if not isinstance(request, Mapping):
        raise RequestError.single((), "a decision request must be a JSON object")
    try:
        return DecisionRequest.model_validate(request)
    except ValidationError as err:
        raise RequestError([request_problem_from(e) for e in err.errors()]) from None


def find_policy(
    policies: Mapping[str, CompiledPolicy], default_policy: str | None, policy_id: str | None
) -> CompiledPolicy:
    """The policy a request names, else the default; RequestError if there is none such."""
    chosen = policy_id or default_policy
    if chosen is None:
        raise RequestError.single(
            ("policy",),
            "no policy named and no default policy is set",
            code="unknown_policy",
            hint="name one of: " + ", ".join(sorted(policies)),
            known=sorted(policies),
        )
    found = policies.get(chosen)
    if found is None:
        raise RequestError.single(
            ("policy",),
            f"unknown policy `{chosen}`",
            code="unknown_policy",
            hint=did_you_mean(chosen, policies),
            known=sorted(policies),
        )
    return found


def typed_facts(req: DecisionRequest, policy: CompiledPolicy, at: datetime) -> RequestFacts:
    """Check a parsed request against the policy's catalog and build its static facts."""
    action = policy.actions.get(req.action)
    if action is None:
        raise RequestError.single(
            ("action",),
            f"unknown action `{req.action}` for policy `{policy.id}`",
            code="unknown_action",
            hint=did_you_mean(req.action, policy.actions),
            known=sorted(policy.actions),
        )
    resource, usage, guardian = req.resource, req.usage, req.guardian
    amount = resource.amount if resource else None
    _check_money(req, policy, action.requires_amount, amount)
    subject = req.subject
    if subject.birthdate is not None and subject.birthdate > at.date():
        raise RequestError.single(
            ("subject", "birthdate"), "birthdate is after `at`", code="birthdate_in_future"
        )
    return request_facts(
        req.action,
        action.metered,
        (subject.verified, subject.birthdate, subject.age),
        {**resource.__dict__, **(resource.__pydantic_extra__ or {})} if resource else {},
        (
            usage.today_seconds or 0,
            usage.session_seconds or 0,
            usage.day_spent or ZERO,
            usage.month_spent or ZERO,
        )
        if usage
        else NO_USAGE,
        _guardian_facts(guardian) if guardian else NO_GUARDIAN,
        at.date(),
        _world_facts(req),
        known_zone(subject.timezone) if subject.timezone is not None else None,
    )


def _world_facts(req: DecisionRequest) -> WorldFacts:
    """CONTRACT section 6: age signals, jurisdiction, app consent and link, the app's use."""
    subject, guardian, usage = req.subject, req.guardian, req.usage
    signals = tuple(
        AgeSignal(s.source, s.lower, s.upper, s.method, s.observed_at)
        for s in subject.age_signals or ()
    )
    return (
        signals,
        subject.jurisdiction,
        guardian.app_consent if guardian else None,
        bool(guardian.linked) if guardian else False,
        (usage.app_today_seconds or 0) if usage else 0,
        (usage.week_seconds or 0) if usage else 0,
    )


def _guardian_facts(guardian: Guardian) -> GuardianFacts:
    windows = [guardian.curfew] if guardian.curfew else []
    return (
        frozenset(guardian.consents),
        frozenset(guardian.exemptions),
        frozenset(guardian.exempt_apps),
        guardian.daily_limit_seconds,
        guardian.extra_seconds or 0,
        curfew_windows(windows + (guardian.more_curfews or [])),
    )


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
