"""The ledger on both real backends: SQLite files and a real Redis (see redis_support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from store_backends import BACKENDS, open_backend

import youthmode
from youthmode.ledger import Ledger, open_store
from youthmode.ledger.guardian import GuardianRefused
from youthmode.ledger.store import LedgerConflict, Store

FRIDAY_EVENING = "2026-11-27T20:30:00+08:00"


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh store on each backend (store_backends.py)."""
    yield from open_backend(request, tmp_path)


@pytest.fixture
def ledger(engine: youthmode.Engine, store: Store, freezer: Any) -> Ledger:
    freezer.move_to("2026-11-27T12:30:00Z")  # Friday 20:30 in Shanghai
    return Ledger(engine, store)


def ev(event_id: str, start: str, end: str, action: str = "app.use", **more: Any) -> dict[str, Any]:
    return {"id": event_id, "action": action, "start": start, "end": end, **more}


def t(local: str) -> str:
    return f"2026-11-27T{local}+08:00"


def test_events_are_idempotent_and_overlaps_count_once(ledger: Ledger) -> None:
    first = ledger.record_usage(
        "kid",
        [
            ev("a", t("19:00:00"), t("19:20:00"), app="phone"),
            ev("b", t("19:10:00"), t("19:30:00"), app="tablet"),
        ],
    )
    assert [r["status"] for r in first["results"]] == ["accepted", "accepted"]
    assert first["totals"]["today_seconds"] == 1800  # 19:00-19:30 once, two devices
    again = ledger.record_usage(
        "kid",
        [ev("a", t("19:00:00"), t("19:20:00"), app="phone"), ev("c", t("19:25:00"), t("19:40:00"))],
    )
    assert [r["status"] for r in again["results"]] == ["duplicate", "accepted"]
    assert again["totals"]["today_seconds"] == 2400
    reused = ledger.record_usage("kid", [ev("a", t("18:00:00"), t("18:20:00"))])
    assert reused["results"][0] == {
        "id": "a",
        "status": "rejected",
        "reason": "id reused with other content",
    }


def test_rejections_name_the_reason(ledger: Ledger) -> None:
    answer = ledger.record_usage(
        "kid",
        [
            ev("x1", t("19:00:00"), t("18:00:00")),
            ev("x2", "2026-11-25T10:00:00+08:00", t("19:00:00")),
            ev("x3", t("20:40:00"), t("20:50:00")),
            ev("x4", t("19:00:00"), t("19:10:00"), action="game.ply"),
            ev("x5", t("19:00:00"), "2026-11-27T19:10:00"),
            {"action": "app.use"},
            ev("ok", t("19:00:00"), t("19:10:00")),
        ],
    )
    reasons = [r.get("reason") for r in answer["results"]]
    assert reasons[0] == "`end` is not after `start`"
    assert reasons[1] == "the interval is longer than a day"
    assert reasons[2] == "the interval ends in the future"
    assert reasons[3] == "unknown action `game.ply`; did you mean `game.play`?"
    assert "no UTC offset" in reasons[4]
    assert reasons[5] == "`id` must be a non-empty string"
    assert answer["results"][6]["status"] == "accepted"
    assert answer["totals"]["today_seconds"] == 600


def test_unknown_event_fields_are_reported_not_fatal(ledger: Ledger) -> None:
    """A typo must not silently change what counts, nor lose the use the event records."""
    answer = ledger.record_usage(
        "kid",
        [
            ev("typo", t("19:00:00"), t("19:10:00"), catgory="system_core", platform="ios"),
            ev("bad", t("19:20:00"), t("19:30:00"), category=["system_core"]),
            ev("app", t("19:20:00"), t("19:30:00"), app=7),
        ],
    )
    typo, bad, app = answer["results"]
    assert typo["status"] == "accepted" and typo["counted"] is True
    assert typo["warnings"] == [
        "unknown field `catgory` ignored; did you mean `category`?",
        "unknown field `platform` ignored",
    ]
    assert bad == {"id": "bad", "status": "rejected", "reason": "`category` must be a string"}
    assert app == {"id": "app", "status": "rejected", "reason": "`app` must be a string"}
    assert answer["totals"]["today_seconds"] == 600


