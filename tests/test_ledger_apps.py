"""Per-app and weekly use, and the guardian's app consent and link, on both real backends
(the `store` and `ledger` fixtures of test_ledger.py: SQLite files and a real Redis)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from store_backends import BACKENDS, open_backend
from test_ledger import ev, t

import youthmode
from youthmode.errors import RequestError
from youthmode.ledger import Ledger, open_store
from youthmode.ledger.store import LedgerConflict, Store
from youthmode.model import DecisionRequest

KID = {"id": "kid", "age": 12, "verified": True}


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh store on each backend (store_backends.py)."""
    yield from open_backend(request, tmp_path)


@pytest.fixture
def ledger(engine: youthmode.Engine, store: Store, freezer: Any) -> Ledger:
    freezer.move_to("2026-11-27T12:30:00Z")  # Friday 20:30 in Shanghai
    return Ledger(engine, store)


def filled(ledger: Ledger, **request: Any) -> DecisionRequest:
    """The request as the ledger fills it for a decision (what the engine then decides)."""
    asked = {"subject": KID, "action": "app.use", **request}
    prepared, mode = ledger.prepare(ledger.engine.parse(asked))
    assert mode is None
    return prepared


def day(date: str, local: str) -> str:
    return f"{date}T{local}+08:00"


# -- per-app use ---------------------------------------------------------------------------------
def test_use_is_kept_per_app_as_a_union(ledger: Ledger) -> None:
    answer = ledger.record_usage(
        "kid",
        [
            ev("a1", t("19:00:00"), t("19:20:00"), app="com.game", device="phone"),
            ev("a2", t("19:10:00"), t("19:30:00"), app="com.game", device="tablet"),
            ev("b1", t("19:25:00"), t("19:45:00"), app="com.video"),
            ev("n1", t("18:00:00"), t("18:10:00")),
            ev("x1", t("17:00:00"), t("17:10:00"), app="com.game", category="filed_education"),
        ],
    )
    assert [r["counted"] for r in answer["results"]] == [True, True, True, True, False]
    totals = answer["totals"]
    assert totals["apps"] == {"com.game": 1800, "com.video": 1200}
    assert totals["today_seconds"] == 600 + 2700  # 18:00-18:10 and 19:00-19:45, once
    assert ledger.totals("kid")["apps"] == totals["apps"]
    assert filled(ledger, resource={"app": "com.game"}).usage.app_today_seconds == 1800  # type: ignore[union-attr]
    early = filled(ledger, resource={"app": "com.game"}, at=t("19:15:00"))
    assert early.usage is not None and early.usage.app_today_seconds == 900  # up to `at`
    assert early.usage.today_seconds == 600 + 900
    unused = filled(ledger, resource={"app": "com.other"})
    assert unused.usage is not None and unused.usage.app_today_seconds == 0
    no_app = filled(ledger)
    assert no_app.usage is not None and no_app.usage.app_today_seconds is None


def test_explicit_usage_wins_and_exempt_apps_do_not_count(ledger: Ledger) -> None:
    ledger.update_guardian("kid", {"exempt_apps": ["com.dict"]}, actor="mum")
    answer = ledger.record_usage(
        "kid",
        [
            ev("d", t("19:00:00"), t("19:30:00"), app="com.dict"),
            ev("g", t("19:00:00"), t("19:10:00"), app="com.game"),
            ev("h", t("19:00:00"), t("19:10:00"), "livestream.tip", app="com.live"),
        ],
    )
    assert [r["counted"] for r in answer["results"]] == [False, True, False]
    assert answer["totals"]["apps"] == {"com.game": 600}
    given = filled(ledger, resource={"app": "com.game"}, usage={"today_seconds": 5})
    assert given.usage is not None
    assert given.usage.app_today_seconds is None and given.usage.week_seconds is None


def test_per_app_use_is_split_at_local_midnight(ledger: Ledger, freezer: Any) -> None:
    freezer.move_to("2026-11-27T16:25:00Z")  # 00:25 Saturday in Shanghai
    answer = ledger.record_usage(
        "kid", [ev("m", t("23:50:00"), "2026-11-28T00:20:00+08:00", app="com.game")]
    )
    assert answer["totals"]["apps"] == {"com.game": 1200}
    friday = filled(ledger, resource={"app": "com.game"}, at=t("23:59:00"))
    assert friday.usage is not None and friday.usage.app_today_seconds == 540


