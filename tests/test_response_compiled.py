"""The compiled response objects (youthmode/_response.c) and the whole compiled engine, held to
the Python twins.

`model` must build what `fastpath._python_model` builds (the same class, `__dict__`, fields
set, extra and private slots), and `decision_id` the same id as `python_decision_id` from the
same random state, for any instant. And the engine with every compiled stage must give the
same decisions, byte for byte, and the same errors, as the engine run with YOUTHMODE_PURE=1
in another process.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from leaks import blocks_kept
from random_requests import random_request
from test_request import perturbed

from youthmode import compiled, engine, fastpath
from youthmode.model import Decision, Facts, PolicyRef, Remedy

pytestmark = pytest.mark.skipif(
    compiled.load("_response") is None, reason="YOUTHMODE_PURE is set: the Python path"
)
UUID7 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
HERE = Path(__file__).resolve().parent


def test_the_compiled_twins_are_in_use() -> None:
    assert fastpath._model is not fastpath._python_model
    assert engine.new_decision_id is not engine.python_decision_id


@settings(max_examples=300, deadline=None)
@given(
    at=st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    ),
    offset=st.integers(-14 * 60, 14 * 60),
    seed=st.integers(0, 2**64),
)
def test_the_same_id_from_the_same_random_state(at: datetime, offset: int, seed: int) -> None:
    now = at.astimezone(timezone(timedelta(minutes=offset)))
    engine._random.seed(seed)
    mine = [engine.new_decision_id(now) for _ in range(3)]
    engine._random.seed(seed)
    theirs = [engine.python_decision_id(now) for _ in range(3)]
    assert mine == theirs
    if now.year >= 1970:
        assert all(UUID7.fullmatch(i) for i in mine)


@settings(max_examples=500, deadline=None)
@given(
    at=st.one_of(
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
        st.datetimes(min_value=datetime(2250, 1, 1), max_value=datetime(2260, 12, 31)),
    ),
    seed=st.integers(0, 2**64),
)
def test_the_same_id_for_an_instant_in_utc(at: datetime, seed: int) -> None:
    """`now` in UTC (what the system clock gives): the compiled id counts the microseconds
    itself, and must land on the same float `timestamp()` gives, past 2**53 microseconds
    (the year 2255) included, where it leaves the count to `timestamp()`."""
    now = at.replace(tzinfo=UTC)
    engine._random.seed(seed)
    try:
        mine = engine.new_decision_id(now)
    except OverflowError:
        mine = "overflow"
    engine._random.seed(seed)
    try:
        theirs = engine.python_decision_id(now)
    except OverflowError:
        theirs = "overflow"
    assert mine == theirs


def model_cases() -> list[tuple[type[Any], dict[str, Any], frozenset[str]]]:
    ref = {"id": "cn-baseline", "version": "1", "digest": "sha256:0"}
    wait = {**fastpath.WAIT, "until": datetime(2026, 5, 4, 8, tzinfo=UTC)}
    facts = dict.fromkeys(Facts.model_fields) | {
        "local_time": datetime(2026, 5, 4, 20, tzinfo=UTC),
        "timezone": "Asia/Shanghai",
        "day_type": "school_day",
        "calendar_official": True,
        "verified": True,
        "today_seconds": 10,
        "session_seconds": 0,
        "amount": Decimal("30.00"),
    }
    return [
        (PolicyRef, ref, frozenset(ref)),
        (Remedy, wait, fastpath.WAIT_SET),
        (Facts, facts, fastpath.FACTS_SET),
    ]


@pytest.mark.parametrize("case", model_cases(), ids=lambda c: c[0].__name__)
def test_a_model_is_built_as_the_python_twin_builds_it(case: Any) -> None:
    cls, fields, given_names = case
    mine = fastpath._model(cls, dict(fields), given_names)
    theirs = fastpath._python_model(cls, dict(fields), given_names)
    assert type(mine) is cls
    assert mine.__dict__ == theirs.__dict__ and list(mine.__dict__) == list(theirs.__dict__)
    assert mine.__pydantic_fields_set__ == theirs.__pydantic_fields_set__ == set(given_names)
    assert type(mine.__pydantic_fields_set__) is set
    assert mine.__pydantic_extra__ is None and mine.__pydantic_private__ is None
    assert mine.model_dump_json() == theirs.model_dump_json()
    assert mine == theirs
    assert cls.model_validate(mine.model_dump()) == mine


def test_the_model_keeps_the_dict_it_is_given() -> None:
    """As the Python twin does: the fast path builds each dict for its one model."""
    fields = {"id": "p", "version": "1", "digest": "d"}
    assert fastpath._model(PolicyRef, fields, frozenset(fields)).__dict__ is fields


@pytest.mark.parametrize(
    "args",
    [(dict, {}, frozenset()), (Decision, [], frozenset()), (PolicyRef, {}, 5), (PolicyRef,)],
)
def test_a_wrong_call_is_a_type_error_not_a_crash(args: tuple[Any, ...]) -> None:
    with pytest.raises(TypeError):
        fastpath._model(*args)


def test_no_reference_is_leaked() -> None:
    now = datetime(2026, 5, 4, tzinfo=UTC)
    cases = model_cases()

    def run() -> None:
        for _ in range(300):
            engine.new_decision_id(now)
            for cls, fields, names in cases:
                fastpath._model(cls, dict(fields), names)

    assert blocks_kept(run, 30) < 500


# -- the whole engine: compiled against YOUTHMODE_PURE=1 ----------------------------------------
DECIDE_ALL = """
import json, pickle, sys
from datetime import datetime, UTC
import youthmode
from youthmode import engine as E
from youthmode.errors import RequestError
E._random.seed(42)
NOW = datetime(2026, 5, 4, 12, 30, 15, 250000, tzinfo=UTC)
eng = youthmode.Engine.from_path(sys.argv[1], clock=lambda: NOW)
out = []
for data in pickle.load(sys.stdin.buffer):  # Decimals, tuples: odd values JSON lacks
    try:
        out.append(eng.decide(data).model_dump_json())
    except RequestError as err:
        out.append(repr(err.problems))
