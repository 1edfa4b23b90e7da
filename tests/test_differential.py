"""The compiled engine against the small reference evaluator, on thousands of random requests.

The reference (tests/reference_cn.py) implements cn-baseline straight from CONTRACT section 3,
with its own calendar and a minute-by-minute scan for the timeline answers. Any difference is a
bug in one of them.
"""

from __future__ import annotations

import random

import pytest
from random_requests import random_request
from reference_cn import reference_decide

import youthmode


@pytest.mark.parametrize("seed", range(8))
def test_effect_and_reasons_match_reference(engine: youthmode.Engine, seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(500):
        request = random_request(rng)
        want = reference_decide(request, timeline=False)
        got = engine.decide(request)
        context = f"request={request}"
        assert got.effect == want.effect, context
        assert tuple(got.reason_codes) == want.reasons, context
        assert got.band == want.band, context
        if got.allowed:
            assert tuple(o.type for o in got.obligations) == want.obligations, context


@pytest.mark.parametrize("seed", range(4))
def test_timeline_matches_reference(engine: youthmode.Engine, seed: int) -> None:
    rng = random.Random(1000 + seed)
    for _ in range(40):
        request = random_request(rng)
        want = reference_decide(request)
        got = engine.decide(request)
        context = f"request={request}"
        assert got.remaining_seconds == want.remaining_seconds, context
        assert got.next_allowed_at == want.next_allowed_at, context
