"""The compiled response writer (youthmode/_dump.c) against pydantic's own `model_dump_json`:
the same bytes for every decision it writes, and None (pydantic writes it) for anything it is
not sure of. The reference is pydantic itself, so there is no Python twin to keep."""

from __future__ import annotations

import random
import tomllib
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import CONFIGS
from hypothesis import given, settings
from hypothesis import strategies as st
from leaks import blocks_kept
from pydantic import BaseModel, Field
from pydantic_core import PydanticSerializationError
from random_requests import random_request
from test_request import perturbed

import youthmode
from youthmode import compiled, decision_json
from youthmode.decision_json import RESPONSE_MODELS, dumps, field_table
from youthmode.errors import RequestError
from youthmode.model import ConsentAgeUsed, Decision, Facts, Obligation, PolicyRef, Reason, Remedy

dump = decision_json._dump


def reference(model: BaseModel) -> bytes:
    return model.model_dump_json().encode("utf-8")


def test_the_compiled_writer_is_in_use() -> None:
    assert compiled.load("_dump") is not None
    assert dump is not None
    assert all(field_table(cls) is not None for cls in RESPONSE_MODELS)


# -- every shipped pack's decisions ----------------------------------------------------------
def _plain(value: Any) -> Any:
    """A policy test's request as JSON would carry it (TOML gives datetimes)."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v != "none"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def shipped_requests() -> list[dict[str, Any]]:
    """Every shipped pack's policy-test requests, and each again under acme-global (which
    adds jurisdiction floors: the `policies` field)."""
    out = []
    for path in sorted(CONFIGS.glob("*_test.toml")):
        suite = tomllib.loads(path.read_text(encoding="utf-8"))
        for case in suite.get("case", []):
            request = _plain(case.get("request", {}))
            out.append({"policy": suite["policy"], **request})
            out.append({**request, "policy": "acme-global"})
    return out


def test_every_shipped_pack_decision_is_written_as_pydantic_writes_it(
    world_engine: youthmode.Engine,
) -> None:
    written = 0
    fields_seen: set[str] = set()
    for request in shipped_requests():
        try:
            decision = world_engine.decide(request)
        except RequestError:
            continue
        mine = dump(decision) if dump is not None else None
        assert mine is not None, request  # nothing a shipped pack decides is declined
        assert mine == reference(decision), request
        written += 1
        fields_seen |= set(decision.model_dump(exclude_none=True)["facts"])
        if decision.policies:
            fields_seen.add("policies")
        if any(r.consent_age is not None for r in decision.reasons):
            fields_seen.add("consent_age")
    assert written > 500
    # the odd parts of a decision were all met: floors, consent ages, age signals
    assert {"policies", "consent_age", "age_range", "jurisdiction"} <= fields_seen


def test_random_cn_decisions_are_written_as_pydantic_writes_them() -> None:
    engine = youthmode.Engine.from_path(CONFIGS)
    rng = random.Random(20261202)
    requests = [random_request(rng) for _ in range(1500)]
    requests += [perturbed(rng, random_request(rng), rng.randrange(1, 4)) for _ in range(1500)]
    written = 0
    for request in requests:
        try:
            decision = engine.decide(request)
        except RequestError:
            continue
        assert dumps(decision) == reference(decision), request
        written += 1
    assert written > 1600


# -- any value a response model may hold -----------------------------------------------------
# Offsets with seconds (local mean time) and microseconds, UTC, whole hours and half hours.
ZONES = st.one_of(
    st.just(UTC),
    st.sampled_from(
        [ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/London"), ZoneInfo("America/St_Johns")]
    ),
    st.builds(
        timezone,
        st.builds(
            timedelta,
            seconds=st.integers(-86399, 86399),
            microseconds=st.sampled_from([0, 0, 0, 1, 999999]),
        ),
    ),
)
AWARE = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=ZONES)
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
DECIMALS = st.decimals(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [Decimal("-0"), Decimal("0E-10"), Decimal("1E+2"), Decimal("sNaN"), Decimal("1." + "0" * 40)]
)
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**200), max_value=2**200),
    TEXT,
    DECIMALS,
    AWARE,
    st.floats(),
    st.datetimes(),  # naive
    st.dates(),
)
ANY = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3) | st.tuples(inner)
    ),
    max_leaves=12,
)
SOME_INT = st.none() | st.integers(-(2**70), 2**70)
SOME_TEXT = st.none() | TEXT
SOME_DECIMAL = st.none() | DECIMALS


def _built(cls: type[BaseModel], **fields: Any) -> Any:
    """A model holding exactly these values, unvalidated (as the fast path builds them)."""
    return cls.model_construct(**fields)


REASONS = st.builds(
    lambda code, rule, message, en, messages, age: _built(
        Reason,
        code=code,
        rule=rule,
        message=message,
        message_en=en,
        messages=messages,
        consent_age=age,
    ),
    TEXT,
    TEXT,
    TEXT,
    TEXT,
    st.none() | st.dictionaries(TEXT, TEXT, max_size=2),
    st.none()
    | st.builds(
        lambda age, j, fallback, source, verified: _built(
            ConsentAgeUsed,
            age=age,
            jurisdiction=j,
            fallback=fallback,
            source=source,
            verified=verified,
        ),
        st.integers(0, 30),
        SOME_TEXT,
        st.booleans(),
        SOME_TEXT,
        st.none() | st.booleans(),
    ),
)
REMEDIES = st.builds(
    lambda kind, action, least, methods, until, code: _built(
        Remedy, type=kind, action=action, at_least=least, methods=methods, until=until, code=code
    ),
    TEXT,
    SOME_TEXT,
    SOME_INT,
    st.none() | st.lists(TEXT, max_size=2),
    st.none() | AWARE,
    SOME_TEXT,
)
OBLIGATIONS = st.builds(
    lambda kind, at, ident, after, rule, message, en: _built(
        Obligation,
        type=kind,
        at=at,
        id=ident,
        after_seconds=after,
        rule=rule,
        message=message,
        message_en=en,
    ),
    TEXT,
    st.none() | AWARE,
    SOME_TEXT,
    SOME_INT,
    SOME_TEXT,
    SOME_TEXT,
    SOME_TEXT,
)
FACTS = st.builds(
    lambda at, values, guardian, ranges: _built(
        Facts,
        local_time=at,
        timezone=values[0],
        day_type=values[1],
        calendar_official=values[2],
        age=values[3],
        age_range=ranges,
        ignored_signals=None if ranges is None else [ranges, {"x": guardian}],
        jurisdiction=values[0],
        verified=values[2],
        today_seconds=values[3],
        session_seconds=values[4],
        app_today_seconds=values[4],
        week_seconds=None,
        day_spent=values[5],
        month_spent=values[6],
        amount=values[5],
        category=values[1],
        waived=None if values[1] is None else [values[1]],
        guardian=guardian,
        redacted=None,
    ),
    AWARE,
    st.tuples(SOME_TEXT, SOME_TEXT, st.booleans(), SOME_INT, SOME_INT, SOME_DECIMAL, SOME_DECIMAL),
    st.none() | st.dictionaries(TEXT, ANY, max_size=4),
    st.none() | st.dictionaries(TEXT, ANY, max_size=3),
)
POLICY_REFS = st.builds(
    lambda i, v, d: _built(PolicyRef, id=i, version=v, digest=d), TEXT, TEXT, TEXT
)
DECISIONS = st.builds(
    lambda ident, allowed, band, parts, facts, ref, floors, degraded: _built(
        Decision,
        decision_id=ident,
        effect="allow" if allowed else "deny",
        allowed=allowed,
        band=band,
        reasons=parts[0],
        obligations=parts[1],
        remedies=parts[2],
        remaining_seconds=parts[3],
        valid_until=parts[4],
        next_allowed_at=parts[5],
        facts=facts,
        policy=ref,
        policies=floors,
        degraded=degraded,
    ),
    TEXT,
    st.booleans(),
    TEXT,
    st.tuples(
        st.lists(REASONS, max_size=3),
        st.lists(OBLIGATIONS, max_size=2),
        st.lists(REMEDIES, max_size=2),
        SOME_INT,
        st.none() | AWARE,
        st.none() | AWARE,
    ),
    FACTS,
    POLICY_REFS,
    st.none() | st.lists(POLICY_REFS, max_size=2),
    st.booleans(),
)


@settings(max_examples=1500, deadline=None)
@given(DECISIONS)
def test_any_decision_is_written_as_pydantic_writes_it_or_left_to_pydantic(
    decision: Decision,
) -> None:
    mine = dump(decision) if dump is not None else None
    try:
        theirs = reference(decision)
    except (PydanticSerializationError, UnicodeEncodeError):
        assert mine is None  # pydantic refuses it (a lone surrogate): so must the writer
        with pytest.raises(PydanticSerializationError):
            dumps(decision)
        return
    if mine is not None:
        assert mine == theirs
    assert dumps(decision) == theirs


@settings(max_examples=400, deadline=None)
@given(AWARE)
def test_every_aware_instant_is_written_as_pydantic_writes_it(at: datetime) -> None:
    """The cases the writer keeps (offsets in whole minutes): never declined."""
    facts = _built(Facts, **{**_facts_fields(), "local_time": at})
    mine = dump(_decision_with(facts)) if dump is not None else None
    offset = at.utcoffset()
    assert offset is not None
    if offset % timedelta(minutes=1):
        assert mine is None
    else:
        assert mine == reference(_decision_with(facts))


def _facts_fields() -> dict[str, Any]:
    return {name: None for name in Facts.model_fields} | {
        "timezone": "UTC",
        "day_type": "workday",
        "calendar_official": True,
        "verified": False,
    }


def _decision_with(facts: Facts) -> Decision:
    fields: dict[str, Any] = {
        "decision_id": "d",
        "effect": "allow",
        "allowed": True,
        "band": "adult",
        "reasons": [],
        "obligations": [],
        "remedies": [],
        "remaining_seconds": None,
        "valid_until": None,
        "next_allowed_at": None,
        "facts": facts,
        "policy": _built(PolicyRef, id="p", version="1", digest="x"),
        "policies": None,
        "degraded": False,
    }
    return _built(Decision, **fields)


# -- what the writer must leave to pydantic --------------------------------------------------
def test_values_it_is_not_sure_of_are_left_to_pydantic() -> None:
    assert dump is not None
    base = _facts_fields() | {"local_time": datetime(2026, 1, 1, tzinfo=UTC)}
    for guardian in (
        {"limit": 1.5},  # a float: pydantic's float format is not Python's repr
        {"limit": (1, 2)},  # a tuple
        {"at": datetime(2026, 1, 1)},  # naive
        {"day": date(2026, 1, 1)},
        {"spent": Decimal("NaN")},
    ):
        decision = _decision_with(_built(Facts, **{**base, "guardian": guardian}))
        assert dump(decision) is None, guardian
        assert dumps(decision) == reference(decision)
    odd_key = _decision_with(_built(Facts, **{**base, "guardian": {1: "a key not a str"}}))
    assert dump(odd_key) is None  # (pydantic writes it, with a warning)


def test_a_model_it_has_no_table_for_is_left_to_pydantic() -> None:
    assert dump is not None

    class Other(BaseModel):
        a: int = 1

    assert dump(Other()) is None
    decision = _decision_with(
        _built(Facts, **_facts_fields() | {"local_time": datetime(2026, 1, 1, tzinfo=UTC)})
    )
    decision.__dict__["policy"] = Other()  # a model of another class inside a decision
    assert dump(decision) is None


def test_nesting_deeper_than_its_limit_is_left_to_pydantic() -> None:
    assert dump is not None
    deep: Any = "leaf"
    for _ in range(80):
        deep = [deep]
    base = _facts_fields() | {"local_time": datetime(2026, 1, 1, tzinfo=UTC)}
    decision = _decision_with(_built(Facts, **{**base, "guardian": {"deep": deep}}))
    assert dump(decision) is None
    assert dumps(decision) == reference(decision)


def test_a_model_pydantic_would_write_differently_gets_no_table() -> None:
    class Aliased(BaseModel):
        a: int = Field(default=1, serialization_alias="b")

    class Configured(BaseModel):
        model_config = {"ser_json_bytes": "base64"}
        a: bytes = b""

    assert field_table(Aliased) is None
    assert field_table(Configured) is None
    assert field_table(Decision) is not None


def test_a_wrong_configuration_is_a_type_error_not_a_crash() -> None:
    module = compiled.load("_dump")
    assert module is not None
    for args in [
        ({Decision: (("x", 7, None),)}, Decimal),
        ({Decision: (("bad name", 0, None),)}, Decimal),
        ({Decision: (("x", 2, None),)}, Decimal),
        ({Decision: "x"}, Decimal),
        ([], Decimal),
    ]:
        with pytest.raises(TypeError):
            module.configure(*args)
    # a refused configuration changes nothing: the writer still writes with the tables it had
    decision = _decision_with(
        _built(Facts, **_facts_fields() | {"local_time": datetime(2026, 1, 1, tzinfo=UTC)})
    )
    assert module.dump(decision) == reference(decision)


def test_no_reference_is_leaked() -> None:
    engine = youthmode.Engine.from_path(CONFIGS)
    rng = random.Random(7)
    decisions = [engine.decide(random_request(rng)) for _ in range(200)]

    def run() -> None:
        for decision in decisions:
            dumps(decision)

    assert blocks_kept(run, 20) < 500


def test_the_package_ships_the_writers_source() -> None:
    assert (Path(compiled.__file__).parent / "_dump.c").is_file()