def test_midnight_splits_and_sessions(ledger: Ledger, freezer: Any) -> None:
    freezer.move_to("2026-11-27T16:25:00Z")  # 00:25 Saturday in Shanghai
    answer = ledger.record_usage(
        "kid", [ev("n", "2026-11-27T23:50:00+08:00", "2026-11-28T00:20:00+08:00")]
    )
    totals = answer["totals"]
    assert totals["day"] == "2026-11-28" and totals["today_seconds"] == 1200
    assert totals["session_seconds"] == 1800  # the session runs across midnight
    friday = ledger.totals("kid", at=datetime.fromisoformat("2026-11-27T23:59:59+08:00"))
    assert friday["today_seconds"] == 599


def test_session_ends_after_a_ten_minute_break(ledger: Ledger) -> None:
    ledger.record_usage(
        "kid",
        [
            ev("1", t("19:00:00"), t("19:20:00")),
            ev("2", t("19:29:59"), t("19:40:00")),  # 9:59 gap: same session
            ev("3", t("20:00:00"), t("20:25:00")),
        ],
    )  # 20 min gap: new one
    totals = ledger.totals("kid")
    assert totals["session_seconds"] == 1500
    at = datetime.fromisoformat(t("19:45:00"))
    assert ledger.totals("kid", at=at)["session_seconds"] == 1200 + 601
    at = datetime.fromisoformat(t("19:50:00"))
    assert ledger.totals("kid", at=at)["session_seconds"] == 0


def test_exempt_categories_do_not_count(ledger: Ledger) -> None:
    answer = ledger.record_usage(
        "kid",
        [
            ev("e", t("19:00:00"), t("19:30:00"), category="filed_education"),
            ev("c", t("19:00:00"), t("19:30:00"), action="comment.post"),
        ],
    )
    assert [r["counted"] for r in answer["results"]] == [False, False]
    assert answer["totals"]["today_seconds"] == 0


def test_many_threads_give_exact_totals(ledger: Ledger) -> None:
    base = datetime.fromisoformat(t("18:00:00"))

    def post(worker: int) -> None:
        for i in range(10):
            start = base + timedelta(minutes=2 * i)
            events = [
                ev(f"w{worker}-{i}", start.isoformat(), (start + timedelta(minutes=3)).isoformat()),
                ev(f"shared-{i}", start.isoformat(), (start + timedelta(minutes=1)).isoformat()),
            ]
            ledger.record_usage("kid", events)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(post, range(8)))
    # Union of [18:00 + 2i, 18:00 + 2i + 3) for i < 10: 18:00 to 18:21.
    assert ledger.totals("kid")["today_seconds"] == 21 * 60


def test_decisions_read_the_ledger(ledger: Ledger) -> None:
    ledger.record_usage("kid", [ev("u", t("10:00:00"), t("10:59:59"))])
    request = {
        "subject": {"id": "kid", "age": 12, "verified": True},
        "action": "app.use",
        "at": t("11:00:00"),
    }
    decision = ledger.decide(request)
    assert decision.allowed and decision.remaining_seconds == 1
    assert decision.facts.today_seconds == 3599
    explicit = ledger.decide({**request, "usage": {"today_seconds": 3600}})
    assert explicit.reason_codes == ["daily_limit"]


def reserve(
    ledger: Ledger, order: str, amount: str = "50.00", **more: Any
) -> tuple[youthmode.Decision, dict[str, Any] | None]:
    return ledger.reserve(
        {
            "subject_id": "kid",
            "order_id": order,
            "action": "game.purchase",
            "amount": amount,
            "currency": "CNY",
            "at": FRIDAY_EVENING,
            "subject": {"age": 12, "verified": True},
            **more,
        }
    )


def test_concurrent_reservations_never_exceed_the_cap(ledger: Ledger) -> None:
    ledger.record_purchase(
        {
            "subject_id": "kid",
            "id": "p0",
            "action": "game.purchase",
            "amount": "150.00",
            "at": t("20:10:00"),
        }
    )
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda i: reserve(ledger, f"o-{i}"), range(10)))
    winners = [r for d, r in results if d.allowed]
    assert len(winners) == 1 and winners[0] is not None
    losers = [d for d, _ in results if not d.allowed]
    assert all(d.reason_codes == ["monthly_cap"] for d in losers)
    spend = ledger.totals("kid")["spend"]["game_topup"]
    assert (spend["month"], spend["held_month"]) == ("150.00", "50.00")


