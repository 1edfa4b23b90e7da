"""The two routes from a request to its facts (youthmode/request.py), held to each other.

The plain route may only recognise, never decide: whatever `read_plain` accepts, the typed
route (the pydantic model, then the policy's checks) must accept too, with the same policy,
local instant and facts, and `decide` must give the same decision either way. What it declines
goes the long way and gets the model's answer (a coerced request or a precise error). It must
actually take the requests integrations send, or the speed it exists for is silently lost.
And at every named limit of model.py, at the limit and just past it, both routes must agree.
"""

from __future__ import annotations

import copy
import dataclasses
import random
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from random_requests import random_request

import youthmode
from youthmode import model
from youthmode import request as request_module
from youthmode.errors import RequestError
from youthmode.facts import RequestFacts
from youthmode.model import (
    AMOUNT_PLACES,
    DAY_SECONDS,
    EARLIEST_AT,
    EARLIEST_BIRTHDATE,
    LATEST_AT,
    MAX_AGE,
    MAX_AMOUNT,
    MAX_ID_LENGTH,
    MAX_SECONDS,
    MIN_DAILY_LIMIT_SECONDS,
    RECIPIENTS,
)
from youthmode.request import read_plain, typed_facts

NOW = datetime(2026, 5, 4, 12, 30, 15, 250000, tzinfo=UTC)
SETTINGS = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Values that are valid somewhere, coercible somewhere, and wrong somewhere else.
ODD_VALUES: tuple[Any, ...] = (
    None, "", "12", 12, 12.0, 0, -1, 151, 86400, 86401, 10**12, True, False, [], {}, "x" * 300,
    "abc", "cny", "CNY", "USD", "contact", "stranger", "friend", "app.use", "cn-baseline",
    "2026-02-30", "2010-05-01", "1849-12-31", "2030-01-01", "20100501",
    "2026-05-04T10:00:00+08:00", "2026-05-04T10:00:00Z", "2026-05-04T10:00:00",
    "2026-05-04 10:00:00+08:00", "2026-05-04t10:00:00z", "2026-05-04T10:00:00.1234567+08:00",
    "2026-05-04T10:00:00.5-05:30", "1969-12-31T23:59:59Z", "2201-01-01T00:00:00Z",
    "2026-05-04T24:00:00+08:00", "2026-05-04T10:00:00+24:00", "30.00", "30.001", " 30.00 ",
    "1e2", "NaN", "-1.00", Decimal("12.5"), Decimal("0.001"), 30.5, ["21:00", "06:00"],
    ["21:00"], ["25:00", "06:00"], [["21:00", "06:00"]], ["livestream.host"], [1, 2],
    ("curfew",), {"x": 1}, "21:00",
    # The edges of what decisions accept: `at` in [2000, 2100) UTC, amounts up to 10^12.
    "1999-12-31T23:59:59Z", "2000-01-01T00:30:00+01:00", "2000-01-01T00:00:00Z",
    "2000-01-01T07:59:59+08:00", "2099-12-31T23:59:59Z", "2099-12-31T23:30:00-01:00",
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "999999999999.99",
    "1000000000000", "1000000000000.01", "1E+999999999", 10**13,
    # The named limits, from model.py, at and past each.
    MAX_AGE, MAX_AGE + 1, MAX_SECONDS, MAX_SECONDS + 1, DAY_SECONDS, DAY_SECONDS + 1,
    "x" * MAX_ID_LENGTH, "x" * (MAX_ID_LENGTH + 1), EARLIEST_BIRTHDATE.isoformat(),
    (EARLIEST_BIRTHDATE - timedelta(days=1)).isoformat(), str(MAX_AMOUNT), MAX_AMOUNT + 1,
    # subject.timezone (issue 15): IANA names, near misses, and what ZoneInfo would open
    "America/Los_Angeles", "America/New_York", "Asia/Kolkata", "UTC", "america/new_york",
    "America/Los_Angelos", "/etc/localtime", "../zoneinfo/UTC", "EST5EDT", "Etc/GMT+14",
)  # fmt: skip
PATHS: tuple[tuple[str, ...], ...] = (
    ("policy",), ("action",), ("at",), ("subject",), ("subject", "age"),
    ("subject", "birthdate"), ("subject", "verified"), ("subject", "id"), ("subject", "nick"),
    ("subject", "timezone"),
    ("usage",), ("usage", "today_seconds"), ("usage", "session_seconds"),
    ("usage", "month_spent"), ("usage", "day_spent"), ("usage", "minutes"), ("resource",),
    ("resource", "amount"), ("resource", "currency"), ("resource", "min_age"),
    ("resource", "recipient"), ("resource", "category"), ("resource", "app"),
    ("resource", "rating"), ("guardian",), ("guardian", "consents"), ("guardian", "exemptions"),
    ("guardian", "exempt_apps"), ("guardian", "daily_limit_seconds"), ("guardian", "curfew"),
    ("guardian", "more_curfews"), ("guardian", "extra_seconds"), ("guardian", "pin"), ("extra",),
)  # fmt: skip


