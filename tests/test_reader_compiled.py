"""The compiled request reader (youthmode/_reader.c), held to the Python plain route.

It may decline anything (the Python routes then read the request), but whatever it reads it
must read exactly as `read_plain` does: the same policy, the same local instant with the same
zone, and facts equal field by field in type, value and written form (``Decimal("0.00")`` is
not ``Decimal(0)`` in a response). It must actually take what integrations send, or the speed
it exists for is silently lost; a build older than its source must never be used; and it must
not leak a reference on any outcome.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import random
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from leaks import blocks_kept
from random_requests import random_request
from test_request import LIMITS, NOW, ODD_VALUES, PATHS, SETTINGS, perturbed, with_value

import youthmode
from youthmode import compiled, request
from youthmode.errors import RequestError
from youthmode.facts import RequestFacts
from youthmode.policies.compile import CompiledAction
from youthmode.request import read_plain

compiled_only = pytest.mark.skipif(
    request.read_compiled is None, reason="YOUTHMODE_PURE is set: the Python path is asked for"
)
pytestmark = compiled_only


@pytest.fixture(scope="module")
def engine() -> youthmode.Engine:
    from conftest import CONFIGS

    return youthmode.Engine.from_path(CONFIGS, clock=lambda: NOW)


def read_both(engine: youthmode.Engine, data: Any) -> tuple[Any, Any]:
    assert request.read_compiled is not None
    args = (engine.policies, engine.default_policy, NOW)
    return request.read_compiled(data, *args), read_plain(data, *args)


def assert_same_read(mine: Any, theirs: Any, data: Any) -> None:
    assert theirs is not None, f"the compiled reader took what the plain route declines: {data}"
    policy, at, facts = mine
    assert policy is theirs[0]
    assert at == theirs[1] and at.tzinfo is theirs[1].tzinfo and at.fold == theirs[1].fold
    assert type(at) is datetime and at.microsecond == 0
    assert type(facts) is RequestFacts
    for field in dataclasses.fields(RequestFacts):
        a, b = getattr(facts, field.name), getattr(theirs[2], field.name)
        assert type(a) is type(b) and a == b and repr(a) == repr(b), (field.name, a, b, data)


def test_the_compiled_reader_is_built_and_current() -> None:
    """`make test` builds it (pip install -e .); a test run on the Python path must say so."""
    module = compiled.load("_reader")
    assert module is not None and request.read_compiled is module.read
    assert module.SOURCE_SHA256 == compiled.source_digest("_reader")


@SETTINGS
@given(seed=st.integers(min_value=0, max_value=2**32), changes=st.integers(0, 3))
def test_whatever_it_reads_it_reads_as_the_plain_route(
    engine: youthmode.Engine, seed: int, changes: int
) -> None:
    rng = random.Random(seed)
    data = perturbed(rng, random_request(rng), changes)
    mine, theirs = read_both(engine, data)
    if mine is not None:
        assert_same_read(mine, theirs, data)


@SETTINGS
@given(
    path=st.sampled_from(PATHS),
    value=st.one_of(
        st.sampled_from(ODD_VALUES),
        st.text(max_size=30),
        st.integers(),
        st.from_regex(r"\d{1,13}(\.\d{0,5})?", fullmatch=True),
        st.from_regex(
            r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{0,8})?(Z|[+-]\d{2}:\d{2}))?", fullmatch=True
        ),
    ),
)
def test_one_odd_value_anywhere(
    engine: youthmode.Engine, path: tuple[str, ...], value: Any
) -> None:
    """Surrogates, non-ASCII digits, 13-digit amounts, dates that do not exist: declined or
    read alike, never an error of its own."""
    data = with_value(path, copy.deepcopy(value))
    mine, theirs = read_both(engine, data)
    if mine is not None:
        assert_same_read(mine, theirs, data)


def test_it_takes_what_integrations_send(engine: youthmode.Engine) -> None:
    """Every request of the random workload the plain route takes, it takes too: a string
    amount, a birthdate or an age, usage, a guardian's settings and curfews, a subject's zone."""
    rng = random.Random(7)
    taken = 0
    for _ in range(3000):
        data = random_request(rng)
        if rng.random() < 0.2:
            data["subject"]["timezone"] = rng.choice(("Asia/Shanghai", "America/New_York"))
        if rng.random() < 0.2:
            data["guardian"] = {"curfew": ["21:00", "07:00"], "consents": ["livestream.host"]}
        mine, theirs = read_both(engine, data)
        if theirs is not None:
            assert mine is not None, f"declined a plain request: {data}"
            assert_same_read(mine, theirs, data)
            taken += 1
    assert taken > 2500


def test_keys_decoded_from_json_are_known_by_their_text(engine: youthmode.Engine) -> None:
    """A JSON decoder's keys are not the interned names the reader holds: they must be taken
    as the same keys, and a key that only looks like one (a str subclass, another text) must
    be declined as the plain route declines an unknown field."""

    class Key(str):
        __slots__ = ()

    rng = random.Random(12)
    for _ in range(300):
        data = random_request(rng)
        decoded = json.loads(json.dumps(data))
        assert not any(k is sys.intern(k) for k in decoded)  # the decoder's own strings
        mine, theirs = read_both(engine, decoded)
        if theirs is not None:
            assert mine is not None, decoded
            assert_same_read(mine, theirs, decoded)
        for odd in (Key("action"), "actions", "Action", "at\x00"):
            changed = {**decoded, odd: decoded["action"]}
            changed.pop("action") if type(odd) is Key else None
            assert read_both(engine, changed)[0] is None, changed


def test_a_replaced_requires_amount_or_an_action_of_another_class_is_asked(
    engine: youthmode.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader reads `metered` and `spend` from CompiledAction's slots only while its
    `requires_amount` is the property configured: a replaced one decides, as in the twin."""
    data = {"subject": {"age": 12}, "action": "app.use"}
    mine, theirs = read_both(engine, data)
    assert mine is not None
    assert_same_read(mine, theirs, data)
    monkeypatch.setattr(CompiledAction, "requires_amount", property(lambda self: True))
    assert read_both(engine, data) == (None, None)  # `missing_amount`, the model's to word
    monkeypatch.undo()
    policy = engine.policy()
    action = policy.actions["app.use"]

    class Metered(CompiledAction):
        __slots__ = ()

        @property
        def metered(self) -> bool:  # type: ignore[override]
            return not action.metered

    odd = object.__new__(Metered)
    for field in dataclasses.fields(CompiledAction):  # its slots, under the property
        vars(CompiledAction)[field.name].__set__(odd, getattr(action, field.name))
    monkeypatch.setitem(policy.actions, "app.use", odd)
    mine, theirs = read_both(engine, data)
    assert mine is not None and mine[2].metered is not action.metered
    assert_same_read(mine, theirs, data)


