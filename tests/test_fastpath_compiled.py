"""The fast path's compiled set-up and walk (youthmode/_fastpath.c) held to their Python twins.

The set-up is held to `fastpath._prepare`:
`fastpath._prepare`: the same day and schedule (the memos' own objects) and a `Moment` equal
slot for slot, on the hard requests of test_fastpath.py (every pack, zones with daylight
saving, birthdays, guardians' waivers); None wherever the Python set-up gives None. It may
also decline what is not memoised yet, and the Python set-up then fills the memo. The walk is
held to `Walk.first`: the same instant, None or GiveUp, from the same start, both ways.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from leaks import blocks_kept
from random_requests import random_request
from test_fastpath import CONFIGS, NOW, SETTINGS, ZONES, engines, requests, shape

import youthmode
from youthmode import compiled, fastpath
from youthmode.decision import _guardian_facts
from youthmode.errors import RequestError
from youthmode.facts import ZERO, Day, Moment, RequestFacts
from youthmode.model import Facts
from youthmode.policies import CompiledPolicy
from youthmode.request import read
from youthmode.schedule import GiveUp, Schedule, Walk
from youthmode.timeline import NEXT_ALLOWED_HORIZON, REMAINING_HORIZON

pytestmark = pytest.mark.skipif(
    fastpath.compiled_prepare is None, reason="YOUTHMODE_PURE is set: the Python path"
)
__all__ = ["engines"]  # the fixture, shared with test_fastpath.py


def prepared_alike(engine: youthmode.Engine, request: dict[str, Any]) -> bool:
    """Both set-ups alike for ``request``; True when the compiled one answered."""
    assert fastpath.compiled_prepare is not None
    try:
        policy, at, req = read(request, engine.policies, engine.default_policy, NOW)
    except RequestError:
        return False
    theirs = fastpath._prepare(policy, req, at)  # fills the memos the compiled set-up reads
    mine = fastpath.compiled_prepare(policy, req, at)
    if theirs is None:
        assert mine is None, request
        return False
    assert mine is not None, f"declined what is memoised: {request}"
    assert mine[0] is theirs[0] and mine[1] is theirs[1]
    for slot in Moment.__slots__:
        a, b = getattr(mine[2], slot), getattr(theirs[2], slot)
        assert type(a) is type(b) and a == b and repr(a) == repr(b), (slot, a, b, request)
    return True


@SETTINGS
@given(data=st.data())
def test_the_compiled_set_up_is_the_python_one(
    engines: tuple[youthmode.Engine, ...], data: st.DataObject
) -> None:
    prepared_alike(engines[0], data.draw(requests(tuple(ZONES))))


def test_it_prepares_what_integrations_send() -> None:
    engine = youthmode.Engine.from_path(CONFIGS, clock=lambda: NOW)
    request = {"subject": {"birthdate": "2014-05-04"}, "action": "game.play"}
    policy, at, req = read(request, engine.policies, engine.default_policy, NOW)
    assert fastpath.compiled_prepare is not None
    assert fastpath.compiled_prepare(policy, req, at) is None  # nothing memoised yet
    assert prepared_alike(engine, request)
    assert fastpath.compiled_prepare(policy, req, at) is not None
    at = datetime(2026, 6, 1, 12, tzinfo=policy.zone)  # a new day: declined until memoised
    assert fastpath.compiled_prepare(policy, req, at) is None


def test_a_slots_class_it_does_not_know_is_refused_and_changes_nothing() -> None:
    module = compiled.load("_fastpath")
    assert module is not None

    class Shorter:
        __slots__ = ("ts",)

    config = {
        "policy": CompiledPolicy,
        "day": Day,
        "facts": RequestFacts,
        "moment": Shorter,
        "walk": Walk,
        "schedule": Schedule,
        "unknown_band": "unknown",
        "no_schedule": None,
        "give_up": GiveUp,
        "zero": ZERO,
        "facts_model": Facts,
        "facts_set": fastpath.FACTS_SET,
        "facts_fields": tuple(Facts.model_fields),
        "model_builder": fastpath._model,
        "guardian_facts": _guardian_facts,
    }
    with pytest.raises(TypeError, match="slot"):
        module.configure(config)
    with pytest.raises(TypeError):
        module.configure({"day": Day})
    with pytest.raises(TypeError, match="field 0"):  # Facts's fields in another order
        fields = tuple(reversed(Facts.model_fields))
        module.configure({**config, "moment": Moment, "facts_fields": fields})
    # refused, so nothing changed: the module in use still prepares as before
    engine = youthmode.Engine.from_path(CONFIGS, clock=lambda: NOW)
    request = {"subject": {"age": 12}, "action": "app.use"}
    assert prepared_alike(engine, request)


def walked_alike(engine: youthmode.Engine, request: dict[str, Any]) -> int:
    """The compiled walk and `Walk.first` from the same start, both ways (allowed and, in
    use, denied); how many of the two walks found an instant."""
    try:
        policy, at, req = read(request, engine.policies, engine.default_policy, NOW)
    except RequestError:
        return 0
    prepared = fastpath._prepare(policy, req, at)
    if prepared is None or req.extra_seconds:
        return 0
    day, schedule, m = prepared
    denials = [e for e in schedule.entries if e[0].denies(m, req)]
    stands = any(e[0].timeless for e in denials)
    found = 0
    for want_allowed, horizon in ((True, NEXT_ALLOWED_HORIZON), (False, REMAINING_HORIZON)):
        answers = []
        for first in (fastpath.walk_first, Walk.first):
            walk = Walk(policy, req, m, schedule, stands)  # its own memo of ages and days
            try:
                answers.append(first(walk, day, m.ts, schedule, stands, want_allowed, horizon))
            except GiveUp:
                answers.append("give up")
        assert answers[0] == answers[1], (want_allowed, request)
        found += isinstance(answers[0], int)
    return found


@SETTINGS
@given(data=st.data())
def test_the_compiled_walk_is_walk_first(
    engines: tuple[youthmode.Engine, ...], data: st.DataObject
) -> None:
    walked_alike(engines[0], data.draw(requests(tuple(ZONES))))


def test_the_compiled_walk_finds_instants_on_the_random_workload() -> None:
    engine = youthmode.Engine.from_path(CONFIGS, clock=lambda: NOW)
    rng = random.Random(4)
    found = sum(walked_alike(engine, random_request(rng)) for _ in range(1500))
    assert found > 1000  # of 3,000 walks: what is compared is not all None


def test_a_call_that_is_not_a_walk_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        fastpath.walk_first(None, None, 0, None, False, True, 0)  # type: ignore[arg-type]


@SETTINGS
@given(data=st.data())
def test_the_compiled_facts_are_the_python_ones(
    engines: tuple[youthmode.Engine, ...], data: st.DataObject
) -> None:
    engine = engines[0]
    request = data.draw(requests(tuple(ZONES)))
    try:
        policy, at, req = read(request, engine.policies, engine.default_policy, NOW)
    except RequestError:
        return
    prepared = fastpath._prepare(policy, req, at)
    if prepared is None:
        return
    day, schedule, m = prepared
    mine = fastpath.facts_of(policy, req, schedule, day, m, at)
    theirs = fastpath._facts(policy, req, schedule, day, m, at)
    assert shape(mine) == shape(theirs), request  # fields, their order, types, what is set
    assert mine.model_dump_json() == theirs.model_dump_json()


@SETTINGS
@given(
    pid=st.sampled_from(("cn-baseline", "kr", "us-ca", "uk-aadc")),  # next_day, on_birthday
    birth=st.one_of(
        st.dates(date(1990, 1, 1), date(2025, 12, 31)),
        st.sampled_from((date(2012, 2, 29), date(2008, 12, 31), date(2010, 1, 1))),
    ),
    shift=st.integers(-3, 3),
    years=st.sampled_from((0, 1, 7, 8, 11, 12, 13, 15, 16, 17, 18)),
    clock=st.sampled_from(("00:00:00", "05:59:59", "12:00:00", "21:59:59", "23:59:59")),
    action=st.sampled_from(("app.use", "content.view", "game.purchase", "dm.send")),
    min_age=st.sampled_from((8, 12, 13, 16, 18)),
)
def test_the_compiled_walk_crosses_birthdays_on_both_rollovers(
    engines: tuple[youthmode.Engine, ...],
    pid: str,
    birth: date,
    shift: int,
    years: int,
    clock: str,
    action: str,
    min_age: int,
) -> None:
    """The compiled walk's own next birthday, next day and new age (`Walk._next_birthday`,
    `_day_of`, `age_on`, `schedule`, `_timeless` from the memos) on the days around a
    birthday, 29 February and 31 December births included."""
    engine = engines[0]
    on = birth + timedelta(days=shift)
    on = on.replace(year=min(on.year + years, 2099)) if (on.month, on.day) != (2, 29) else on
    if action not in engine.policies[pid].actions:
        return
    request = {
        "policy": pid,
        "action": action,
        "at": f"{on.isoformat()}T{clock}+09:00",
        "subject": {"birthdate": birth.isoformat(), "verified": True},
        "resource": {"amount": "1.00", "min_age": min_age},  # a content age lifts at a birthday
    }
    walked_alike(engine, request)


def test_a_reloaded_policy_of_the_same_id_is_read_afresh(tmp_path: Path) -> None:
    """The set-up reads a policy's attributes once per policy object (a table kept with a
    strong reference): two cn-baselines that differ in zone, rollover and exempt categories,
    each loaded anew every round and alternating, answer as the Python set-up and facts."""
    text = (CONFIGS / "cn-baseline.toml").read_text(encoding="utf-8")
    other = text.replace('"Asia/Shanghai"', '"America/New_York"', 1)
    other = other.replace('age_rollover = "next_day"', 'age_rollover = "on_birthday"', 1)
    other = other.replace('["system_core", ', "[", 1)
    assert other.count("New_York") == 1 and "on_birthday" in other and other != text
    for name, pack in (("a", text), ("b", other)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "cn-baseline.toml").write_text(pack, encoding="utf-8")
    request = {
        "action": "app.use",
        "at": "2026-03-02T23:30:00+08:00",
        "resource": {"category": "system_core"},
        "subject": {"birthdate": "2014-03-03"},
    }
    zones = set()
    for _ in range(3):
        for name in ("a", "b", "a"):
            engine = youthmode.Engine.from_path(tmp_path / name, clock=lambda: NOW)
            policy, at, req = read(request, engine.policies, engine.default_policy, NOW)
            assert fastpath.compiled_prepare is not None
            assert fastpath.compiled_prepare(policy, req, at) is None  # a new, empty memo
            assert prepared_alike(engine, request)
            day, schedule, m = fastpath._prepare(policy, req, at) or pytest.fail("declined")
            mine = fastpath.facts_of(policy, req, schedule, day, m, at)
            theirs = fastpath._facts(policy, req, schedule, day, m, at)
            assert mine.model_dump_json() == theirs.model_dump_json()
            zones.add(mine.timezone)
    assert zones == {"Asia/Shanghai", "America/New_York"}


def test_more_policies_than_it_keeps_tables_for_alternate(
    engines: tuple[youthmode.Engine, ...],
) -> None:
    """More policies with a schedule than the tables it keeps (8): each is evicted in turn."""
    engine = engines[0]
    answered = set()
    for _ in range(3):
        for pid, policy in engine.policies.items():
            for action in sorted(policy.actions):
                request = {"policy": pid, "action": action, "subject": {"age": 16}}
                if prepared_alike(engine, request):  # some have no schedule: declined
                    answered.add(pid)
    assert len(answered) > 8


def test_the_policy_tables_leak_nothing() -> None:
    engine = youthmode.Engine.from_path(CONFIGS, clock=lambda: NOW)
    requests = [
        {"policy": pid, "action": sorted(p.actions)[0], "subject": {"age": age}}
        for pid, p in engine.policies.items()
        for age in (7, 12, 16)
    ]

    def run() -> None:
        for request in requests:
            prepared_alike(engine, request)

    assert blocks_kept(run, 5) < 200
