"""The fast path's compiled verdicts and decision (youthmode/_verdicts.c) held to their Python
twins.

Each rule's verdict, judged from the spec the schedule keeps (schedule.verdict_spec), must be
the rule's own `denies` at any moment: the moments of the hard requests of test_fastpath.py
(every pack, zones with daylight saving, birthdays on either rollover, guardians' waivers and
settings) and those moments moved across the day, the day types, the counters and the money.
The whole decision, `verdict`, must be what `fastpath.decide_python` gives, field for field
and byte for byte in JSON, wherever it answers; `decide` is the same or, where declined, the
Python twin's own answer. The whole engine against YOUTHMODE_PURE=1 is in
test_response_compiled.py; here again on the benchmark's workload.
"""

from __future__ import annotations

import copy
import random
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from leaks import blocks_kept
from random_requests import random_request
from test_fastpath import CONFIGS, NOW, SETTINGS, ZONES, engines, requests, shape
from test_response_compiled import decide_all

import youthmode
from youthmode import compiled, fastpath
from youthmode.errors import RequestError
from youthmode.facts import Moment, RequestFacts
from youthmode.policies.rules import ForbidRule, VerifiedRule
from youthmode.request import read
from youthmode.schedule import ASK, FORBID, Schedule, Walk, due_spec, verdict_spec

MODULE = compiled.load("_verdicts")
pytestmark = pytest.mark.skipif(
    MODULE is None or fastpath.compiled_prepare is None,
    reason="YOUTHMODE_PURE is set: the Python path",
)
__all__ = ["engines"]  # the fixture, shared with test_fastpath.py
HERE = Path(__file__).resolve().parent
DAY_TYPES = ("workday", "weekend", "holiday", "makeup_workday", "school_day")
MONEY = ("0", "0.00", "49.99", "50.00", "50.01", "199.99", "200.00", "200.01", "400.00")


def test_the_compiled_decision_is_in_use() -> None:
    assert fastpath.decide_fast is not fastpath.decide_python
    assert MODULE is not None and fastpath.decide_fast is MODULE.decide


def prepared(engine: youthmode.Engine, request: dict[str, Any]) -> tuple[Any, ...] | None:
    try:
        policy, at, req = read(request, engine.policies, engine.default_policy, NOW)
    except RequestError:
        return None
    found = fastpath._prepare(policy, req, at)
    return None if found is None else (policy, at, req, *found)


def decided_alike(engine: youthmode.Engine, request: dict[str, Any]) -> bool:
    """`verdict`, `decide` and `decide_python` alike for ``request``; True when the compiled
    decision answered itself."""
    assert MODULE is not None
    try:
        policy, at, req = read(request, engine.policies, engine.default_policy, NOW)
    except RequestError:
        return False
    theirs = fastpath.decide_python(policy, req, at, "id")
    mine = MODULE.verdict(policy, req, at, "id")
    handed = MODULE.decide(policy, req, at, "id")
    if theirs is None:
        assert mine is None and handed is None, request
        return False
    assert handed is not None, request
    assert shape(handed) == shape(theirs), request
    assert handed.model_dump_json() == theirs.model_dump_json()
    if mine is None:
        return False
    assert shape(mine) == shape(theirs), request  # fields, their order, types, what is set
    assert mine.model_dump_json() == theirs.model_dump_json()
    return True


@SETTINGS
@given(data=st.data())
def test_the_compiled_decision_is_the_python_one(
    engines: tuple[youthmode.Engine, ...], data: st.DataObject
) -> None:
    decided_alike(engines[0], data.draw(requests(tuple(ZONES))))


def test_the_compiled_decision_answers_the_requests_integrations_send() -> None:
    engine = youthmode.Engine.from_path(CONFIGS, clock=lambda: NOW)
    rng = random.Random(5)
    batch = [random_request(rng) for _ in range(3000)]
    for request in batch:  # the Python set-up first fills the memos the compiled one reads
        prepared(engine, request)
    answered = sum(decided_alike(engine, r) for r in batch)
    assert answered >= 0.95 * len(batch)  # what is compared is the compiled decision


def moved(m: Moment, draw: st.DrawFn) -> Moment:
    """A copy of ``m`` elsewhere in time and use: another second of day, day type, day
    before, age, counters and spend (the day before unknown, sometimes, as `within` has it)."""
    out = copy.copy(m)
    out.sod = draw(st.one_of(st.integers(0, 86399), st.sampled_from((0, 21599, 21600, 79200))))
    weekday = draw(st.integers(0, 6))
    out.day_type = draw(st.sampled_from(DAY_TYPES))
    out.day_key = (weekday, out.day_type)
    out._previous = draw(
        st.one_of(st.none(), st.tuples(st.just((weekday - 1) % 7), st.sampled_from(DAY_TYPES)))
    )
    out.age = draw(st.one_of(st.none(), st.integers(0, 30)))
    out.today_seconds = draw(st.sampled_from((0, 1799, 1800, 3599, 3600, 3601, 7200, 86400)))
    out.day_spent = Decimal(draw(st.sampled_from(MONEY)))
    out.month_spent = Decimal(draw(st.sampled_from(MONEY)))
    return out