def test_an_empty_app_counts_toward_the_total_only(ledger: Ledger) -> None:
    answer = ledger.record_usage("kid", [ev("e", t("19:00:00"), t("19:10:00"), app="")])
    [result] = answer["results"]
    assert result["status"] == "accepted" and result["counted"] is True
    assert result["warnings"] == ["`app` is empty: counted toward the day's total only"]
    assert answer["totals"]["today_seconds"] == 600 and answer["totals"]["apps"] == {}


def test_more_than_64_apps_a_day_is_refused_whole(ledger: Ledger, store: Store) -> None:
    first = [ev(f"e{i}", t("10:00:00"), t("10:01:00"), app=f"app.{i}") for i in range(64)]
    assert len(ledger.record_usage("kid", first)["totals"]["apps"]) == 64
    before = ledger.totals("kid")
    with pytest.raises(LedgerConflict) as refused:
        ledger.record_usage(
            "kid",
            [
                ev("ok", t("11:00:00"), t("11:30:00")),
                ev("more", t("11:00:00"), t("11:05:00"), app="app.64"),
            ],
        )
    [problem] = refused.value.problems
    assert problem.code == "too_many_apps" and "more than 64 apps" in problem.msg
    assert "without `app`" in (problem.hint or "")
    assert ledger.totals("kid") == before  # nothing of the batch was kept
    again = ledger.record_usage("kid", [ev("more", t("11:00:00"), t("11:05:00"))])
    assert again["results"][0]["status"] == "accepted"  # its id was not kept either
    known = ledger.record_usage("kid", [ev("k", t("12:00:00"), t("12:05:00"), app="app.3")])
    assert known["totals"]["apps"]["app.3"] == 360  # an app already there is fine


def test_per_app_documents_are_pruned_with_the_day(
    ledger: Ledger, store: Store, freezer: Any
) -> None:
    ledger.record_usage("kid", [ev("a", t("19:00:00"), t("19:10:00"), app="com.game")])
    freezer.tick(timedelta(days=41))
    ledger.record_usage("kid", [ev("b", "2027-01-07T19:00:00+08:00", "2027-01-07T19:10:00+08:00")])
    assert store.read("kid", lambda tx: tx.keys("a:")) == []


# -- weekly use ----------------------------------------------------------------------------------
def test_week_seconds_sum_the_local_days_from_monday(ledger: Ledger) -> None:
    events = [
        ev("sun", day("2026-11-22", "23:00:00"), day("2026-11-22", "23:50:00")),  # last week
        ev("mon", day("2026-11-22", "23:50:00"), day("2026-11-23", "00:30:00")),  # 30 min Mon
        ev("wed", day("2026-11-25", "10:00:00"), day("2026-11-25", "11:00:00")),
        ev("fri", t("19:00:00"), t("20:00:00")),
    ]
    totals = ledger.record_usage("kid", events)["totals"]
    assert totals["week"] == "2026-11-23"
    assert totals["week_seconds"] == 1800 + 3600 + 3600
    asked = filled(ledger, at=t("19:30:00"))
    assert asked.usage is not None and asked.usage.week_seconds == 1800 + 3600 + 1800
    assert asked.usage.today_seconds == 1800
    monday = filled(ledger, at=day("2026-11-23", "00:10:00"))
    assert monday.usage is not None and monday.usage.week_seconds == 600
    sunday = filled(ledger, at=day("2026-11-22", "23:59:00"))
    assert sunday.usage is not None and sunday.usage.week_seconds == 3540  # its own week


