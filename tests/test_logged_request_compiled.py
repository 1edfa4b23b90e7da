"""The compiled logged request (youthmode/_logged_request.c), held to the Python function.

Whatever it reads, it must give the dict `_plain` gives: the same keys in the same order (the
log line is written in that order), the same values of the same types. It may decline, but not
the bodies integrations send; and it must not leak on any outcome.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from leaks import blocks_kept
from random_requests import random_request
from test_decision_log_plain import CASES, NOT_PLAIN
from test_request import ODD_VALUES, PATHS, SETTINGS, perturbed, with_value

from youthmode import compiled
from youthmode.server import logged_request
from youthmode.server.logged_request import _NotPlain, _plain

pytestmark = pytest.mark.skipif(
    logged_request.compiled_plain is None, reason="YOUTHMODE_PURE is set: the Python path"
)


def python_plain(body: Any) -> dict[str, Any] | None:
    try:
        return _plain(body)
    except _NotPlain:
        return None


def same(body: Any) -> bool:
    """Whether the compiled function read ``body``; if it did, exactly as Python does."""
    assert logged_request.compiled_plain is not None
    mine = logged_request.compiled_plain(copy.deepcopy(body))
    if mine is None:
        return False
    theirs = python_plain(copy.deepcopy(body))
    assert theirs is not None, f"read what the Python function declines: {body}"
    assert repr(mine) == repr(theirs), body  # keys, order, values and their types
    assert [list(v) if isinstance(v, dict) else v for v in mine.values()] == [
        list(v) if isinstance(v, dict) else v for v in theirs.values()
    ]
    return True


def test_it_is_built_and_current() -> None:
    module = compiled.load("_logged_request")
    assert module is not None and logged_request.compiled_plain is module.plain


@pytest.mark.parametrize("body", [*CASES, *NOT_PLAIN], ids=range(len(CASES) + len(NOT_PLAIN)))
def test_the_plain_log_cases(body: Any) -> None:
    same(body)


@SETTINGS
@given(seed=st.integers(min_value=0, max_value=2**32), changes=st.integers(0, 3))
def test_perturbed_requests(seed: int, changes: int) -> None:
    rng = random.Random(seed)
    same(perturbed(rng, random_request(rng), changes))


@SETTINGS
@given(
    path=st.sampled_from(PATHS),
    value=st.one_of(
        st.sampled_from(ODD_VALUES),
        st.text(max_size=20),
        st.integers(),
        st.from_regex(r"0{0,2}\d{1,13}(\.\d{0,5})?", fullmatch=True),
        st.lists(st.one_of(st.text(max_size=5), st.integers()), max_size=3),
    ),
)
def test_one_odd_value_anywhere(path: tuple[str, ...], value: Any) -> None:
    same(with_value(path, value))


def test_it_reads_what_integrations_send() -> None:
    rng = random.Random(5)
    taken = 0
    for _ in range(2000):
        body = random_request(rng)
        if rng.random() < 0.3:
            body["guardian"] = {"curfew": ["21:00", "07:00"], "more_curfews": [["12:00", "13:00"]]}
        if rng.random() < 0.3:
            body.setdefault("resource", {})["rating"] = rng.choice(("teen", 3, True))
        if python_plain(body) is not None:
            assert same(body), f"declined a plain body: {body}"
            taken += 1
    assert taken > 1500


def test_no_reference_is_leaked() -> None:
    rng = random.Random(9)
    bodies = [perturbed(rng, random_request(rng), rng.randrange(4)) for _ in range(300)]
    plain = logged_request.compiled_plain
    assert plain is not None

    def run() -> None:
        for body in bodies:
            plain(body)

    assert blocks_kept(run, 30) < 500
