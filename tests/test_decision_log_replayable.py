"""What the decision log keeps so that a decision can be replayed (issue 14): the age on the
day instead of a birthdate, also when an age signal won; and every floor pack that decided."""

from __future__ import annotations

from typing import Any

import orjson
from conftest import CONFIGS

import youthmode
from youthmode.server.decision_log import DecisionLog

ENGINE = youthmode.Engine.from_path(CONFIGS, CONFIGS / "examples")
AT = "2026-11-27T20:30:00+08:00"
NARROWER = {"source": "apple", "lower": 13, "upper": 15, "method": "guardian_declared"}


def logged(request: dict[str, Any]) -> dict[str, Any]:
    log = DecisionLog("off", b"k" * 32)
    entry: dict[str, Any] = orjson.loads(
        log.record(ENGINE.parse(request), ENGINE.decide(request), 0.001)
    )
    return entry


def test_a_birthdate_becomes_the_age_the_engine_used() -> None:
    entry = logged({"subject": {"birthdate": "2014-03-02"}, "action": "app.use", "at": AT})
    assert entry["request"]["subject"] == {"verified": False, "age": 12}
    assert "2014-03-02" not in str(entry)


def test_a_birthdate_beaten_by_an_age_range_still_logs_its_age() -> None:
    # The 13-15 range wins over the birthdate's 17 (lowest upper bound): facts.age is null,
    # yet the log must keep the 17, never the date, for a replay under other rules.
    subject = {"birthdate": "2009-03-02", "age_signals": [NARROWER]}
    entry = logged({"policy": "cn-baseline", "subject": subject, "action": "app.use", "at": AT})
    assert entry["facts"]["age"] is None and entry["facts"]["age_range"]["upper"] == 15
    assert entry["request"]["subject"]["age"] == 17
    assert "birthdate" not in entry["request"]["subject"] and "2009-03-02" not in str(entry)


def test_on_the_anniversary_the_computed_age_is_the_younger() -> None:
    subject = {"birthdate": "2009-11-27", "age_signals": [NARROWER]}
    entry = logged({"policy": "cn-baseline", "subject": subject, "action": "app.use", "at": AT})
    assert entry["request"]["subject"]["age"] == 16  # cn-baseline: 17 from the next day


def test_floor_packs_are_logged_with_their_digests() -> None:
    request = {
        "policy": "acme-global",
        "subject": {"age": 12, "jurisdiction": "VN"},
        "action": "game.play",
        "at": AT,
    }
    entry = logged(request)
    packs = [p["id"] for p in entry["policies"]]
    assert packs == ["acme-global", "vn-decree-147"]
    assert all(p["digest"].startswith("sha256:") for p in entry["policies"])
    plain = logged({"subject": {"age": 12}, "action": "app.use", "at": AT, "policy": "cn-baseline"})
    assert "policies" not in plain  # only when floors applied, as in the response