def test_a_decision_with_an_app_on_a_sunday_still_reads_once(
    engine: youthmode.Engine, redis_store_url: str, freezer: Any
) -> None:
    """Redis: seven day documents and the app's document come in the one HMGET."""
    freezer.move_to("2026-11-29T12:30:00Z")  # Sunday 20:30 in Shanghai
    redis = open_store(redis_store_url)
    try:
        ledger = Ledger(engine, redis)
        ledger.record_usage(
            "kid",
            [
                ev("m", day("2026-11-23", "10:00:00"), day("2026-11-23", "10:20:00")),
                ev("s", day("2026-11-29", "20:00:00"), day("2026-11-29", "20:10:00"), app="g"),
            ],
        )
        client: Any = redis.reads  # type: ignore[attr-defined]  # the decision path
        calls: list[str] = []
        real = client.send

        def counting(packed: bytes) -> Any:
            calls.append(packed.split(b"\r\n")[2].decode())  # the command's name
            return real(packed)

        client.send = counting
        asked = filled(ledger, resource={"app": "g"})
        assert calls == ["HMGET"]
        assert asked.usage is not None
        assert (asked.usage.week_seconds, asked.usage.app_today_seconds) == (1800, 600)
    finally:
        redis.delete_all()  # type: ignore[attr-defined]
        redis.close()


# -- app consent and guardian link -----------------------------------------------------------
def test_app_consent_and_link_are_settings_logged_and_filled(ledger: Ledger) -> None:
    view = ledger.update_guardian(
        "kid", {"app_consent": "approved", "linked": True}, actor="apple-notifications"
    )
    assert view["settings"] == {"app_consent": "approved", "linked": True}
    guardian = filled(ledger).guardian
    assert guardian is not None and (guardian.app_consent, guardian.linked) == ("approved", True)
    ledger.update_guardian("kid", {"app_consent": "revoked"}, actor="apple-notifications")
    after = filled(ledger, usage={"today_seconds": 0}).guardian  # explicit usage: still applied
    assert after is not None and after.app_consent == "revoked" and after.linked is True
    own = filled(ledger, guardian={"app_consent": "approved", "linked": False}).guardian
    assert own is not None and (own.app_consent, own.linked) == ("approved", False)  # caller's
    log = ledger.guardian_log("kid")
    assert [
        (e["actor"], e["before"].get("app_consent"), e["after"]["app_consent"]) for e in log
    ] == [
        ("apple-notifications", None, "approved"),
        ("apple-notifications", "approved", "revoked"),
    ]
    ledger.update_guardian("kid", {"app_consent": None, "linked": False}, actor="backend")
    cleared = filled(ledger).guardian
    assert cleared is not None and cleared.app_consent is None and cleared.linked is False


@pytest.mark.parametrize(
    "change",
    [{"app_consent": "granted"}, {"app_consent": 1}, {"linked": "true"}, {"linked": 1}],
)
def test_bad_consent_states_change_nothing(ledger: Ledger, change: dict[str, Any]) -> None:
    ledger.update_guardian("kid", {"app_consent": "approved"}, actor="mum")
    with pytest.raises(RequestError) as refused:
        ledger.update_guardian("kid", {**change, "daily_limit": "30m"}, actor="mum")
    assert refused.value.problems[0].code == "invalid_value"
    assert ledger.guardian("kid")["settings"] == {"app_consent": "approved"}
    assert len(ledger.guardian_log("kid")) == 1


def test_a_revocation_reaches_the_next_decision_of_another_worker(
    engine: youthmode.Engine, store: Store, tmp_path: Path, freezer: Any
) -> None:
    """Two workers, each with its own Ledger and its own connection to the same store: the
    revocation one writes is what the other's very next decision reads; nothing caches it."""
    freezer.move_to("2026-11-27T12:30:00Z")
    second = open_store(
        store.url if store.backend != "sqlite" else f"sqlite:///{tmp_path}/ledger.db"
    )
    try:
        one, two = Ledger(engine, store), Ledger(engine, second)
        one.update_guardian("kid", {"app_consent": "approved", "linked": True}, actor="google")
        seen = filled(two, resource={"app": "com.game"}).guardian
        assert seen is not None and seen.app_consent == "approved"
        one.update_guardian("kid", {"app_consent": "revoked"}, actor="google")
        seen = filled(two, resource={"app": "com.game"}).guardian
        assert seen is not None and seen.app_consent == "revoked"
        two.update_guardian("kid", {"app_consent": "pending"}, actor="parent-app")
        back = filled(one).guardian
        assert back is not None and back.app_consent == "pending" and back.linked is True
    finally:
        second.close()