def test_request_keys_other_than_the_ones_it_reads_are_refused() -> None:
    module = compiled.load("_reader")
    assert module is not None
    right = request._reader_configuration()
    for keys in (right["request_keys"] - {"guardian"}, right["request_keys"] | {"context"}):
        with pytest.raises(TypeError, match="request_keys"):
            module.configure({**right, "request_keys": frozenset(keys)})
    module.configure(right)


@pytest.mark.parametrize(("name", "path", "within", "beyond"), LIMITS)
def test_at_and_just_past_each_limit(
    engine: youthmode.Engine, name: str, path: tuple[str, ...], within: Any, beyond: Any
) -> None:
    for value in (within, beyond):
        data = with_value(path, value)
        mine, theirs = read_both(engine, data)
        # Amounts as numbers, or of 13 whole digits, are `parse_amount`'s to read: declined.
        by_parse_amount = name == "MAX_AMOUNT"
        assert (mine is None) == (theirs is None) or by_parse_amount, (name, value)
        if mine is not None:
            assert_same_read(mine, theirs, data)


def test_read_gives_the_same_answer_or_the_same_error_either_way(
    engine: youthmode.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(11)
    requests = [perturbed(rng, random_request(rng), rng.randrange(3)) for _ in range(400)]

    def outcomes() -> list[Any]:
        out: list[Any] = []
        for data in requests:
            try:
                decision = engine.decide(data)
            except RequestError as err:
                out.append([repr(p) for p in err.problems])
            else:
                out.append(decision.model_dump(mode="json", exclude={"decision_id"}))
        return out

    with_compiled = outcomes()
    monkeypatch.setattr(request, "read_compiled", None)
    assert outcomes() == with_compiled


def test_a_build_older_than_its_source_is_not_used(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(compiled, "source_digest", lambda name: "0" * 64)
    with caplog.at_level(logging.WARNING, logger="youthmode.compiled"):
        assert compiled.load("_reader") is None
    assert "older than _reader.c" in caplog.text


def test_youthmode_pure_and_a_missing_build_leave_the_python_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert compiled.load("_no_such_stage") is None
    monkeypatch.setenv("YOUTHMODE_PURE", "1")
    assert compiled.load("_reader") is None


def test_a_configuration_it_does_not_know_is_refused_and_changes_nothing(
    engine: youthmode.Engine,
) -> None:
    """A facts type whose fields are not the reader's slots fails loudly at configure, not
    with a wrong fact at decision time (the module then stays unused: compiled.load's caller)."""
    module = compiled.load("_reader")
    assert module is not None
    with pytest.raises(KeyError, match="decimal"):
        module.configure({})
    with pytest.raises(TypeError, match="slot"):  # all else right, the facts' type wrong
        module.configure({**request._reader_configuration(), "facts_type": dict})
    data = {"subject": {"age": 12}, "action": "purchase", "resource": {"amount": "1.00"}}
    mine, theirs = read_both(engine, data)
    assert mine is not None
    assert_same_read(mine, theirs, data)


def test_no_reference_is_leaked_on_any_outcome(engine: youthmode.Engine) -> None:
    rng = random.Random(3)
    requests = [perturbed(rng, random_request(rng), rng.randrange(4)) for _ in range(300)]
    requests += [{"action": 5}, [], {"subject": {"timezone": "Nowhere/Else"}, "action": "x"}]
    assert request.read_compiled is not None
    args = (engine.policies, engine.default_policy, NOW)

    def run() -> None:
        for data in requests:
            request.read_compiled(data, *args)

    # 9,000 reads: a leaked object per read would show as thousands of blocks
    assert blocks_kept(run, 30) < 500


def test_a_reloaded_policy_of_the_same_id_is_read_afresh(tmp_path: Path) -> None:
    """The reader reads a policy's zone, currency and actions once per policy object (a table
    kept with a strong reference): two cn-baselines of other zones and currencies, each loaded
    anew every round and alternating, read as the plain route reads them."""
    from conftest import CONFIGS

    text = (CONFIGS / "cn-baseline.toml").read_text(encoding="utf-8")
    other = text.replace('"Asia/Shanghai"', '"America/New_York"', 1)
    other = other.replace('currency = "CNY"', 'currency = "USD"', 1)
    assert "USD" in other and "New_York" in other
    for name, pack in (("a", text), ("b", other)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "cn-baseline.toml").write_text(pack, encoding="utf-8")
    zones = set()
    for _ in range(3):
        for name, currency in (("a", "CNY"), ("b", "USD"), ("a", "CNY")):
            engine = youthmode.Engine.from_path(tmp_path / name, clock=lambda: NOW)
            for resource in ({"amount": "6.00", "currency": currency}, {"amount": "6.00"}):
                data = {"action": "game.purchase", "subject": {"age": 12}, "resource": resource}
                mine, theirs = read_both(engine, data)
                assert mine is not None, data
                assert_same_read(mine, theirs, data)
                zones.add(str(mine[1].tzinfo))
            wrong = {"action": "game.purchase", "resource": {"amount": "6.00", "currency": "EUR"}}
            assert read_both(engine, wrong)[0] is None  # unsupported_currency: the model's to word
    assert zones == {"Asia/Shanghai", "America/New_York"}


def test_a_policy_of_another_type_is_declined(engine: youthmode.Engine) -> None:
    policy = engine.policies["cn-baseline"]
    odd = type("Odd", (type(policy),), {})
    other = odd(**{f.name: getattr(policy, f.name) for f in dataclasses.fields(policy)})
    data = {"action": "app.use", "subject": {"age": 12}}
    assert request.read_compiled is not None
    assert request.read_compiled(data, {"cn-baseline": other}, "cn-baseline", NOW) is None
