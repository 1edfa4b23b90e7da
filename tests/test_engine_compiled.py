"""The compiled routing of `Engine.decide` (youthmode/_engine.c), held to `Engine.decide_python`.

From the same random state it must give the same decision byte for byte, id included, or the
same error, on every route (plain, typed, degraded, a ledger outage, the pure path, a fast path
that declines or raises); it must decline before reading the clock or drawing an id when it
does not know the engine; its clock must be `datetime.now(UTC)`; and it must leak nothing.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from leaks import blocks_kept
from random_requests import random_request
from test_request import perturbed

import youthmode
from youthmode import compiled, request
from youthmode import engine as engine_module
from youthmode.errors import RequestError

compiled_only = pytest.mark.skipif(
    engine_module.decide_compiled is None,
    reason="YOUTHMODE_PURE is set: the Python path is asked for",
)
pytestmark = compiled_only
NOW = datetime(2026, 5, 4, 12, 30, 15, tzinfo=UTC)


@pytest.fixture(scope="module")
def engines() -> tuple[youthmode.Engine, youthmode.Engine]:
    from conftest import CONFIGS

    return (
        youthmode.Engine.from_path(CONFIGS, clock=lambda: NOW),
        youthmode.Engine.from_path(CONFIGS, clock=lambda: NOW, fast=False),
    )


@pytest.fixture
def configured() -> Iterator[Any]:
    """The stage, configured back as the engine module configured it after the test."""
    module = compiled.load("_engine")
    assert module is not None
    yield module
    engine_module._compiled_decide()


def outcome(decide: Any, data: Any, seed: int, **flags: bool) -> Any:
    engine_module._random.seed(seed)
    try:
        decision = decide(data, **flags)
    except RequestError as err:
        return "error", str(err)
    return decision.model_dump_json(), repr(decision)


def test_the_stage_is_built_current_and_used() -> None:
    module = compiled.load("_engine")
    assert module is not None and engine_module.decide_compiled is module.decide
    assert module.SOURCE_SHA256 == compiled.source_digest("_engine")


@pytest.mark.parametrize("flags", [{}, {"degraded": True}, {"store_unavailable": True}])
def test_every_route_decides_as_the_twin_from_the_same_random_state(
    engines: tuple[youthmode.Engine, ...], flags: dict[str, bool]
) -> None:
    rng = random.Random(7)
    for i in range(400):
        data: Any = perturbed(rng, random_request(rng), rng.randrange(3))
        if i % 7 == 0:
            data = request.parse(data) if outcome(request.parse, data, 0)[0] != "error" else data
        for engine in engines:
            mine = outcome(engine.decide, data, i, **flags)
            assert mine == outcome(engine.decide_python, data, i, **flags), data


def test_a_fast_path_that_declines_or_raises_ends_as_the_twin_ends(
    engines: tuple[youthmode.Engine, ...], configured: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Declined: the pure path's decision with the id already drawn; raised: the twin's
    fail-closed decision and log line (it meets the same error)."""
    calls: list[str] = []

    def declines(*args: Any) -> None:
        calls.append(args[3])

    def raises(*args: Any) -> None:
        raise RuntimeError("a bug")

    data = {"subject": {"age": 12}, "action": "app.use", "at": "2026-05-04T21:30:00+08:00"}
    for stand_in in (declines, raises):
        config = {**engine_module._engine_configuration(), "decide_fast": stand_in}
        configured.configure(config)
        real = engine_module.decide_fast
        engine_module.decide_fast = stand_in  # the twin's, and `_decided`'s
        try:
            mine = outcome(engines[0].decide, data, 3)
            assert mine == outcome(engines[0].decide_python, data, 3)
        finally:
            engine_module.decide_fast = real
    assert len(calls) == 2 and calls[0] == calls[1]  # once each, the same id: not asked again
    assert '"effect":"deny"' in mine[0] and "engine_error" in mine[0]
    assert caplog.text.count("engine error in decision") == 2