@SETTINGS
@given(data=st.data())
def test_each_compiled_verdict_is_the_rules_own(
    engines: tuple[youthmode.Engine, ...], data: st.DataObject
) -> None:
    assert MODULE is not None
    found = prepared(engines[0], data.draw(requests(tuple(ZONES))))
    if found is None:
        return
    _, _, req, _, schedule, m = found
    for at in (m, moved(m, data.draw), moved(m, data.draw)):
        for entry, spec in zip(schedule.entries, schedule.verdicts, strict=True):
            rule = entry[0]
            mine = MODULE.judge(spec, rule, at, req)
            assert mine is rule.denies(at, req), (rule, spec, at.sod, at.day_key)
            assert spec[1] is rule.timeless


@SETTINGS
@given(data=st.data(), ages=st.lists(st.one_of(st.none(), st.integers(0, 30)), max_size=4))
def test_a_new_ages_timeless_verdict_is_the_python_walks(
    engines: tuple[youthmode.Engine, ...], data: st.DataObject, ages: list[int | None]
) -> None:
    """`timeless`, what the compiled walk asks at a new age, is `Walk._timeless` wherever it
    answers (None: a rule it leaves to the Python walk)."""
    assert MODULE is not None
    found = prepared(engines[0], data.draw(requests(tuple(ZONES))))
    if found is None:
        return
    policy, _, req, day, schedule, m = found
    for age in (m.age, *ages):
        mine = MODULE.timeless(schedule, age, req)
        walk = Walk(policy, req, m, schedule, False)
        walk.timeless.clear()  # no memo: the Python walk judges
        theirs = walk._timeless(age, schedule, day, m.ts)
        assert mine is None or mine is theirs, (age, req)


def test_the_timeless_verdicts_of_the_workload_are_judged_in_c() -> None:
    assert MODULE is not None
    engine = youthmode.Engine.from_path(CONFIGS, clock=lambda: NOW)
    rng = random.Random(9)
    answered = total = 0
    for _ in range(1000):
        found = prepared(engine, random_request(rng))
        if found is not None:
            total += 1
            answered += MODULE.timeless(found[4], rng.randrange(0, 25), found[2]) is not None
    assert answered == total > 500


def test_every_kind_the_shipped_schedules_hold_is_judged_in_c(
    engines: tuple[youthmode.Engine, ...],
) -> None:
    """No rule the shipped packs put on the fast path is left to its Python `denies`."""
    rng = random.Random(6)
    asked = set()
    for _ in range(400):
        for pid in ZONES:
            request = random_request(rng) | {"policy": pid}
            request["action"] = rng.choice(sorted(engines[0].policies[pid].actions))
            found = prepared(engines[0], request)
            if found is not None:
                pairs = zip(found[4].entries, found[4].verdicts, strict=True)
                asked |= {e[0].kind for e, spec in pairs if spec[0] == ASK}
    assert asked == set()


@dataclass(frozen=True, slots=True)
class Contrary(ForbidRule):
    """A kind the C code does not know (a subclass may judge otherwise): it must be asked."""

    def denies(self, m: Moment, r: RequestFacts) -> bool:
        return r.verified


def test_a_kind_it_does_not_know_is_asked_never_guessed(
    engines: tuple[youthmode.Engine, ...],
) -> None:
    assert MODULE is not None
    found = prepared(engines[0], {"subject": {"age": 12, "verified": True}, "action": "app.use"})
    assert found is not None
    req, m = found[2], found[5]
    forbid = ForbidRule(*(getattr(found[4].entries[0][0], f) for f in COMMON))
    contrary = Contrary(*(getattr(forbid, f) for f in COMMON))
    assert verdict_spec(forbid)[0] == FORBID and verdict_spec(contrary)[0] == ASK
    assert MODULE.judge(verdict_spec(contrary), contrary, m, req) is True
    req.verified = False
    try:
        assert MODULE.judge(verdict_spec(contrary), contrary, m, req) is False
        assert MODULE.judge(verdict_spec(forbid), forbid, m, req) is True
        assert MODULE.judge((ASK, False), VerifiedRule(*(getattr(forbid, f) for f in COMMON)),
                            m, req) is True  # fmt: skip
    finally:
        req.verified = True
    assert due_spec(contrary) == (ASK, 0)