@pytest.fixture(scope="module")
def fixed_engine() -> youthmode.Engine:
    from conftest import CONFIGS

    return youthmode.Engine.from_path(CONFIGS, clock=lambda: NOW)


def the_long_way(engine: youthmode.Engine, data: Any) -> tuple[Any, datetime, Any] | RequestError:
    try:
        req = engine.parse(data)
        policy = engine.policy(req.policy)
        at = (req.at or NOW).astimezone(policy.zone).replace(microsecond=0)
        return policy, at, typed_facts(req, policy, at)
    except RequestError as err:
        return err


def perturbed(rng: random.Random, request: dict[str, Any], changes: int) -> dict[str, Any]:
    out = copy.deepcopy(request)
    for _ in range(changes):
        path = rng.choice(PATHS)
        parent = out
        for key in path[:-1]:
            if not isinstance(parent.get(key), dict):
                parent[key] = {}
            parent = parent[key]
        if rng.random() < 0.15:
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
    return out


def check_same(engine: youthmode.Engine, data: dict[str, Any]) -> bool:
    fast = read_plain(data, engine.policies, engine.default_policy, NOW)
    slow = the_long_way(engine, data)
    if fast is None:
        return False
    assert not isinstance(slow, RequestError), f"read {data} that the model rejects: {slow}"
    policy, at, facts = fast
    assert policy is slow[0]
    assert at == slow[1] and at.tzinfo == slow[1].tzinfo and at.utcoffset() == slow[1].utcoffset()
    assert facts == slow[2], f"facts differ for {data}"
    quick = engine.decide(data).model_dump(mode="json", exclude={"decision_id"})
    typed = engine.decide(engine.parse(data)).model_dump(mode="json", exclude={"decision_id"})
    assert quick == typed
    return True


@SETTINGS
@given(seed=st.integers(min_value=0, max_value=2**32), changes=st.integers(0, 3))
def test_what_the_reader_accepts_the_model_accepts_alike(
    fixed_engine: youthmode.Engine, seed: int, changes: int
) -> None:
    rng = random.Random(seed)
    check_same(fixed_engine, perturbed(rng, random_request(rng), changes))


def test_requests_as_integrations_send_them_take_the_hot_path(
    fixed_engine: youthmode.Engine,
) -> None:
    rng = random.Random(7)
    for _ in range(500):
        request = random_request(rng)
        assert check_same(fixed_engine, request), request
    guardian = {
        "consents": ["livestream.host"],
        "exemptions": ["curfew"],
        "exempt_apps": ["app.reader"],
        "daily_limit_seconds": 1800,
        "curfew": ["21:00", "06:00"],
        "more_curfews": [["12:00", "13:00"]],
        "extra_seconds": 600,
    }
    full = {
        "policy": "cn-baseline",
        "subject": {"id": "u1", "birthdate": "2014-05-04", "age": 3, "verified": True},
        "action": "game.purchase",
        "at": "2026-05-08T20:15:00.5+08:00",
        "usage": {"today_seconds": 600, "session_seconds": 60, "month_spent": "10", "day_spent": 0},
        "resource": {"amount": 30, "currency": "CNY", "app": "g", "category": "game", "x": [1]},
        "guardian": guardian,
    }
    assert check_same(fixed_engine, full)
    assert check_same(fixed_engine, {"subject": {"age": 12}, "action": "app.use"})


