"""The "serving users in several countries" examples (README, docs/world.md) against the shipped
packs and configs/examples/acme-global.toml: what the docs say is what the engine answers."""

from __future__ import annotations

from typing import Any

import pytest

import youthmode


@pytest.fixture(scope="module")
def engine(world_engine: youthmode.Engine) -> youthmode.Engine:
    return world_engine


def decide(engine: youthmode.Engine, **request: Any) -> Any:
    return engine.decide({"policy": "acme-global", **request})


def test_vietnam_per_game_and_all_games_limits(engine: youthmode.Engine) -> None:
    ask: dict[str, Any] = {
        "subject": {"id": "u-vn-7", "age": 12, "verified": True, "jurisdiction": "VN"},
        "action": "game.play",
        "at": "2026-12-01T10:00:00+07:00",
        "usage": {"today_seconds": 9000, "app_today_seconds": 3000},
        "resource": {"app": "com.acme.racer"},
    }
    decision = decide(engine, **ask)
    assert decision.allowed and decision.remaining_seconds == 600
    assert [p.id for p in decision.policies] == ["acme-global", "vn-decree-147"]
    ask["usage"] = {"today_seconds": 9000, "app_today_seconds": 3600}
    denied = decide(engine, **ask)
    assert denied.reason_codes == ["app_daily_limit"]
    assert denied.reasons[0].rule.startswith("vn-decree-147/")


def test_brazil_self_declared_is_not_enough_for_loot_boxes(engine: youthmode.Engine) -> None:
    decision = decide(
        engine,
        subject={
            "id": "u-br-3",
            "jurisdiction": "BR",
            "age_signals": [
                {"source": "signup_form", "lower": 19, "upper": None, "method": "self_declared"}
            ],
        },
        action="lootbox.purchase",
        at="2026-12-01T10:00:00-03:00",
        resource={"app": "com.acme.racer", "amount": "9.90", "currency": "USD"},
    )
    assert not decision.allowed
    assert "age_assurance_required" in decision.reason_codes
    assert decision.next_allowed_at is None
    assert any(r.type == "verify_age" for r in decision.remedies)


def test_texas_the_youngest_category_and_the_parents_consent(engine: youthmode.Engine) -> None:
    ask: dict[str, Any] = {
        "subject": {
            "id": "u-42",
            "jurisdiction": "US-TX",
            "age_signals": [
                {"source": "apple_declared_age_range", "lower": 13, "upper": 15,
                 "method": "guardian_declared", "observed_at": "2026-11-20T08:00:00Z"},
                {"source": "self_declared", "lower": 19, "upper": None,
                 "method": "self_declared"},
            ],
        },
        "action": "game.purchase",
        "at": "2026-12-01T10:00:00-06:00",
        "guardian": {"app_consent": "approved", "linked": True, "consents": ["game.purchase"]},
        "resource": {"app": "com.acme.racer", "amount": "4.99", "currency": "USD"},
    }  # fmt: skip
    decision = decide(engine, **ask)
    assert decision.allowed, decision.reasons
    assert decision.facts.age is None
    assert decision.facts.age_range == {
        "lower": 13, "upper": 15, "source": "apple_declared_age_range",
        "method": "guardian_declared",
    }  # fmt: skip
    revoked = decide(
        engine, **ask | {"guardian": {"app_consent": "revoked", "consents": ["game.purchase"]}}
    )
    assert revoked.reason_codes == ["consent_revoked"]
    no_purchase_consent = decide(engine, **ask | {"guardian": {"app_consent": "approved"}})
    assert no_purchase_consent.reason_codes == ["guardian_consent_required"]
    unknown = decide(engine, **ask | {"subject": {"id": "u-42", "jurisdiction": "US-TX"}})
    assert "age_assurance_required" in unknown.reason_codes


def test_australia_guardian_declared_does_not_count(engine: youthmode.Engine) -> None:
    signal = {"source": "apple_declared_age_range", "lower": 16, "upper": 17,
              "method": "guardian_declared"}  # fmt: skip
    ask: dict[str, Any] = {
        "subject": {"id": "u-au-9", "jurisdiction": "AU", "age_signals": [signal]},
        "action": "app.use",
        "at": "2026-12-01T10:00:00+11:00",
    }
    decision = decide(engine, **ask)
    assert decision.reason_codes == ["age_assurance_required"]
    proof = [r for r in decision.remedies if r.type == "verify_age"]
    assert proof and proof[0].at_least == 16 and "self_declared" not in (proof[0].methods or [])
    estimated = dict(signal, method="estimation")
    assert decide(
        engine, **ask | {"subject": {"jurisdiction": "AU", "age_signals": [estimated]}}
    ).allowed
    young = dict(signal, method="gov_id", lower=14, upper=15)
    under = decide(engine, **ask | {"subject": {"jurisdiction": "AU", "age_signals": [young]}})
    assert under.reason_codes == ["minimum_age"]


def test_china_floor_is_the_baseline(engine: youthmode.Engine) -> None:
    decision = decide(
        engine,
        subject={"age": 12, "verified": True, "jurisdiction": "CN"},
        action="game.play",
        at="2026-11-24T20:30:00+08:00",  # a Tuesday: outside the game window
    )
    assert decision.reason_codes == ["outside_allowed_window"]
    assert decision.next_allowed_at is not None
    # The same instant as cn-baseline's Friday 20:00, written in acme-global's zone (UTC).
    assert decision.next_allowed_at.isoformat() == "2026-11-27T12:00:00+00:00"