def test_it_declines_before_the_clock_or_an_id_when_it_does_not_know_the_engine(
    engines: tuple[youthmode.Engine, ...],
) -> None:
    reads: list[int] = []

    def clock() -> datetime:
        reads.append(1)
        return NOW

    class Routed(youthmode.Engine):
        pass

    assert engine_module.decide_compiled is not None
    data = {"subject": {"age": 12}, "action": "app.use"}
    routed = Routed(engines[0].policies.values(), clock=clock)
    odd = youthmode.Engine(engines[0].policies.values(), clock=clock)
    odd.fast = 1  # type: ignore[assignment]
    reads.clear()  # `loaded_at`
    state = engine_module._random.getstate()
    for engine, flags in ((routed, (False, False)), (odd, (False, False)), (routed, (1, 0))):
        given = (engine._clock, engine.policies, engine.default_policy, engine.fast)
        assert engine_module.decide_compiled(engine, data, *flags, *given) is None  # type: ignore[arg-type]
    assert reads == [] and engine_module._random.getstate() == state
    assert routed.decide(data).effect == odd.decide(data).effect == "allow"


def test_its_clock_is_datetime_now_utc(engines: tuple[youthmode.Engine, ...]) -> None:
    module = compiled.load("_engine")
    assert module is not None
    before = datetime.now(UTC)
    now = module.now()
    after = datetime.now(UTC)
    assert type(now) is datetime and now.tzinfo is UTC and before <= now <= after
    engine = youthmode.Engine(engines[0].policies.values())
    before = datetime.now(UTC).replace(microsecond=0)
    decision = engine.decide({"subject": {"age": 12}, "action": "app.use"})
    after = datetime.now(UTC)
    assert decision.facts.local_time.tzinfo is engine.policy().zone
    assert before <= decision.facts.local_time <= after
    millis = int(decision.decision_id.replace("-", "")[:12], 16)
    assert before.timestamp() * 1000 <= millis <= after.timestamp() * 1000


def test_errors_are_the_twins(engines: tuple[youthmode.Engine, ...]) -> None:
    def failing() -> datetime:
        raise OSError("no clock")

    engine = youthmode.Engine(engines[0].policies.values(), clock=lambda: NOW)
    engine._clock = failing  # after `loaded_at`
    with pytest.raises(OSError, match="no clock"):
        engine.decide({"subject": {"age": 12}, "action": "app.use"})
    with pytest.raises(RequestError, match="action"):
        engines[0].decide({"subject": {"age": 12}, "action": "no.such.action"})
    with pytest.raises(TypeError):
        engines[0].decide({"subject": {"age": 12}, "action": "app.use"}, bogus=True)  # type: ignore[call-arg]


def test_a_configuration_it_does_not_know_is_refused(configured: Any) -> None:
    with pytest.raises(TypeError, match="configure"):
        configured.configure({})
    with pytest.raises(TypeError, match="configure"):
        configured.configure({"system_clock": 1})
    right = engine_module._engine_configuration()
    with pytest.raises(TypeError, match="slot"):  # all else right, the facts' type wrong
        configured.configure({**right, "facts": dict})


def test_no_reference_is_leaked_on_any_outcome(
    engines: tuple[youthmode.Engine, ...], caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(11)
    requests = [perturbed(rng, random_request(rng), rng.randrange(3)) for _ in range(200)]
    requests += [{"action": 5}, {"subject": {"age": 12}, "action": "app.use"}]
    clocked = youthmode.Engine(engines[0].policies.values())

    def run() -> None:
        for data in requests:
            for engine in (*engines, clocked):
                for flags in ({}, {"store_unavailable": True}):
                    try:
                        engine.decide(data, **flags)
                    except RequestError:
                        pass

    caplog.set_level(logging.CRITICAL)
    assert blocks_kept(run, 5) < 500