def test_reservation_lifecycle(ledger: Ledger, freezer: Any) -> None:
    decision, held = reserve(ledger, "o-1", "30.00")
    assert decision.allowed and held is not None and held["state"] == "held"
    again, held_again = reserve(ledger, "o-1", "30.00")
    assert again.decision_id == decision.decision_id and held_again == held  # idempotent
    assert ledger.commit("o-1")["state"] == "committed"
    assert ledger.commit("o-1")["state"] == "committed"  # idempotent
    assert ledger.totals("kid")["spend"]["game_topup"]["month"] == "30.00"
    assert ledger.release("o-1")["state"] == "refunded"
    assert ledger.totals("kid")["spend"]["game_topup"]["month"] == "0.00"
    with pytest.raises(LedgerConflict):
        reserve(ledger, "o-1", "30.00")
    reserve(ledger, "o-2", "40.00")
    freezer.tick(timedelta(minutes=16))  # past the 15-minute hold
    assert ledger.totals("kid")["spend"]["game_topup"]["held_month"] == "0"
    with pytest.raises(LedgerConflict):
        ledger.commit("o-2")


def test_month_spend_resets_at_the_local_month_start(ledger: Ledger, freezer: Any) -> None:
    freezer.move_to("2026-11-30T15:59:00Z")  # 23:59 on 30 November in Shanghai
    ledger.record_purchase(
        {"subject_id": "kid", "id": "p1", "action": "game.purchase", "amount": "200.00"}
    )
    assert ledger.totals("kid")["spend"]["game_topup"]["month"] == "200.00"
    freezer.tick(timedelta(minutes=1))  # 00:00 on 1 December
    totals = ledger.totals("kid")
    assert totals["month"] == "2026-12" and totals["spend"]["game_topup"]["month"] == "0"
    assert (
        ledger.record_purchase(
            {"subject_id": "kid", "id": "p1", "action": "game.purchase", "amount": "200.00"}
        )["status"]
        == "duplicate"
    )


def test_guardian_settings_apply_and_are_logged(ledger: Ledger) -> None:
    ledger.update_guardian(
        "kid",
        {"waivers": ["curfew"], "daily_limit": "45m", "curfew": ["21:00", "06:00"]},
        actor="mum",
    )
    request = {
        "subject": {"id": "kid", "age": 12, "verified": True},
        "action": "app.use",
        "at": t("20:30:00"),
        "usage": {"today_seconds": 600},
    }
    decision = ledger.decide(request)
    assert decision.allowed and decision.remaining_seconds == 1800  # guardian curfew at 21:00
    assert decision.facts.guardian == {"daily_limit_seconds": 2700, "curfew": ["21:00", "06:00"]}
    assert decision.facts.waived == ["curfew"]
    late = ledger.decide({**request, "at": t("21:30:00")})
    assert [r.rule for r in late.reasons] == ["guardian/curfew"]
    [entry] = ledger.guardian_log("kid")
    assert entry["actor"] == "mum" and entry["before"] == {}
    assert entry["after"]["waivers"] == ["curfew"]


@pytest.mark.parametrize(
    "change",
    [
        {"waivers": ["outside_allowed_window"]},
        {"waivers": ["per_transaction_cap"]},
        {"consents": ["livestream.tip"]},
        {"waivers": ["feature_forbidden"]},
    ],
)
def test_guardian_cannot_loosen_statutory_rules(ledger: Ledger, change: dict[str, Any]) -> None:
    with pytest.raises(GuardianRefused):
        ledger.update_guardian("kid", change, actor="dad")
    assert ledger.guardian("kid")["settings"] == {}
    assert ledger.guardian_log("kid") == []


def test_time_grants_and_requests(ledger: Ledger, freezer: Any) -> None:
    request = {
        "subject": {"id": "kid", "age": 12, "verified": True},
        "action": "app.use",
        "at": t("20:30:00"),
        "usage": {"today_seconds": 3600},
    }
    assert ledger.decide(request).reason_codes == ["daily_limit"]
    ledger.grant_time("kid", 15, actor="mum")
    granted = ledger.decide(request)
    assert granted.allowed and granted.remaining_seconds == 900
    asked = ledger.ask_for_time("kid", 60, "homework video")
    assert asked["status"] == "pending"
    answered = ledger.answer_request("kid", asked["id"], "1h", actor="dad")
    assert answered["status"] == "approved"
    assert ledger.decide(request).remaining_seconds == 900 + 3600  # 15m + 1h granted
    late = ledger.ask_for_time("kid", 30, None)
    freezer.tick(timedelta(hours=2))  # unanswered past midnight's cut-off: expired
    with pytest.raises(youthmode.RequestError):
        ledger.answer_request("kid", late["id"], "15m", actor="dad")
    view = ledger.guardian("kid")
    assert {r["status"] for r in view["requests"]} == {"approved", "expired"}
    changes = [e["change"] for e in ledger.guardian_log("kid")]
    assert changes == [
        "time_grant",
        "time_request",
        "time_request_answer",
        "time_grant",
        "time_request",
    ]


