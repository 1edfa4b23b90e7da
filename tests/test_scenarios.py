"""The scenario corpus: data-driven cases for every boundary CONTRACT section 3 names.

Each case in tests/scenarios/*.json is a request and the expected effect, reason codes, and
`remaining_seconds` (allow) or `next_allowed_at` (deny). The same corpus drives the HTTP tests
and the benchmarks.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import youthmode

SCENARIOS = Path(__file__).parent / "scenarios"


def load_cases() -> list[Any]:
    cases = []
    for path in sorted(SCENARIOS.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for case in data["cases"]:
            case["request"].setdefault("policy", data["policy"])
            cases.append(pytest.param(case, id=f"{path.stem}:{case['name']}"))
    return cases


CASES = load_cases()


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 100


@pytest.mark.parametrize("case", CASES)
def test_scenario(engine: youthmode.Engine, case: dict[str, Any]) -> None:
    expect = case["expect"]
    decision = engine.decide(case["request"])
    assert decision.effect == expect["effect"]
    assert decision.allowed == (expect["effect"] == "allow")
    assert decision.reason_codes == expect["reasons"]
    if "remaining_seconds" in expect:
        assert decision.remaining_seconds == expect["remaining_seconds"]
    if "next_allowed_at" in expect:
        want = expect["next_allowed_at"]
        got = decision.next_allowed_at
        assert (got is None) == (want is None)
        if want is not None:
            assert got == datetime.fromisoformat(want)
            assert got is not None and got.isoformat() == want
    if "band" in expect:
        assert decision.band == expect["band"]
    if "obligations" in expect:
        assert [o.type for o in decision.obligations] == expect["obligations"]
    if "remedies" in expect:
        got = [r.model_dump(mode="json", exclude_none=True) for r in decision.remedies]
        assert got == expect["remedies"]
    if decision.allowed:
        assert decision.next_allowed_at is None
    else:
        assert decision.remaining_seconds is None and decision.valid_until is None
