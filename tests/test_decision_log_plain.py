"""The decision log reads a plain JSON body without building the request model, and logs the
same `request` as through the model: compared here, line for line, on many requests."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest
from conftest import CONFIGS
from hypothesis import example, given, settings
from hypothesis import strategies as st
from random_requests import random_request

import youthmode
from youthmode.model import Decision, DecisionRequest, PolicyRef, Reason
from youthmode.server.decision_log import DecisionLog, _encode, _encode_slowly
from youthmode.server.logged_request import plain_request, replayable

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


STAMP = datetime(2026, 11, 27, 12, 30, 0, 123456, tzinfo=UTC)


def fixed_log() -> DecisionLog:
    """A log whose every record has one `ts`, so that lines compare whole."""
    return DecisionLog("off", b"k" * 32, clock=lambda: STAMP)


def logged(request: DecisionRequest | dict[str, Any], decision: Decision) -> str:
    """The decision-log line, as `DecisionLog` writes it."""
    return fixed_log().record(request, decision, 0.001, request_id="r").decode()


def reference_entry(
    log: DecisionLog,
    request: DecisionRequest | dict[str, Any],
    decision: Decision,
    latency_seconds: float,
    dumped: str | None = None,
) -> dict[str, Any]:
    """The record as the log built it before it copied the response's parts into the line
    (at 13578c0): the response's JSON read back, or the model dumped, and encoded again."""
    body = orjson.loads(dumped) if dumped is not None else decision.model_dump(mode="json")
    subject_id = request["subject"].get("id") if isinstance(request, dict) else request.subject.id
    entry: dict[str, Any] = {
        "ts": log._timestamp(),
        "decision_id": decision.decision_id,
        "batch_id": None,
        "request_id": None,
        "key_id": None,
        "policy": body["policy"],
        "subject": log.pseudonym(subject_id),
        "request": replayable(request, decision, body["facts"]["local_time"]),
        "effect": decision.effect,
        "reasons": decision.reason_codes,
        "band": decision.band,
        "remaining_seconds": decision.remaining_seconds,
        "next_allowed_at": body["next_allowed_at"],
        "facts": body["facts"],
        "latency_ms": round(latency_seconds * 1000, 3),
    }
    if body.get("policies"):
        entry["policies"] = body["policies"]
    return entry


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


def test_the_line_is_what_json_dumps_wrote_of_the_decoded_response() -> None:
    """The log copies the policy, facts and next_allowed_at out of the response's JSON text
    (or the model's, dumped) instead of reading them back and encoding them again: the line
    must be exactly what the standard library wrote of the response read back."""
    rng = random.Random(12)
    log = fixed_log()
    for _ in range(400):
        body = random_request(rng)
        if rng.random() < 0.3:
            body["subject"]["id"] = f"u-{rng.randrange(100)}"
        decision = ENGINE.decide(body)
        dumped = decision.model_dump_json()
        from_dump = log.record(plain_request(body) or {}, decision, 0.0123, dumped=dumped)
        from_model = log.record(ENGINE.parse(body), decision, 0.0123)
        reference = reference_entry(log, plain_request(body) or {}, decision, 0.0123, dumped)
        assert from_dump == from_model == _encode(reference) == _encode_slowly(reference), body


@pytest.mark.parametrize(
    "entry",
    [
        {"s": "caf\u00e9 \u4e2d\u6587 \U0001f600", "n": None, "b": [True, False]},
        {"lone": "\ud800"},  # not UTF-8: the slow path escapes it
        {"big": 2**70, "neg": -(2**63) - 1},
        {"d": Decimal("1.10"), "f": 0.061, "latency_ms": round(12.3456789, 3)},
        {"nested": {"a": [{"b": Decimal("-0")}]}},
    ],
)
def test_encoding_matches_the_standard_library(entry: dict[str, Any]) -> None:
    assert _encode(entry) == _encode_slowly(entry)


@given(
    st.lists(
        st.datetimes(
            min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()
        ),
        min_size=1,
        max_size=6,
    )
)
def test_the_timestamp_is_the_clocks_time_to_the_millisecond_whatever_came_before(
    times: list[datetime],
) -> None:
    """The log formats the date and time once a second: a record in a new second, or back in
    an earlier one (a clock set back), still gets exactly what isoformat gives."""
    clock = iter(times)
    log = DecisionLog("off", b"k" * 32, clock=lambda: next(clock))
    for now in times:
        assert log._timestamp() == now.astimezone(UTC).isoformat(timespec="milliseconds")


def test_a_pseudonym_is_the_keyed_hmac_whether_or_not_it_was_kept() -> None:
    import hashlib
    import hmac

    from youthmode.server import decision_log

    log = DecisionLog("off", b"k" * 32)
    ids = [f"u-{n}" for n in range(decision_log.PSEUDONYMS_KEPT + 10)] + ["u-1", "\u4e2d"]
    for subject in ids:  # past the table's size: it is cleared and filled again
        expected = hmac.new(b"k" * 32, subject.encode(), hashlib.sha256).hexdigest()[:32]
        assert log.pseudonym(subject) == expected
    assert len(log._pseudonyms) <= decision_log.PSEUDONYMS_KEPT
    assert DecisionLog("off", b"other").pseudonym("u-1") != log.pseudonym("u-1")


