"""Invariants of cn-baseline decisions, checked with hypothesis on requests near every limit."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from random_requests import SPENDING, random_request, shifted

import youthmode

MINOR_ONLY = {
    "curfew",
    "daily_limit",
    "outside_allowed_window",
    "feature_forbidden",
    "stranger_contact",
    "per_transaction_cap",
    "monthly_cap",
    "daily_spend_cap",
    "guardian_consent_required",
    "age_restricted",
}
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
requests = st.randoms(use_true_random=False).map(random_request)


def _at(decision: youthmode.Decision) -> datetime:
    return decision.facts.local_time


@SETTINGS
@given(request=requests, more=st.integers(min_value=1, max_value=20000))
def test_more_usage_never_turns_deny_into_allow(
    engine: youthmode.Engine, request: dict[str, Any], more: int
) -> None:
    usage = dict(request.get("usage") or {})
    usage["today_seconds"] = int(usage.get("today_seconds", 0)) + more
    heavier = dict(request, usage=usage)
    if not engine.decide(request).allowed:
        assert not engine.decide(heavier).allowed


@SETTINGS
@given(request=requests, extra=st.decimals(min_value=Decimal("0.01"), max_value=500, places=2))
def test_more_money_never_turns_deny_into_allow(
    engine: youthmode.Engine, request: dict[str, Any], extra: Decimal
) -> None:
    if request["action"] not in SPENDING:
        return
    before = engine.decide(request)
    bigger = dict(request, resource=dict(request["resource"]))
    bigger["resource"]["amount"] = str(Decimal(bigger["resource"]["amount"]) + extra)
    usage = dict(request.get("usage") or {})
    usage["month_spent"] = str(Decimal(usage.get("month_spent", "0")) + extra)
    richer = dict(request, usage=usage)
    if not before.allowed:
        assert not engine.decide(bigger).allowed
        assert not engine.decide(richer).allowed


@SETTINGS
@given(request=requests, age=st.integers(min_value=18, max_value=120))
def test_adults_never_get_a_minors_only_reason(
    engine: youthmode.Engine, request: dict[str, Any], age: int
) -> None:
    request = dict(request, subject={"age": age, "verified": request["subject"]["verified"]})
    decision = engine.decide(request)
    assert decision.band == "adult"
    assert not set(decision.reason_codes) & MINOR_ONLY
    assert decision.obligations == []


@SETTINGS
@given(request=requests)
def test_remaining_seconds_is_exact(engine: youthmode.Engine, request: dict[str, Any]) -> None:
    decision = engine.decide(request)
    r = decision.remaining_seconds
    if not decision.allowed or r is None:
        return
    at = _at(decision)
    assert decision.valid_until == at + timedelta(seconds=r)
    last = engine.decide(shifted(request, at + timedelta(seconds=r - 1), in_use=True))
    first_denied = engine.decide(shifted(request, at + timedelta(seconds=r), in_use=True))
    assert last.allowed, (request, r)
    assert not first_denied.allowed, (request, r)


@SETTINGS
@given(request=requests)
def test_next_allowed_at_is_exact(engine: youthmode.Engine, request: dict[str, Any]) -> None:
    decision = engine.decide(request)
    t = decision.next_allowed_at
    if decision.allowed or t is None:
        return
    at = _at(decision)
    assert at < t <= at + timedelta(days=14)
    assert engine.decide(shifted(request, t, in_use=False)).allowed, (request, t)
    before = shifted(request, t - timedelta(seconds=1), in_use=False)
    assert not engine.decide(before).allowed, (request, t)


def test_property_strategy_reaches_both_effects(engine: youthmode.Engine) -> None:
    rng = random.Random(7)
    effects = {engine.decide(random_request(rng)).effect for _ in range(200)}
    assert effects == {"allow", "deny"}
