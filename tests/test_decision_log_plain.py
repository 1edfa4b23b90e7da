"""The decision log reads a plain JSON body without building the request model, and logs the
same `request` as through the model: compared here, line for line, on many requests."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest
from conftest import CONFIGS
from random_requests import random_request

import youthmode
from youthmode.model import Decision, DecisionRequest
from youthmode.server.decision_log import DecisionLog, _encode, plain_request

ENGINE = youthmode.Engine.from_path(CONFIGS)
AT = "2026-11-27T20:30:00+08:00"
KID = {"id": "u-42", "birthdate": "2014-03-02", "verified": True}
CASES: list[dict[str, Any]] = [
    {"action": "app.use"},  # no subject, no at, no policy
    {"action": "app.use", "at": AT, "subject": {}},
    {"policy": "cn-baseline", "action": "game.play", "at": AT, "subject": KID},
    {"action": "game.play", "subject": {"age": 12, "birthdate": "2014-03-02", "id": "x"}},
    {"subject": {"verified": False, "age": 15}, "action": "app.use", "at": AT},
    {
        "action": "game.purchase",
        "subject": {"age": 13, "verified": True},
        "at": AT,
        "usage": {"month_spent": "120.00", "today_seconds": 1200, "day_spent": 5},
        "resource": {"currency": "CNY", "amount": Decimal("30.10"), "app": "com.example.game"},
    },
    {
        "action": "content.view",
        "subject": {"age": 10},
        "resource": {"zeta": 1, "min_age": 12, "alpha": "a", "flag": True, "cost": Decimal("1.5")},
    },
    {"action": "app.use", "subject": {"age": 10}, "resource": {"extra": None, "app": None}},
    {"action": "app.use", "subject": {"age": 10}, "usage": {}, "resource": {}, "guardian": {}},
    {
        "action": "dm.send",
        "subject": {"age": 12, "verified": True},
        "guardian": {
            "extra_seconds": 600,
            "curfew": ["21:00", "06:00"],
            "exemptions": ["stranger_contact"],
            "more_curfews": [["12:00", "13:00"]],
            "daily_limit_seconds": 3600,
        },
        "resource": {"recipient": "stranger"},
    },
    {"action": "app.use", "policy": None, "at": None, "usage": None, "guardian": None},
]
NOT_PLAIN: list[Any] = [
    {"action": "app.use", "subject": {"age": "12"}},  # coerced by the model
    {"action": "app.use", "subject": {"age": True}},
    {"action": "app.use", "subject": {"verified": 1}},
    {"action": "app.use", "resource": {"tags": ["a"]}},
    {"action": "app.use", "unknown": 1},
    ["not", "an", "object"],
]


def logged(request: DecisionRequest | dict[str, Any], decision: Decision) -> str:
    """The decision-log line (as `DecisionLog` encodes it), without its timestamp."""
    entry = DecisionLog("off", b"k" * 32).record(request, decision, 0.001, request_id="r")
    entry.pop("ts")
    return _encode(entry).decode()


def both(body: dict[str, Any]) -> tuple[str, str]:
    """The logged line of ``body`` through the model (as before) and read as plain JSON."""
    plain = plain_request(body)
    assert plain is not None, body
    decision = ENGINE.decide(body)
    return logged(ENGINE.parse(body), decision), logged(plain, decision)


@pytest.mark.parametrize("body", CASES, ids=range(len(CASES)))
def test_a_plain_body_logs_the_same_line_as_its_model(body: dict[str, Any]) -> None:
    old, new = both(body)
    assert new == old


def test_random_requests_log_the_same_line() -> None:
    rng = random.Random(11)
    for _ in range(400):
        body = random_request(rng)
        if rng.random() < 0.3:
            body["subject"]["id"] = f"u-{rng.randrange(100)}"
        old, new = both(body)
        assert new == old, body


@pytest.mark.parametrize("body", NOT_PLAIN, ids=range(len(NOT_PLAIN)))
def test_other_bodies_go_through_the_model(body: Any) -> None:
    assert plain_request(body) is None