def test_a_subject_id_with_a_lone_surrogate_gets_a_stable_pseudonym() -> None:
    """A library caller may pass any str; its record is written, not lost to an encode error
    (over HTTP such a body is refused first)."""
    log = DecisionLog("off", b"k" * 32)
    first = log.pseudonym("kid-\ud800")
    assert first is not None and len(first) == 32
    assert DecisionLog("off", b"k" * 32).pseudonym("kid-\ud800") == first
    assert first not in (log.pseudonym("kid-"), log.pseudonym("kid-\ud801"))


# What the log looks for in the response's JSON, and what would fool a careless search for it.
KEYS = [
    ',"facts":{"local_time":"',
    ',"policy":{"id":"',
    ',"next_allowed_at":',
    '},"policies":[',
    ',"degraded":true}',
    '"',
    "\\",
    "}",
    "]",
    ",",
    "\u4e2d\U0001f600",
]
NAMES = ("facts", "local_time", "policy", "id", "next_allowed_at", "policies", "degraded")
TRICKY = st.lists(st.sampled_from(KEYS) | st.text(max_size=3), max_size=4).map("".join)
KEY = st.sampled_from(NAMES) | TRICKY  # a dict key: often exactly a key of the response's own
# JSON the facts' open dicts may hold: the response's keys at any depth
NESTED = st.recursive(
    TRICKY | st.booleans(), lambda inner: st.dictionaries(KEY, inner, max_size=3), max_leaves=8
)
REFS = st.builds(PolicyRef, id=TRICKY, version=TRICKY, digest=TRICKY)


@given(
    messages=st.dictionaries(KEY, TRICKY, max_size=3),
    code=TRICKY,
    facts=st.fixed_dictionaries(
        {
            "category": TRICKY,
            "jurisdiction": TRICKY,
            "guardian": st.dictionaries(KEY, NESTED | st.lists(TRICKY), max_size=3),
            "ignored_signals": st.none() | st.lists(st.dictionaries(KEY, NESTED, max_size=3)),
        }
    ),
    policy=REFS,
    policies=st.none() | st.lists(REFS, max_size=3),
    degraded=st.booleans(),
    next_allowed_at=st.none() | st.just(datetime(2026, 11, 28, 8, 0, tzinfo=UTC)),
)
@example(  # each key the log looks for, as a key, before and after where it is looked for
    messages={"de": "x", "next_allowed_at": '"2026-11-28T08:00:00Z"'},
    code="c",
    facts={
        "category": "c",
        "jurisdiction": "CN",
        "guardian": {"a": True, "facts": {"local_time": "x"}, "policy": {"id": "p"}},
        "ignored_signals": [{"a": "b", "policies": {"id": "q"}}],
    },
    policy=PolicyRef(id="},", version='"policies":[', digest="]"),
    policies=[PolicyRef(id="a", version="b", digest=',"degraded":true}')],
    degraded=True,
    next_allowed_at=datetime(2026, 11, 28, 8, 0, tzinfo=UTC),
)
@settings(deadline=None)  # a shared machine: the first example also warms the engine
def test_the_parts_are_found_whatever_the_strings_hold(
    messages: dict[str, str],
    code: str,
    facts: dict[str, Any],
    policy: PolicyRef,
    policies: list[PolicyRef] | None,
    degraded: bool,
    next_allowed_at: datetime | None,
) -> None:
    """Policy texts (reason messages and their languages, pack ids and versions) and request
    texts in the facts may hold the very keys the log looks for: the line is still what the
    response read back gives."""
    body = {"action": "game.play", "subject": {"id": "u-1", "age": 12}, "at": AT}
    decided = ENGINE.decide(body)
    reason = Reason(code=code, rule=code, message=code, message_en=code, messages=messages)
    decision = decided.model_copy(
        update={
            "reasons": [reason, *decided.reasons],
            "facts": decided.facts.model_copy(update=facts),
            "policy": policy,
            "policies": policies,
            "degraded": degraded,
            "next_allowed_at": next_allowed_at,
        }
    )
    dumped = decision.model_dump_json()
    log = fixed_log()
    line = log.record(plain_request(body) or {}, decision, 0.001, dumped=dumped)
    assert line == _encode(reference_entry(log, plain_request(body) or {}, decision, 0.001, dumped))
    assert orjson.loads(line)["facts"]["category"] == facts["category"]


def test_a_lone_surrogate_in_the_request_or_the_facts_is_logged_as_before() -> None:
    """The fragments cannot go the slow way (json.dumps, for a lone surrogate): the record
    decodes them then; a response the model cannot dump at all is read from the model.
    (Over HTTP such a body is a 400 before deciding; the library's callers can pass one.)"""
    body = {
        "action": "content.view",
        "subject": {"id": "u-1", "age": 10},
        "resource": {"app": "x\ud800", "zeta": "\ud802"},
    }
    decision = ENGINE.decide(body)
    dumped = decision.model_dump_json()
    log = fixed_log()
    line = log.record(plain_request(body) or {}, decision, 0.001, dumped=dumped)
    assert line == _encode_slowly(reference_entry(log, plain_request(body) or {}, decision, 0.001))
    assert b"\\ud802" in line
    in_facts = {**body, "resource": {"category": "c\ud801"}}
    decision = ENGINE.decide(in_facts)
    line = log.record(plain_request(in_facts) or {}, decision, 0.001)  # as server/ledger.py
    reference = reference_entry(log, plain_request(in_facts) or {}, decision, 0.001)
    assert line == _encode_slowly(reference) and b"c\\ud801" in line