@pytest.mark.parametrize(
    "data",
    [
        {"subject": {"age": "12"}, "action": "app.use"},  # coerced by the model
        {"subject": None, "action": "app.use"},
        {"subject": {"age": 12}, "action": "app.use", "usage": []},
        {"subject": {"age": 12}, "action": "app.use", "guardian": {"consents": None}},
        {"subject": {"age": 12}, "action": "app.usee"},
        {"subject": {"age": 12}, "action": "purchase"},  # missing amount
        {"subject": {"age": 12}, "action": "purchase", "resource": {"amount": "1.001"}},
        {"subject": {"age": 12}, "action": "app.use", "resource": {"currency": "USD"}},
        {"subject": {"birthdate": "2030-01-01"}, "action": "app.use"},
        {"subject": {"age": 12}, "action": "app.use", "at": "2026-05-04T10:00:00"},
        {"subject": {"age": 12}, "action": "app.use", "policy": "nope"},
        {"subject": {"age": 12}, "action": "app.use", "usage": {"today_seconds": 1.0}},
    ],
)
def test_anything_unusual_goes_the_long_way(
    fixed_engine: youthmode.Engine, data: dict[str, Any]
) -> None:
    assert read_plain(data, fixed_engine.policies, fixed_engine.default_policy, NOW) is None


@pytest.mark.parametrize(
    ("at", "valid"),
    [
        ("0001-01-01T00:00:00+14:00", False),  # overflows if converted to UTC first
        ("9999-12-31T23:59:59-14:00", False),
        ("1999-12-31T23:59:59Z", False),
        ("2000-01-01T07:59:59+08:00", False),  # 1999 in UTC
        ("2000-01-01T00:00:00Z", True),
        ("2000-01-01T08:00:00+08:00", True),
        ("2099-12-31T23:59:59Z", True),
        ("2100-01-01T00:59:59+01:00", True),  # 2099 in UTC
        ("2099-12-31T23:30:00-01:00", False),  # 2100 in UTC
        ("2100-01-01T00:00:00Z", False),
    ],
)
def test_both_routes_bound_at_to_2000_through_2099_utc(
    fixed_engine: youthmode.Engine, at: str, valid: bool
) -> None:
    data = {"subject": {"age": 12}, "action": "app.use", "at": at}
    fast = read_plain(data, fixed_engine.policies, fixed_engine.default_policy, NOW)
    slow = the_long_way(fixed_engine, data)
    assert (fast is not None) is valid  # in range: the hot path takes it
    assert isinstance(slow, RequestError) is not valid
    if not valid:
        assert slow.problems[0].loc == ("at",)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("amount", "fast"),
    [("999999999999.99", True), ("1000000000000", True), ("1000000000000.01", False)],
)
def test_the_reader_takes_only_amounts_the_model_takes(
    fixed_engine: youthmode.Engine, amount: str, fast: bool
) -> None:
    data = {"subject": {"age": 12}, "action": "purchase", "resource": {"amount": amount}}
    taken = read_plain(data, fixed_engine.policies, fixed_engine.default_policy, NOW)
    assert (taken is not None) is fast
    check_same(fixed_engine, data)


