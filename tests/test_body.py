"""Body parsing: orjson's quick reading (youthmode/server/body.py) against the exact one.

Whatever the quick reading returns must be what the standard decoder with Decimal fractions
returns, value and type alike; every body it declines goes the exact way, errors included.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from youthmode import compiled
from youthmode.server.body import (
    MAX_DEPTH,
    _parse_exactly,
    _plain_numbers,
    parse_json_bytes,
    plain_numbers,
)
from youthmode.server.problems import ApiProblem


def typed(value: Any) -> Any:
    """``value`` with every leaf's type made visible (1 and 1.0 and True differ)."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, str(value))


def outcome(read: Any, raw: bytes) -> Any:
    try:
        return ("ok", typed(read(raw)))
    except ApiProblem as err:
        return ("problem", err.status, str(err))


LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=20,
)


def plain_by_definition(value: Any, room: int) -> bool:
    """No float anywhere and no container below ``room`` levels: the definition, recursively."""
    if isinstance(value, dict | list):
        children = value.values() if isinstance(value, dict) else value
        return room > 0 and all(plain_by_definition(c, room - 1) for c in children)
    return type(value) is not float


DEEP = st.recursive(
    st.one_of(st.none(), st.integers(), st.floats(allow_nan=False), st.text(max_size=2)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=2), inner, max_size=3)
    ),
    max_leaves=40,
)


@settings(max_examples=1500, deadline=None)
@given(DEEP, st.integers(0, 6))
def test_the_level_by_level_check_is_the_definition(value: Any, room: int) -> None:
    assert _plain_numbers(value, room) == plain_by_definition(value, room)
    assert plain_numbers(value, room) == plain_by_definition(value, room)  # the compiled twin


def test_the_compiled_check_is_in_use_and_refuses_what_it_cannot_take() -> None:
    module = compiled.load("_body")
    assert module is not None and plain_numbers is module.plain_numbers
    with pytest.raises(TypeError):
        module.plain_numbers({}, 1.5)
    with pytest.raises(ValueError):
        module.plain_numbers({}, 65)  # deeper than any body may nest: never recursed into
    deep: Any = 1
    for _ in range(MAX_DEPTH + 5):
        deep = {"a": [deep]}
    assert not module.plain_numbers(deep, MAX_DEPTH)
    assert module.plain_numbers({"a": [1, "x", None, True, {"b": 2**80}]}, MAX_DEPTH)


@settings(max_examples=800, deadline=None)
@given(VALUES)
def test_the_quick_reading_is_the_exact_reading(value: Any) -> None:
    raw = json.dumps(value, default=str, ensure_ascii=False).encode("utf-8")
    assert outcome(parse_json_bytes, raw) == outcome(_parse_exactly, raw)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"amount": 30.10, "n": 1}',
        b'{"n": 123456789012345678901234567890}',
        b'{"n": 1' + b"0" * 45 + b"}",
        b'{"n": 1E+999999999}',
        b'{"s": "\\ud800"}',
        b'{"s": "\\ud83d\\ude00"}',
        b'{"s": "caf\xc3\xa9"}',
        b'{"a": 1, "a": 2}',
        b"\xef\xbb\xbf{}",
        '{"u": "ü"}'.encode("utf-16"),
        b"[" * MAX_DEPTH + b"]" * MAX_DEPTH,
        b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
        b'{"a": NaN}',
        b'{"a": 1,}',
        b"",
        b"\xff",
    ],
)
def test_edges_read_alike(raw: bytes) -> None:
    assert outcome(parse_json_bytes, raw) == outcome(_parse_exactly, raw)


def test_a_fraction_stays_exact() -> None:
    body = parse_json_bytes(b'{"resource": {"amount": 30.10}}')
    assert body["resource"]["amount"] == Decimal("30.10")
    assert str(body["resource"]["amount"]) == "30.10"
