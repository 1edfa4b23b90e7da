"""Fault suite, per-app use and app consent: a bad app id or one app too many changes nothing,
a bad consent state changes nothing, and a stalled or flaky Redis never loses (nor doubles) a
consent revocation: the write either fails with 503 and nothing changes, or it is applied."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIGS
from redis_support import RedisProcess
from test_redis_faults import FlakyProxy, ledger_through

import youthmode
from youthmode.api import create_app
from youthmode.ledger import Ledger, open_store
from youthmode.ledger.redis_store import RedisStore
from youthmode.ledger.store import LedgerConflict, Store, StoreUnavailable
from youthmode.server.config import ServerConfig

NOW = "2026-11-27T12:30:00Z"  # Friday 20:30 in Shanghai
KID = {"id": "kid", "age": 12, "verified": True}


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


def use(event_id: str, minute: int, **more: Any) -> dict[str, Any]:
    start = f"2026-11-27T11:{minute:02d}:00Z"
    end = f"2026-11-27T11:{minute + 1:02d}:00Z"
    return {"id": event_id, "action": "app.use", "start": start, "end": end, **more}


def everything(store: Store) -> dict[str, Any]:
    """Every document of the subject, to show that a refused write changed none."""
    return store.read("kid", lambda tx: {k: tx.get(k) for k in tx.keys("")})


def consent_seen(ledger: Ledger, **request: Any) -> tuple[str | None, str | None]:
    """The app consent a decision would be decided with, and the store mode."""
    asked = {"subject": KID, "action": "app.use", **request}
    prepared, mode = ledger.prepare(ledger.engine.parse(asked))
    return (prepared.guardian.app_consent if prepared.guardian else None), mode


# -- bad app ids, too many apps ----------------------------------------------------------------
@pytest.mark.parametrize("app", [7, ["com.game"], {"id": "x"}, "a" * 201, "\ud800", True])
def test_a_bad_app_id_changes_nothing(ledger: Ledger, store: Store, app: Any) -> None:
    ledger.record_usage("kid", [use("first", 0, app="com.game")])
    before = everything(store)
    answer = ledger.record_usage("kid", [use("bad", 5, app=app)])
    assert answer["results"][0]["status"] == "rejected"
    assert "`app` must be" in answer["results"][0]["reason"]
    assert everything(store) == before
    assert answer["totals"]["apps"] == {"com.game": 60}


def test_one_app_too_many_changes_nothing(ledger: Ledger, store: Store) -> None:
    ledger.record_usage("kid", [use(f"e{i}", i % 50, app=f"app.{i}") for i in range(60)])
    before = everything(store)
    batch = [use(f"n{i}", 55, app=f"new.{i}") for i in range(5)] + [use("plain", 56)]
    with pytest.raises(LedgerConflict):
        ledger.record_usage("kid", batch)
    assert everything(store) == before
    with pytest.raises(LedgerConflict):  # however it is retried
        ledger.record_usage("kid", batch)
    assert everything(store) == before
    answer = ledger.record_usage("kid", [use("n0", 55), use("plain", 56)])  # without `app`
    assert [r["status"] for r in answer["results"]] == ["accepted", "accepted"]
    assert len(answer["totals"]["apps"]) == 60


def test_a_huge_app_name_in_a_decision_reads_nothing_extra(ledger: Ledger) -> None:
    ledger.record_usage("kid", [use("a", 0, app="com.game")])
    request = {"resource": {"app": "x" * 100_000}}
    asked = ledger.engine.parse({"subject": KID, "action": "app.use", **request})
    prepared, mode = ledger.prepare(asked)
    assert mode is None and prepared.usage is not None
    assert prepared.usage.app_today_seconds == 0 and prepared.usage.today_seconds == 60


# -- consent states -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "settings",
    [
        {"app_consent": "REVOKED"},
        {"app_consent": ""},
        {"app_consent": ["revoked"]},
        {"linked": None, "app_consent": "rescinded"},
        {"linked": "false"},
        {"linked": 0},
    ],
)
def test_a_bad_consent_state_changes_nothing(
    ledger: Ledger, store: Store, settings: dict[str, Any]
) -> None:
    ledger.update_guardian("kid", {"app_consent": "approved", "linked": True}, actor="platform")
    before = everything(store)
    with pytest.raises(youthmode.RequestError):
        ledger.update_guardian("kid", settings, actor="platform")
    assert everything(store) == before
    assert consent_seen(ledger) == ("approved", None)


# -- a stalled or flaky Redis -------------------------------------------------------------------
def test_a_revocation_during_a_stall_fails_whole_or_is_applied(
    redis_process: RedisProcess, engine: youthmode.Engine, freezer: Any
) -> None:
    freezer.move_to(NOW)
    url = f"{redis_process.url}?prefix=ym-{uuid.uuid4().hex}:"
    ledger = Ledger(engine, RedisStore(url, timeout=0.5, read_deadline=0.2))
    ledger.update_guardian("kid", {"app_consent": "approved"}, actor="apple")
    redis_process.stall()
    try:
        with pytest.raises(StoreUnavailable):
            ledger.update_guardian("kid", {"app_consent": "revoked"}, actor="apple")
        # Meanwhile a decision cannot read the store: with the caller's usage it is decided
        # without any stored consent (unknown, never the stale `approved`).
        assert consent_seen(ledger, usage={"today_seconds": 0}) == (None, "degraded")
    finally:
        redis_process.resume()
    freezer.tick(6)  # the breaker's cooldown
    assert consent_seen(ledger) == ("approved", None)  # the failed write changed nothing
    assert [e["after"]["app_consent"] for e in ledger.guardian_log("kid")] == ["approved"]
    ledger.update_guardian("kid", {"app_consent": "revoked"}, actor="apple")  # the retry
    assert consent_seen(ledger) == ("revoked", None)
    changes = [e["after"]["app_consent"] for e in ledger.guardian_log("kid")]
    assert changes == ["approved", "revoked"]


def test_a_revocation_during_a_stall_is_a_503_over_http(
    tmp_path: Path, redis_process: RedisProcess, freezer: Any
) -> None:
    freezer.move_to(NOW)
    store = f"{redis_process.url}?prefix=ym-{uuid.uuid4().hex}:"
    config = ServerConfig(
        policies=str(CONFIGS), state_dir=str(tmp_path), decision_log="off", store=store
    )
    client = create_app(config).test_client()
    path = "/v1/subjects/kid/guardian"
    revoke = {"actor": "apple", "settings": {"app_consent": "revoked"}}
    approve = {"actor": "apple", "settings": {"app_consent": "approved"}}
    assert client.patch(path, json=approve).status_code == 200
    redis_process.stall()
    try:
        answer = client.patch(path, json=revoke)
        assert answer.status_code == 503 and answer.headers["Retry-After"]
    finally:
        redis_process.resume()
    freezer.tick(6)
    assert client.get(path).get_json()["settings"] == {"app_consent": "approved"}
    assert client.patch(path, json=revoke).status_code == 200
    assert client.get(path).get_json()["settings"] == {"app_consent": "revoked"}


def test_a_revocation_whose_reply_is_lost_is_applied_once(
    redis_process: RedisProcess, engine: youthmode.Engine, freezer: Any
) -> None:
    freezer.move_to(NOW)
    proxy = FlakyProxy(redis_process.port)
    try:
        ledger = ledger_through(proxy, engine)
        ledger.update_guardian("kid", {"app_consent": "approved"}, actor="google")
        proxy.arm("drop_reply")
        view = ledger.update_guardian("kid", {"app_consent": "revoked"}, actor="google")
        assert proxy.exec_seen.is_set()
        assert view["settings"] == {"app_consent": "revoked"}
        assert consent_seen(ledger) == ("revoked", None)
        changes = [e["after"]["app_consent"] for e in ledger.guardian_log("kid")]
        assert changes == ["approved", "revoked"]  # logged once
    finally:
        proxy.close()
