"""Deciding over an age range (CONTRACT section 6): the most protective answer for every age in
it, checked against deciding each age on its own."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from random_requests import random_request

import youthmode

SOURCE = "apple_declared_age_range"


def with_range(request: dict[str, Any], lower: int | None, upper: int | None) -> dict[str, Any]:
    subject = {k: v for k, v in request["subject"].items() if k not in ("age", "birthdate")}
    signal = {"source": SOURCE, "lower": lower, "upper": upper, "method": "gov_id"}
    return dict(request, subject=subject | {"age_signals": [signal]})


def with_age(request: dict[str, Any], age: int) -> dict[str, Any]:
    subject = {k: v for k, v in request["subject"].items() if k not in ("age", "birthdate")}
    return dict(request, subject=subject | {"age": age})


def ages_of(lower: int | None, upper: int | None) -> range:
    low = lower or 0
    return range(low, (upper if upper is not None else max(low, 18)) + 1)


@pytest.mark.parametrize("seed", range(400))
def test_a_range_decides_as_the_strictest_of_its_ages(engine: youthmode.Engine, seed: int) -> None:
    rng = random.Random(seed)
    request = random_request(rng)
    lower = rng.choice([None, *range(0, 20)])
    upper = None if rng.random() < 0.25 else (lower or 0) + rng.randrange(0, 6)
    if lower is None and upper is None:  # no bound: no age at all (tested below)
        upper = rng.randrange(0, 18)
    ranged = engine.decide(with_range(request, lower, upper))
    alone = [engine.decide(with_age(request, age)) for age in ages_of(lower, upper)]
    assert ranged.allowed == all(d.allowed for d in alone)
    assert ranged.band == alone[0].band
    united: list[str] = []
    for d in alone:
        united += [r.rule for r in d.reasons if r.rule not in united]
    assert sorted(r.rule for r in ranged.reasons) == sorted(united)
    assert ranged.facts.age_range == {
        "lower": lower or 0,
        "upper": upper,
        "source": SOURCE,
        "method": "gov_id",
    }
    assert ranged.facts.age == ((lower or 0) if upper == (lower or 0) else None)
    if ranged.allowed:
        left = [d.remaining_seconds for d in alone if d.remaining_seconds is not None]
        assert ranged.remaining_seconds == (min(left) if left else None)
        return
    firsts = [d.next_allowed_at for d in alone if not d.allowed]
    if ranged.next_allowed_at is not None:
        assert all(f is not None and f <= ranged.next_allowed_at for f in firsts)
    proofs = [r for r in ranged.remedies if r.type == "verify_age"]
    if not alone[0].allowed and any(d.allowed for d in alone):
        least = min(a for a, d in zip(ages_of(lower, upper), alone, strict=True) if d.allowed)
        assert [p.at_least for p in proofs] == [least]
    else:
        assert proofs == []


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    lower=st.integers(0, 20),
    width=st.integers(0, 4),
    below=st.integers(0, 3),
    above=st.integers(0, 3),
)
def test_widening_a_range_never_turns_a_deny_into_an_allow(
    engine: youthmode.Engine, seed: int, lower: int, width: int, below: int, above: int
) -> None:
    request = random_request(random.Random(seed))
    narrow = engine.decide(with_range(request, lower, lower + width))
    wide = engine.decide(with_range(request, max(0, lower - below), lower + width + above))
    if not narrow.allowed:
        assert not wide.allowed
    if wide.allowed and narrow.remaining_seconds is not None:
        assert wide.remaining_seconds is not None
        assert wide.remaining_seconds <= narrow.remaining_seconds


def test_an_exact_age_decides_as_it_always_has(engine: youthmode.Engine) -> None:
    for seed in range(200):
        request = random_request(random.Random(seed))
        assert engine.decide(request).model_dump(exclude={"decision_id"}) == engine.decide(
            request
        ).model_dump(exclude={"decision_id"})
        single = with_range(request, 14, 14)
        aged = with_age(request, 14)
        got, want = engine.decide(single), engine.decide(aged)
        assert (got.effect, got.reason_codes, got.remaining_seconds, got.next_allowed_at) == (
            want.effect,
            want.reason_codes,
            want.remaining_seconds,
            want.next_allowed_at,
        )
        assert got.facts.age == 14 and got.facts.age_range is not None


def test_the_youngest_category_wins_over_an_older_exact_age(engine: youthmode.Engine) -> None:
    request = {
        "subject": {
            "age": 30,
            "verified": True,
            "age_signals": [
                {"source": "play", "lower": 13, "upper": 15, "method": "self_declared"}
            ],
        },
        "action": "game.play",
        "at": "2026-11-24T10:00:00+08:00",
    }
    decision = engine.decide(request)
    assert not decision.allowed and decision.band == "12-16"
    assert decision.reason_codes == ["outside_allowed_window"]
    assert decision.facts.age is None
    assert decision.facts.age_range == {
        "lower": 13,
        "upper": 15,
        "source": "play",
        "method": "self_declared",
    }


def test_a_signal_without_bounds_never_means_adult(engine: youthmode.Engine) -> None:
    request = {
        "subject": {"verified": True, "age_signals": [{"source": "play", "method": "estimation"}]},
        "action": "game.play",
        "at": "2026-11-24T10:00:00+08:00",
    }
    decision = engine.decide(request)
    assert decision.band == "unknown" and not decision.allowed


def test_an_open_range_is_asked_to_prove_adulthood(engine: youthmode.Engine) -> None:
    request = {
        "subject": {
            "verified": True,
            "age_signals": [{"source": "apple", "lower": 16, "upper": None, "method": "payment"}],
        },
        "action": "livestream.host",
        "at": "2026-11-24T10:00:00+08:00",
    }
    decision = engine.decide(request)
    assert decision.reason_codes == ["guardian_consent_required"]
    assert [r.model_dump(exclude_none=True) for r in decision.remedies] == [
        {"type": "verify_age", "at_least": 18},
        {"type": "guardian_consent", "action": "livestream.host"},
    ]


def test_explain_traces_every_age(engine: youthmode.Engine) -> None:
    request = {
        "subject": {
            "verified": True,
            "age_signals": [{"source": "apple", "lower": 15, "upper": 16, "method": "gov_id"}],
        },
        "action": "app.use",
        "at": "2026-11-24T10:00:00+08:00",
        "usage": {"today_seconds": 4000},
    }
    explained = engine.explain(request)
    assert explained.decision.reason_codes == ["daily_limit"]
    budgets = [t for t in explained.trace if t.code == "daily_limit" and t.applies]
    assert [t.detail.split(":")[0] for t in budgets] == ["age 15", "age 16"]
    assert [t.outcome for t in budgets] == ["deny", "pass"]


def test_with_age_is_replace_with_the_age_and_no_birthdate(engine: youthmode.Engine) -> None:
    import dataclasses
    from datetime import UTC, datetime

    from youthmode.facts import with_age
    from youthmode.request import read

    for seed in range(50):
        request = random_request(random.Random(seed))
        facts = read(request, engine.policies, engine.default_policy, datetime.now(UTC))[2]
        for age in (None, 0, 17):
            assert with_age(facts, age) == dataclasses.replace(
                facts, declared_age=age, birthdate=None
            )
