"""A decision with the ledger decides as the engine does with the usage computed the slow way.

`Ledger.decide` fills `usage` through `decision_usage.py`'s lean path (each document decoded
once, one spend kind, no report). Over random histories (use across the week and on days
around it, per-app use, purchases, holds open and expired, guardian settings and grants) the
request it fills and the decision it makes must equal `Engine.decide` on the request with
`usage` from `LedgerCore.totals` (the report) and `guardian` from the stored settings.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import youthmode
from youthmode.ledger import Ledger, open_store
from youthmode.ledger import guardian as guardian_rules
from youthmode.model import Guardian

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Decision days: a Monday (yesterday is last week's Sunday), a Wednesday and a Sunday.
DAYS = [datetime(2026, 11, 23), datetime(2026, 11, 25), datetime(2026, 11, 29)]
ACTIONS = ["app.use", "game.play", "game.purchase", "purchase", "livestream.tip"]
KINDS = {"game.purchase": "game_topup", "purchase": "purchase", "livestream.tip": "tip"}

uses = st.lists(
    st.tuples(
        # start: seconds before the decision, mostly within its session or yesterday evening
        st.one_of(st.integers(1, 8 * 3600), st.integers(1, 10 * 86400)),
        st.integers(1, 3 * 3600),  # length (cut at the decision)
        st.sampled_from([None, "a", "b"]),  # app
    ),
    max_size=12,
)
purchases = st.lists(
    st.tuples(
        st.sampled_from(["game.purchase", "purchase", "livestream.tip"]),
        st.one_of(st.just(0), st.integers(-29, 0)),  # days before the decision day
        st.decimals("0.01", "99.99", places=2),
    ),
    max_size=5,
)
hold_amounts = st.decimals("0.01", "30.00", places=2)
stored_settings = st.fixed_dictionaries(
    {},
    optional={
        "daily_limit": st.sampled_from(["20m", "50m", "3h"]),
        "curfew": st.sampled_from([["21:00", "06:00"], ["20:30", "07:00"]]),
        "exempt_apps": st.sampled_from([["a"], []]),
    },
)
given_guardian = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "daily_limit_seconds": st.integers(600, 7200),
            "extra_seconds": st.integers(0, 3600),
            "consents": st.just(["livestream.tip"]),
        },
    ),
)


@pytest.fixture(scope="module")
def clock() -> list[datetime]:
    return [DAYS[0]]


@pytest.fixture(scope="module")
def clocked_engine(clock: list[datetime]) -> youthmode.Engine:
    return youthmode.Engine.from_path(CONFIGS, clock=lambda: clock[0]).warm()


def slow_request(ledger: Ledger, request: dict[str, Any], at: datetime) -> dict[str, Any]:
    """``request`` with `usage` from the usage report and `guardian` from the stored settings."""
    totals = ledger.totals("kid", at=at)
    kind = KINDS.get(request["action"])
    spend = totals["spend"].get(kind, {}) if kind else {}

    def spent(name: str) -> Decimal:
        return Decimal(spend.get(name, "0")) + Decimal(spend.get(f"held_{name}", "0"))

    app = (request.get("resource") or {}).get("app")
    usage = {
        "today_seconds": totals["today_seconds"],
        "session_seconds": totals["session_seconds"],
        "month_spent": spent("month"),
        "day_spent": spent("day"),
        "app_today_seconds": totals["apps"].get(app, 0) if app else None,
        "week_seconds": totals["week_seconds"],
    }
    out = {**request, "usage": usage}
    view = ledger.guardian("kid")
    if view["settings"] or view["extra_seconds_today"]:
        stored = {**view["settings"], "extra_seconds": view["extra_seconds_today"]}
        given = Guardian(**request.get("guardian") or {})
        out["guardian"] = guardian_rules.merge(given, stored).model_dump(exclude_none=True)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    day=st.sampled_from(DAYS),
    hour=st.sampled_from([0, 0, 1, 12, 21]),  # sessions crossing midnight: the first hours
    used=uses,
    bought=purchases,
    held=st.lists(hold_amounts, max_size=2),
    expired=st.one_of(st.none(), hold_amounts),
    stored=stored_settings,
    granted=st.sampled_from([None, 900, 3600]),
    action=st.sampled_from([*ACTIONS, "game.purchase"]),  # the kind the holds are of
    app=st.sampled_from([None, "a", "b", "c"]),
    guardian=given_guardian,
)
def test_a_ledger_decision_equals_the_engine_with_the_slow_usage(
    clocked_engine: youthmode.Engine,
    clock: list[datetime],
    day: datetime,
    hour: int,
    used: list[tuple[int, int, str | None]],
    bought: list[tuple[str, int, Decimal]],
    held: list[Decimal],
    expired: Decimal | None,
    stored: dict[str, Any],
    granted: int | None,
    action: str,
    app: str | None,
    guardian: dict[str, Any] | None,
) -> None:
    midnight = day.replace(tzinfo=SHANGHAI)
    now = midnight + timedelta(hours=hour, minutes=17)
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{folder}/ledger.db")
        ledger = Ledger(clocked_engine, store, clock=lambda: clock[0])
        try:
            hold(ledger, clock, now, held, expired)
            clock[0] = now
            events = [use_event(i, now, *use) for i, use in enumerate(used)]
            if events:
                ledger.record_usage("kid", events)
            for i, (kind_action, days, amount) in enumerate(bought):
                at = now + timedelta(days=days)
                ledger.record_purchase(
                    {"subject_id": "kid", "id": f"p-{i}", "action": kind_action,
                     "amount": str(amount), "currency": "CNY", "at": at.isoformat()}
                )  # fmt: skip
            if stored:
                ledger.update_guardian("kid", stored, actor="parent")
            if granted:
                ledger.grant_time("kid", f"{granted // 60}m", actor="parent")
            request = decision_request(action, now, app, guardian)
            expected_request = clocked_engine.parse(slow_request(ledger, request, now))
            filled, mode = ledger.prepare(clocked_engine.parse(request))
            decided = ledger.decide(request)
        finally:
            store.close()
    assert mode is None
    assert filled.usage == expected_request.usage
    assert filled.usage is not None and expected_request.usage is not None
    for field in ("day_spent", "month_spent"):  # the same digits, not only the same value
        assert str(getattr(filled.usage, field)) == str(getattr(expected_request.usage, field))
    assert filled.guardian == expected_request.guardian
    expected = clocked_engine.decide(expected_request)
    assert decided.model_dump(exclude={"decision_id"}) == expected.model_dump(
        exclude={"decision_id"}
    )


def hold(
    ledger: Ledger, clock: list[datetime], now: datetime, held: list[Decimal], old: Decimal | None
) -> None:
    """Open holds of ``held`` a minute before ``now`` and, if ``old``, one expired by ``now``."""
    for i, amount in enumerate(held):
        clock[0] = now - timedelta(minutes=1)
        decision, _ = ledger.reserve(hold_body(f"o-{i}", amount, clock[0]))
        assert decision.allowed, decision.reason_codes
    if old is not None:  # last: a later hold would drop it from the book
        clock[0] = now - timedelta(minutes=20)  # held for 15 minutes: over at `now`
        decision, _ = ledger.reserve(hold_body("o-old", old, clock[0]))
        assert decision.allowed, decision.reason_codes


def decision_request(
    action: str, now: datetime, app: str | None, guardian: dict[str, Any] | None
) -> dict[str, Any]:
    request: dict[str, Any] = {"action": action, "subject": {"id": "kid", "age": 13}}
    request["at"] = now.isoformat()
    resource: dict[str, Any] = {} if app is None else {"app": app}
    if action in KINDS:
        resource |= {"amount": "10.00", "currency": "CNY"}
    if resource:
        request["resource"] = resource
    if guardian is not None:
        request["guardian"] = guardian
    return request


def use_event(i: int, now: datetime, ago: int, length: int, app: str | None) -> dict[str, Any]:
    begin = now - timedelta(seconds=ago)
    event = {
        "id": f"u-{i}",
        "action": "app.use",
        "start": begin.isoformat(),
        "end": min(begin + timedelta(seconds=length), now).isoformat(),
    }
    if app is not None:
        event["app"] = app
    return event


def hold_body(order: str, amount: Decimal, at: datetime) -> dict[str, Any]:
    return {
        "subject_id": "kid",
        "order_id": order,
        "action": "game.purchase",
        "amount": str(amount),
        "currency": "CNY",
        "at": at.isoformat(),
        "subject": {"age": 30, "verified": True},
    }


stored_for_merge = st.fixed_dictionaries(
    {},
    optional={
        "daily_limit": st.integers(1, 86400),
        "waivers": st.lists(st.sampled_from(["daily_limit", "curfew"]), max_size=2),
        "consents": st.lists(st.sampled_from(["livestream.tip", "dm.send"]), max_size=2),
        "exempt_apps": st.lists(st.sampled_from(["a", "b"]), max_size=2),
        "curfew": st.sampled_from([["21:00", "06:00"]]),
        "app_consent": st.sampled_from(["approved", "revoked"]),
        "linked": st.booleans(),
        "extra_seconds": st.integers(0, 86400),
    },
)
given_for_merge = st.fixed_dictionaries(
    {},
    optional={
        "daily_limit_seconds": st.integers(1, 86400),
        "extra_seconds": st.integers(0, 86400),
        "exempt_apps": st.lists(st.sampled_from(["b", "c"]), max_size=2),
        "curfew": st.sampled_from([["22:00", "07:00"]]),
        "app_consent": st.sampled_from(["pending"]),
        "linked": st.booleans(),
    },
)


@settings(max_examples=200, deadline=None)
@given(given=given_for_merge, stored=stored_for_merge)
def test_merged_guardian_is_what_validation_makes(
    given: dict[str, Any], stored: dict[str, Any]
) -> None:
    """`merge` skips validating what it builds when every value is plainly valid: the result
    must be the validated one, and what validation refuses (a day's extra seconds over 24
    hours) must still be refused."""
    from pydantic import ValidationError

    mine = Guardian(**given)
    try:
        merged = guardian_rules.merge(mine, stored)
    except ValidationError:
        assert (mine.extra_seconds or 0) + stored.get("extra_seconds", 0) > 86400
        return
    validated = Guardian(**{name: getattr(merged, name) for name in Guardian.model_fields})
    assert merged == validated
    assert merged.model_dump_json() == validated.model_dump_json()
    assert merged.model_fields_set == validated.model_fields_set