def test_old_time_grants_are_pruned_but_stay_in_the_log(
    ledger: Ledger, store: Store, freezer: Any
) -> None:
    ledger.grant_time("kid", 15, actor="mum")
    freezer.tick(timedelta(days=40))
    ledger.grant_time("kid", 20, actor="mum")
    assert len(store.read("kid", lambda tx: tx.keys("g:"))) == 2  # 40 days: still kept
    freezer.tick(timedelta(days=1))
    ledger.grant_time("kid", 30, actor="dad")
    kept = store.read("kid", lambda tx: tx.keys("g:"))
    assert kept == ["g:2027-01-06", "g:2027-01-07"]
    grants = [e["after"]["seconds"] for e in ledger.guardian_log("kid")]
    assert grants == [900, 1200, 1800]


def test_rest_of_day_grant_lifts_only_today(ledger: Ledger) -> None:
    ledger.grant_time("kid", "rest_of_day", actor="mum")
    request = {
        "subject": {"id": "kid", "age": 12, "verified": True},
        "action": "app.use",
        "at": t("20:30:00"),
        "usage": {"today_seconds": 7000},
    }
    decision = ledger.decide(request)
    assert decision.allowed and decision.remaining_seconds == 5400  # curfew at 22:00


def test_review_fixes_for_guardian_and_usage(ledger: Ledger) -> None:
    with pytest.raises(GuardianRefused):
        ledger.update_guardian("kid", {"daily_limit": "48h"}, actor="mum")
    ledger.update_guardian(
        "kid",
        {"daily_limit": 45, "curfew": ["21:00", "06:00"], "exempt_apps": ["edu.app"]},
        actor="mum",
    )
    assert ledger.guardian("kid")["settings"]["daily_limit"] == 2700  # minutes, like grants
    request = {
        "subject": {"id": "kid", "age": 12, "verified": True},
        "action": "app.use",
        "at": t("21:30:00"),
        "usage": {"today_seconds": 0},
        "guardian": {"curfew": ["23:00", "06:00"]},
    }
    decision = ledger.decide(request)  # the caller's later curfew cannot lift the stored one
    assert [r.rule for r in decision.reasons] == ["guardian/curfew"]
    answer = ledger.record_usage("kid", [ev("x", t("19:00:00"), t("19:30:00"), app="edu.app")])
    assert answer["results"][0]["counted"] is False
    assert (
        ledger.record_purchase(
            {"subject_id": "kid", "id": "p", "action": "purchase", "amount": "10.00"}
        )["status"]
        == "recorded"
    )
    with pytest.raises(LedgerConflict):
        ledger.record_purchase(
            {"subject_id": "kid", "id": "p", "action": "purchase", "amount": "11.00"}
        )


def test_a_decision_reads_the_ledger_in_one_round_trip(
    engine: youthmode.Engine, redis_store_url: str, freezer: Any
) -> None:
    """Redis: the decision's documents come in one HMGET, whatever was stored before."""
    freezer.move_to("2026-11-27T12:30:00Z")
    store = open_store(redis_store_url)
    try:
        ledger = Ledger(engine, store)
        ledger.record_usage("kid", [ev("1", t("20:00:00"), t("20:20:00"), "game.play")])
        ledger.update_guardian("kid", {"daily_limit": "30m"}, actor="parent")
        ledger.grant_time("kid", "10m", actor="parent")
        client: Any = store.reads  # type: ignore[attr-defined]  # the decision path
        calls: list[str] = []
        real = client.send

        def counting(packed: bytes) -> Any:
            calls.append(packed.split(b"\r\n")[2].decode())  # the command's name
            return real(packed)

        client.send = counting
        request = {"subject": {"id": "kid", "age": 12, "verified": True}, "action": "game.play"}
        decision = ledger.decide(request)
        assert calls == ["HMGET"]
        assert decision.facts.today_seconds == 1200
        assert decision.facts.guardian == {"daily_limit_seconds": 1800, "extra_seconds": 600}
        assert decision.remaining_seconds == 1800 + 600 - 1200
    finally:
        store.delete_all()  # type: ignore[attr-defined]
        store.close()