def test_a_replaced_denies_is_asked(
    engines: tuple[youthmode.Engine, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kind's `denies` replaced after the stage was configured (as a fault is injected) is
    what judges, not the compiled copy of the original."""
    assert MODULE is not None
    request = {"subject": {"age": 12, "verified": True}, "action": "livestream.host"}
    found = prepared(engines[0], request)
    assert found is not None
    req, schedule, m = found[2], found[4], found[5]
    entry, spec = next(
        (e, s) for e, s in zip(schedule.entries, schedule.verdicts, strict=True) if s[0] == FORBID
    )
    assert MODULE.judge(spec, entry[0], m, req) is True
    monkeypatch.setattr(ForbidRule, "denies", lambda self, m, r: False)
    assert MODULE.judge(spec, entry[0], m, req) is False


COMMON = ("id", "ref", "kind", "code", "waivable", "category_exemptions", "message",
          "message_en", "bands", "actions")  # fmt: skip


def test_a_configuration_it_does_not_know_is_refused_and_changes_nothing() -> None:
    assert MODULE is not None

    class Shorter:
        __slots__ = ("age",)

    with pytest.raises(TypeError, match="missing"):
        MODULE.configure({"moment": Moment})
    base = {name: None for name in GIVEN} | {"wait": {}, "give_up": ValueError}
    base |= {"moment": Moment, "facts": RequestFacts, "schedule": Schedule}
    with pytest.raises(TypeError, match="slot"):
        MODULE.configure(base | {"walk": Shorter})
    with pytest.raises(TypeError, match="fields"):
        MODULE.configure(base | {"walk": Walk, "decision_fields": ("effect",)})
    with pytest.raises(TypeError, match="numbered"):
        MODULE.configure(
            base | {"walk": Walk, "decision_fields": DECISION_FIELDS, "verdict_codes": (1, 0)}
        )
    engine = youthmode.Engine.from_path(CONFIGS, clock=lambda: NOW)
    request = {"subject": {"age": 12}, "action": "app.use"}
    prepared(engine, request)
    assert decided_alike(engine, request)  # refused, so the module in use decides as before


GIVEN = ("prepare", "first", "facts_of", "fallback", "obligations_due", "model_builder",
         "decision_model", "decision_set", "remedy_model", "wait", "wait_set", "give_up",
         "zero", "next_allowed_horizon", "remaining_horizon")  # fmt: skip
DECISION_FIELDS = tuple(youthmode.Decision.model_fields)


def test_what_is_not_a_request_of_the_fast_path_goes_to_the_python_twin() -> None:
    assert MODULE is not None
    engine = youthmode.Engine.from_path(CONFIGS, clock=lambda: NOW)
    policy = engine.policy()
    assert MODULE.verdict(policy, object(), NOW, "id") is None
    with pytest.raises(AttributeError):  # declined, so the twin meets it as it always has
        MODULE.decide(policy, object(), NOW, "id")
    with pytest.raises(TypeError):
        MODULE.decide(policy)


def test_no_reference_is_leaked() -> None:
    assert MODULE is not None
    engine = youthmode.Engine.from_path(CONFIGS, clock=lambda: NOW)
    rng = random.Random(8)
    reads = []
    for _ in range(200):
        try:
            reads.append(read(random_request(rng), engine.policies, engine.default_policy, NOW))
        except RequestError:
            pass

    def run() -> None:
        for policy, at, req in reads:
            MODULE.decide(policy, req, at, "id")

    run()
    assert blocks_kept(run, 20) < 500


def test_the_workload_of_the_benchmark_is_decided_as_the_pure_engine_decides() -> None:
    """benchmarks/workload.py's requests, through every stage and through YOUTHMODE_PURE=1."""
    sys.path.insert(0, str(HERE.parent / "benchmarks"))
    try:
        from workload import workload
    finally:
        sys.path.remove(str(HERE.parent / "benchmarks"))
    batch = workload(2000)
    mine, theirs = decide_all(batch, False), decide_all(batch, True)
    assert mine == theirs
    assert sum(a.startswith("{") for a in mine) == len(batch)


def test_a_pure_run_uses_the_python_twin() -> None:
    code = "from youthmode import fastpath as f; print(f.decide_fast is f.decide_python)"
    env = {"YOUTHMODE_PURE": "1", "PYTHONPATH": str(HERE.parent)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          check=True)  # fmt: skip
    assert done.stdout.strip() == "True"


def test_a_missing_or_stale_stage_leaves_the_python_twin(monkeypatch: pytest.MonkeyPatch) -> None:
    """compiled.load gives None for a stage not built, or built from other source: then
    decide_fast is decide_python, and the set-up's timeless verdicts are the Python walk's."""
    real = compiled.load
    monkeypatch.setattr(compiled, "load", lambda name: None if name == "_verdicts" else real(name))
    assert fastpath._compiled_decide() is fastpath.decide_python
    monkeypatch.setattr(compiled, "source_digest", lambda name: "0" * 64)  # every stage stale
    monkeypatch.setattr(compiled, "load", real)
    assert compiled.load("_verdicts") is None
    assert fastpath._compiled_decide() is fastpath.decide_python