# -- the named limits: both routes read them, so both must agree at and past each ------------
SECOND = timedelta(seconds=1)
EAST, WEST = timezone(timedelta(hours=14)), timezone(timedelta(hours=-14))
AMOUNTS = (("resource", "amount"), ("usage", "month_spent"), ("usage", "day_spent"))
SECONDS = (("usage", "today_seconds"), ("usage", "session_seconds"))
# (the constant, where it applies, a value at the limit, the nearest value past it)
LIMITS: list[tuple[str, tuple[str, ...], Any, Any]] = [
    *[("MAX_AGE", path, 0, -1) for path in (("subject", "age"), ("resource", "min_age"))],
    *[("MAX_AGE", p, MAX_AGE, MAX_AGE + 1) for p in (("subject", "age"), ("resource", "min_age"))],
    ("EARLIEST_BIRTHDATE", ("subject", "birthdate"), EARLIEST_BIRTHDATE.isoformat(),
     (EARLIEST_BIRTHDATE - timedelta(days=1)).isoformat()),
    ("MAX_ID_LENGTH", ("subject", "id"), "x" * MAX_ID_LENGTH, "x" * (MAX_ID_LENGTH + 1)),
    *[("MAX_SECONDS", path, 0, -1) for path in SECONDS],
    *[("MAX_SECONDS", path, MAX_SECONDS, MAX_SECONDS + 1) for path in SECONDS],
    ("MIN_DAILY_LIMIT_SECONDS", ("guardian", "daily_limit_seconds"), MIN_DAILY_LIMIT_SECONDS,
     MIN_DAILY_LIMIT_SECONDS - 1),
    ("DAY_SECONDS", ("guardian", "daily_limit_seconds"), DAY_SECONDS, DAY_SECONDS + 1),
    ("DAY_SECONDS", ("guardian", "extra_seconds"), 0, -1),
    ("DAY_SECONDS", ("guardian", "extra_seconds"), DAY_SECONDS, DAY_SECONDS + 1),
    *[("EARLIEST_AT", ("at",), EARLIEST_AT.astimezone(zone).isoformat(),
       (EARLIEST_AT - SECOND).astimezone(zone).isoformat()) for zone in (UTC, EAST, WEST)],
    *[("LATEST_AT", ("at",), (LATEST_AT - SECOND).astimezone(zone).isoformat(),
       LATEST_AT.astimezone(zone).isoformat()) for zone in (UTC, EAST, WEST)],
    *[("MAX_AMOUNT", path, f"{MAX_AMOUNT}.00", f"{MAX_AMOUNT}.01") for path in AMOUNTS],
    *[("MAX_AMOUNT", path, int(MAX_AMOUNT), int(MAX_AMOUNT) + 1) for path in AMOUNTS],
    *[("RECIPIENTS", ("resource", "recipient"), name, name.upper()) for name in RECIPIENTS],
]  # fmt: skip
BASE = {"subject": {"age": 12}, "action": "purchase", "resource": {"amount": "1.00"}}


