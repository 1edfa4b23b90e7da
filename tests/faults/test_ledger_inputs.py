"""Fault suite, ledger: what a careless or hostile caller sends cannot pass a cap or break a
subject. Each test is a reproduction from issue 10 (found on e482a15), on SQLite and Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import youthmode
from youthmode.errors import RequestError
from youthmode.ledger import Ledger, open_store
from youthmode.ledger.guardian import GuardianRefused
from youthmode.ledger.store import Store

NOW = "2026-11-27T12:30:00Z"  # Friday 20:30 in Shanghai: inside the game window
KID = {"age": 12, "verified": True}  # ages 8-16: at most 50.00 a top-up, 200.00 a month


@pytest.fixture(params=["sqlite", "redis", "redis-cluster"])
def store(request: pytest.FixtureRequest, tmp_path: Path, redis_url: str) -> Iterator[Store]:
    if request.param == "sqlite":
        opened = open_store(f"sqlite:///{tmp_path}/ledger.db")
    else:
        base = (
            redis_url if request.param == "redis" else request.getfixturevalue("redis_cluster_url")
        )
        opened = open_store(f"{base}?prefix=ym-fault-{uuid.uuid4().hex}:")
    yield opened
    if request.param != "sqlite":
        opened.delete_all()  # type: ignore[attr-defined]
    opened.close()


@pytest.fixture
def ledger(engine: youthmode.Engine, store: Store, freezer: Any) -> Ledger:
    freezer.move_to(NOW)
    return Ledger(engine, store)


def topup(purchase_id: str, amount: str, **more: Any) -> dict[str, Any]:
    return {"subject_id": "kid", "id": purchase_id, "action": "game.purchase", "amount": amount}


def hold(order_id: str, amount: str = "50.00", **more: Any) -> dict[str, Any]:
    return {
        "subject_id": "kid",
        "order_id": order_id,
        "action": "game.purchase",
        "amount": amount,
        "subject": KID,
        **more,
    }


def use(event_id: str, start: str, end: str, **more: Any) -> dict[str, Any]:
    return {"id": event_id, "action": "app.use", "start": start, "end": end, **more}


def month_spent(ledger: Ledger) -> str:
    return str(ledger.totals("kid")["spend"]["game_topup"]["month"])


def refused(call: Any, *codes: str) -> RequestError:
    with pytest.raises(RequestError) as caught:
        call()
    assert {p.code for p in caught.value.problems} & set(codes), caught.value.problems
    return caught.value


# -- future and backdated records ------------------------------------------------------------
def test_a_purchase_dated_in_the_future_is_refused_and_erases_nothing(ledger: Ledger) -> None:
    for i, amount in enumerate(["50.00", "50.00", "50.00", "40.00"]):
        ledger.record_purchase(topup(f"p{i}", amount))
    assert month_spent(ledger) == "190.00"
    refused(
        lambda: ledger.record_purchase({**topup("future", "0.01"), "at": "2099-01-01T00:00:00Z"}),
        "out_of_window",
    )
    assert month_spent(ledger) == "190.00"
    decisions = [ledger.reserve(hold(f"o{i}"))[0] for i in range(4)]
    assert [d.allowed for d in decisions] == [False] * 4  # 190 + 50 > 200
    assert decisions[0].reason_codes == ["monthly_cap"]


def test_a_purchase_within_the_skew_is_accepted(ledger: Ledger) -> None:
    soon = {**topup("soon", "10.00"), "at": "2026-11-27T12:31:00Z"}  # 60 s ahead
    assert ledger.record_purchase(soon)["status"] == "recorded"
    assert month_spent(ledger) == "10.00"


def test_records_older_than_the_window_are_refused_not_dropped(ledger: Ledger) -> None:
    old = {**topup("old", "50.00"), "at": "2026-10-27T12:00:00Z"}  # 31 days back
    refused(lambda: ledger.record_purchase(old), "out_of_window")
    # Inside the window, a retry is remembered: one record, however often it is sent.
    recent = {**topup("recent", "50.00"), "at": "2026-11-01T12:00:00Z"}
    answers = [ledger.record_purchase(recent)["status"] for _ in range(3)]
    assert answers == ["recorded", "duplicate", "duplicate"]
    assert month_spent(ledger) == "50.00"  # counted once, in November
    stale = ledger.record_usage(
        "kid",
        [
            {
                "id": "e",
                "action": "app.use",
                "start": "2026-10-20T01:00:00Z",
                "end": "2026-10-20T02:00:00Z",
            }
        ],
    )
    assert (
        stale["results"][0]["status"] == "rejected" and "too old" in stale["results"][0]["reason"]
    )


def test_backdated_holds_are_refused_and_cannot_pass_a_cap(ledger: Ledger) -> None:
    for i in range(6):
        refused(
            lambda i=i: ledger.reserve(hold(f"old{i}", at="2026-09-01T12:30:00+08:00")),
            "out_of_window",
        )
    allowed = [ledger.reserve(hold(f"o{i}"))[0].allowed for i in range(6)]
    assert allowed == [True, True, True, True, False, False]  # 4 x 50.00 = the 200.00 cap
    assert ledger.commit("o0")["state"] == "committed"  # the hold is still there to commit
    assert month_spent(ledger) == "50.00"


def test_a_reservation_is_decided_at_the_server_clock(ledger: Ledger, freezer: Any) -> None:
    freezer.move_to("2026-12-01T13:58:00Z")  # Tuesday 21:58 in Shanghai: no game time
    last_friday = hold("o1", at="2026-11-27T20:30:00+08:00")
    refused(lambda: ledger.reserve(last_friday), "out_of_window")
    decision, reservation = ledger.reserve(hold("o2"))
    assert not decision.allowed and reservation is None
    assert "outside_allowed_window" in decision.reason_codes
    # An `at` within the skew is tolerated, and the decision is still the server clock's.
    near, _ = ledger.reserve(hold("o3", at="2026-12-01T21:57:30+08:00"))
    assert near.facts.local_time.isoformat() == "2026-12-01T21:58:00+08:00"


# -- invalid text and magnitudes ---------------------------------------------------------------
SURROGATE = "\ud800"


def test_lone_surrogates_are_refused_everywhere_and_the_subject_stays_readable(
    ledger: Ledger,
) -> None:
    with pytest.raises(GuardianRefused):
        ledger.update_guardian("kid", {"exempt_apps": [SURROGATE]}, actor="parent")
    refused(lambda: ledger.update_guardian("kid", {}, actor=SURROGATE), "invalid_value")
    refused(lambda: ledger.ask_for_time("kid", 15, SURROGATE), "invalid_value")
    refused(lambda: ledger.record_purchase(topup(SURROGATE, "1.00")), "invalid_value")
    refused(lambda: ledger.totals(SURROGATE), "invalid_value")
    answer = ledger.record_usage(
        "kid",
        [
            use(SURROGATE, "2026-11-27T11:00:00Z", "2026-11-27T11:10:00Z"),
            use("good", "2026-11-27T11:00:00Z", "2026-11-27T11:10:00Z", app=SURROGATE),
            use("fine", "2026-11-27T11:00:00Z", "2026-11-27T11:10:00Z"),
        ],
    )
    assert [r["status"] for r in answer["results"]] == ["rejected", "rejected", "accepted"]
    assert answer["results"][0]["id"] is None  # never echoed back
    decision = ledger.decide({"subject": {"id": "kid", **KID}, "action": "app.use"})
    assert decision.facts.today_seconds == 600
    assert ledger.guardian("kid")["settings"] == {}


def test_nothing_is_written_when_the_answer_cannot_be_encoded(ledger: Ledger) -> None:
    def sneaky(tx: Any) -> str:
        tx.put("guardian", {"daily_limit": 1800})
        return SURROGATE

    refused(lambda: ledger._write("kid", sneaky), "invalid_value")
    assert ledger.guardian("kid")["settings"] == {}


def test_a_document_with_invalid_text_is_never_stored(ledger: Ledger) -> None:
    def sneaky(tx: Any) -> str:
        tx.put("guardian", {"exempt_apps": [SURROGATE]})
        return "ok"

    refused(lambda: ledger._write("kid", sneaky), "invalid_value")
    assert ledger.guardian("kid")["settings"] == {}


@pytest.mark.parametrize("amount", ["1E+999999999", "1000000000000.01", "99999999999999999999"])
def test_huge_amounts_are_refused(ledger: Ledger, amount: str) -> None:
    refused(lambda: ledger.record_purchase(topup("p", amount)), "invalid_amount")
    refused(lambda: ledger.reserve(hold("o", amount, subject={"age": 30})), "invalid_amount")
    adult = {"id": "kid", "age": 30, "verified": True}
    after = {"subject": adult, "action": "game.purchase", "resource": {"amount": "1.00"}}
    assert ledger.decide(after).allowed


@pytest.mark.parametrize(
    "at", ["0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00"]
)
def test_times_without_a_utc_equivalent_are_refused_alone(ledger: Ledger, at: str) -> None:
    refused(
        lambda: ledger.record_purchase({**topup("p", "1.00"), "at": at}),
        "invalid_time",
        "out_of_window",
    )
    answer = ledger.record_usage(
        "kid",
        [
            use("bad", at, "2026-11-27T11:10:00Z"),
            use("good", "2026-11-27T11:00:00Z", "2026-11-27T11:10:00Z"),
        ],
    )
    assert [r["status"] for r in answer["results"]] == ["rejected", "accepted"]
    assert answer["totals"]["today_seconds"] == 600


def test_grants_are_bounded(ledger: Ledger) -> None:
    for minutes in [10**4298, 1441, 0, -5, "99999999h", "1" * 5000]:
        with pytest.raises(GuardianRefused):
            ledger.grant_time("kid", minutes, actor="parent")
    with pytest.raises(GuardianRefused):
        ledger.update_guardian("kid", {"daily_limit": 10**4298}, actor="parent")
    assert ledger.grant_time("kid", 1440, actor="parent")["extra_seconds_today"] == 86400


# -- bounded documents ---------------------------------------------------------------------------
def test_a_flood_of_events_keeps_the_decision_document_bounded(
    ledger: Ledger, store: Store
) -> None:
    """20,000 one-second events with one-second gaps: the day keeps 1,000 intervals, counts
    at least the true use (gaps closed are counted), and the event ids stay out of the
    documents decisions read."""
    start = 1_795_737_600  # 2026-11-27T00:00:00Z
    events = [use(f"e{i}", _iso(start + 2 * i), _iso(start + 2 * i + 1)) for i in range(20_000)]
    for chunk in range(0, len(events), 5_000):
        ledger.record_usage("kid", events[chunk : chunk + 5_000])
    day = store.read("kid", lambda tx: tx.get("u:2026-11-27"))
    assert set(day) == {"iv"} and len(day["iv"]) == 1_000
    used = ledger.totals("kid")["today_seconds"]
    assert 20_000 <= used <= 40_000
    more = ledger.record_usage("kid", [use("late", _iso(start + 44_000), _iso(start + 44_010))])
    assert more["results"][0]["status"] == "rejected"  # 20,000 ids on one day is the most kept
    assert "more than 20000 events" in more["results"][0]["reason"]


def test_open_holds_per_subject_are_bounded(ledger: Ledger) -> None:
    adult = {"age": 30, "verified": True}
    for i in range(100):
        assert ledger.reserve(hold(f"o{i}", "1.00", subject=adult))[0].allowed
    refused(lambda: ledger.reserve(hold("one-more", "1.00", subject=adult)), "too_many_orders")
    ledger.release("o0")
    assert ledger.reserve(hold("one-more", "1.00", subject=adult))[0].allowed


def _iso(ts: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).isoformat()