print(json.dumps(out))
"""


def decide_all(requests: list[Any], pure: bool) -> list[str]:
    from conftest import CONFIGS

    env = {**os.environ, "YOUTHMODE_PURE": "1" if pure else ""}
    done = subprocess.run(
        [sys.executable, "-c", DECIDE_ALL, str(CONFIGS)],
        input=pickle.dumps(requests),
        capture_output=True,
        env=env,
        check=True,
        cwd=HERE.parent,
    )
    answers: list[str] = json.loads(done.stdout)
    return answers


def test_the_compiled_engine_decides_as_the_pure_one_byte_for_byte() -> None:
    rng = random.Random(2026)
    requests = [random_request(rng) for _ in range(1500)]
    requests += [perturbed(rng, random_request(rng), rng.randrange(1, 4)) for _ in range(1500)]
    compiled_answers, pure_answers = decide_all(requests, False), decide_all(requests, True)
    assert len(compiled_answers) == len(requests)
    for request, mine, theirs in zip(requests, compiled_answers, pure_answers, strict=True):
        assert mine == theirs, request
    assert sum(a.startswith("{") for a in compiled_answers) > 1600  # decisions, with ids


def test_every_stage_setup_builds_is_one_compiled_knows() -> None:
    """setup.py cannot import the package: its list is held to compiled.STAGES here."""
    text = (HERE.parent / "setup.py").read_text(encoding="utf-8")
    built = re.search(r"for name in \(([^)]*)\)", text)
    assert built is not None
    assert tuple(re.findall(r'"(\w+)"', built.group(1))) == compiled.STAGES
    for name in compiled.STAGES:
        assert (HERE.parent / "youthmode" / f"{name}.c").is_file()
        assert compiled.load(name) is not None, f"{name} is not built or not current"