def with_value(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(BASE)
    parent: dict[str, Any] = out
    for key in path[:-1]:
        parent = parent.setdefault(key, {})
    parent[path[-1]] = value
    return out


def test_the_plain_route_knows_every_field_of_the_model() -> None:
    """A new field takes the typed route (safe, but slow) until the plain route reads it."""
    known = {
        request_module.REQUEST_KEYS: model.DecisionRequest,
        frozenset(request_module.RESOURCE_FIELDS): model.Resource,
    }
    for keys, fields in known.items():
        assert keys == set(fields.model_fields), f"read the new fields of {fields.__name__}"


def test_request_facts_keep_the_order_the_plain_route_builds_them_in() -> None:
    """The plain route passes RequestFacts's fields by position (it is cheaper)."""
    assert [f.name for f in dataclasses.fields(RequestFacts)] == [
        "action", "metered", "verified", "birthdate", "declared_age", "amount", "category",
        "app", "min_age", "recipient", "resource", "consents", "exemptions", "exempt_apps",
        "today_seconds", "session_seconds", "day_spent", "month_spent", "at_date",
        "guardian_daily_limit", "guardian_curfews", "extra_seconds",
        # CONTRACT section 6, after the others (set as one `WorldFacts` tuple, by the typed route)
        "age_signals", "jurisdiction", "app_consent", "linked", "app_today_seconds",
        "week_seconds", "age_method",
        # issue 15: the subject's zone, by keyword
        "timezone",
    ]  # fmt: skip


def test_every_named_limit_is_asked_at_its_edges() -> None:
    kinds = int | date | Decimal | frozenset
    named = {n for n, v in vars(model).items() if n.isupper() and isinstance(v, kinds)}
    typed_only = {name for name, *_ in TYPED_ONLY_LIMITS}
    assert named == {name for name, *_ in LIMITS} | {"AMOUNT_PLACES"} | typed_only


SIGNAL = {"source": "apple_declared_age_range", "lower": 13, "upper": 15, "method": "gov_id"}
# Limits of fields only the typed route reads (CONTRACT section 6): the plain route declines
# any request that has them, so only the model is asked.
TYPED_ONLY_LIMITS: list[tuple[str, tuple[str, ...], Any, Any]] = [
    ("MAX_AGE_SIGNALS", ("subject", "age_signals"), [SIGNAL] * model.MAX_AGE_SIGNALS,
     [SIGNAL] * (model.MAX_AGE_SIGNALS + 1)),
    ("MAX_SOURCE_LENGTH", ("subject", "age_signals"),
     [SIGNAL | {"source": "s" * model.MAX_SOURCE_LENGTH}],
     [SIGNAL | {"source": "s" * (model.MAX_SOURCE_LENGTH + 1)}]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "path", "within", "beyond"), TYPED_ONLY_LIMITS)
def test_the_model_holds_the_limits_only_it_reads(
    fixed_engine: youthmode.Engine, name: str, path: tuple[str, ...], within: Any, beyond: Any
) -> None:
    for value, ok in ((within, True), (beyond, False)):
        request = with_value(path, value)
        assert read_plain(request, fixed_engine.policies, fixed_engine.default_policy, NOW) is None
        slow = the_long_way(fixed_engine, request)
        assert isinstance(slow, RequestError) != ok, f"{name}: {value!r:.60}"
        if not ok:
            assert isinstance(slow, RequestError) and slow.problems[0].loc[:2] == path


@pytest.mark.parametrize(
    ("name", "path", "within", "beyond"),
    LIMITS,
    ids=[f"{name}-{'.'.join(path)}-{i}" for i, (name, path, *_) in enumerate(LIMITS)],
)
def test_both_routes_agree_at_and_just_past_each_limit(
    fixed_engine: youthmode.Engine, name: str, path: tuple[str, ...], within: Any, beyond: Any
) -> None:
    assert check_same(fixed_engine, with_value(path, within)), f"{name}: the plain route declined"
    past = with_value(path, beyond)
    assert read_plain(past, fixed_engine.policies, fixed_engine.default_policy, NOW) is None
    slow = the_long_way(fixed_engine, past)
    assert isinstance(slow, RequestError), f"{name}: the model took {past}"
    assert slow.problems[0].loc == path


def test_amount_places_are_the_currencys_up_to_the_named_limit(
    fixed_engine: youthmode.Engine,
) -> None:
    """AMOUNT_PLACES binds only for a currency with more places than that: none ships yet."""
    cny = fixed_engine.policy(None)
    for places in (cny.currency_places, AMOUNT_PLACES + 1):
        policy = dataclasses.replace(cny, currency_places=places)
        engine = youthmode.Engine([policy], clock=lambda: NOW)
        most = min(places, AMOUNT_PLACES)
        for path in AMOUNTS:
            assert check_same(engine, with_value(path, "0." + "0" * (most - 1) + "1"))
            past = with_value(path, "0." + "0" * most + "1")
            assert read_plain(past, engine.policies, engine.default_policy, NOW) is None
            slow = the_long_way(engine, past)
            assert isinstance(slow, RequestError) and slow.problems[0].loc == path
