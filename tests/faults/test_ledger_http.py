"""Fault suite, the ledger over HTTP: bounded times, idempotency keys, tenants, a held SQLite
lock, an unknown outcome. The app runs on a real SQLite file."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIGS
from flask import Flask
from flask.testing import FlaskClient

from youthmode.api import create_app
from youthmode.ledger.store import StoreOutcomeUnknown
from youthmode.server.auth import KeyRing, hash_key, load_keys
from youthmode.server.config import ServerConfig

NOW = "2026-11-27T12:30:00Z"  # Friday 20:30 in Shanghai
KID = {"age": 12, "verified": True}


def make_app(tmp_path: Path, keys: KeyRing | None = None) -> Flask:
    config = ServerConfig(
        policies=str(CONFIGS), state_dir=str(tmp_path / "state"), decision_log="off"
    )
    return create_app(config, keys=keys)


@pytest.fixture
def client(tmp_path: Path, freezer: Any) -> FlaskClient:
    freezer.move_to(NOW)
    return make_app(tmp_path).test_client()


def codes(answer: Any) -> list[str]:
    return [e.get("code") for e in answer.get_json().get("errors", [])]


def test_records_outside_the_window_are_400_and_change_nothing(client: FlaskClient) -> None:
    base = {"subject_id": "kid-1", "action": "game.purchase", "amount": "10.00"}
    for at in ["2099-01-01T00:00:00Z", "2026-09-01T00:00:00Z", "0001-01-01T00:00:00+14:00"]:
        answer = client.post("/v1/purchases", json={**base, "id": f"p-{at}", "at": at})
        assert answer.status_code == 400, answer.get_json()
        assert set(codes(answer)) & {"out_of_window", "invalid_time"}
    reserve = {**base, "order_id": "o1", "subject": KID, "at": "2026-11-20T20:30:00+08:00"}
    answer = client.post("/v1/purchases/reserve", json=reserve)
    assert answer.status_code == 400 and codes(answer) == ["out_of_window"]
    totals = client.get("/v1/subjects/kid-1/usage").get_json()
    assert totals["spend"] == {}


def test_a_retried_grant_with_an_idempotency_key_is_applied_once(client: FlaskClient) -> None:
    path = "/v1/subjects/kid-1/guardian/grants"
    headers = {"Idempotency-Key": "grant-7"}
    first = client.post(path, json={"actor": "parent", "minutes": 30}, headers=headers)
    again = client.post(path, json={"actor": "parent", "minutes": 30}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.get_json() == again.get_json()
    assert client.get("/v1/subjects/kid-1/guardian").get_json()["extra_seconds_today"] == 1800
    other = client.post(path, json={"actor": "parent", "minutes": 45}, headers=headers)
    assert other.status_code == 409 and codes(other) == ["idempotency_key_reused"]
    without = client.post(path, json={"actor": "parent", "minutes": 30})
    assert without.status_code == 200
    assert client.get("/v1/subjects/kid-1/guardian").get_json()["extra_seconds_today"] == 3600


def test_a_retried_time_request_with_a_key_files_one_request(client: FlaskClient) -> None:
    path = "/v1/subjects/kid-1/guardian/requests"
    headers = {"Idempotency-Key": "ask-1"}
    first = client.post(path, json={"minutes": 15}, headers=headers).get_json()
    again = client.post(path, json={"minutes": 15}, headers=headers).get_json()
    assert first["id"] == again["id"]
    assert len(client.get("/v1/subjects/kid-1/guardian").get_json()["requests"]) == 1


def test_a_tenant_key_reads_and_writes_only_its_subjects(tmp_path: Path, freezer: Any) -> None:
    freezer.move_to(NOW)
    ring = KeyRing(load_keys(_keys_file(tmp_path)))
    client = make_app(tmp_path, keys=ring).test_client()
    acme = {"Authorization": "Bearer acme-secret"}
    other = {"Authorization": "Bearer all-secret"}
    event = {"id": "e1", "action": "app.use", "start": "2026-11-27T12:00:00Z",
             "end": "2026-11-27T12:10:00Z"}  # fmt: skip
    assert (
        client.post(
            "/v1/usage", json={"subject_id": "acme:kid", "events": [event]}, headers=acme
        ).status_code
        == 200
    )
    foreign = client.post("/v1/usage", json={"subject_id": "kid", "events": [event]}, headers=acme)
    assert foreign.status_code == 403 and codes(foreign) == ["foreign_subject"]
    assert client.get("/v1/subjects/kid/usage", headers=acme).status_code == 403
    assert client.get("/v1/subjects/kid/guardian", headers=acme).status_code == 403
    order = {"subject_id": "kid", "order_id": "o1", "action": "game.purchase",
             "amount": "10.00", "subject": KID}  # fmt: skip
    assert client.post("/v1/purchases/reserve", json=order, headers=other).status_code == 200
    # The order id alone names another tenant's subject: no commit, no release, no change.
    assert client.post("/v1/purchases/o1/commit", headers=acme).status_code == 403
    assert client.post("/v1/purchases/o1/release", headers=acme).status_code == 403
    assert client.post("/v1/purchases/o1/commit", headers=other).get_json()["state"] == "committed"


def test_a_held_sqlite_lock_costs_writes_two_seconds_then_nothing(
    tmp_path: Path, freezer: Any
) -> None:
    """Another process holds the write lock: a write waits at most the 2 s busy timeout and
    answers 503; after three such failures the breaker answers at once; decisions (readers,
    in WAL mode) never wait."""
    freezer.move_to(NOW)
    client = make_app(tmp_path).test_client()
    event = {"id": "e0", "action": "app.use", "start": "2026-11-27T12:00:00Z",
             "end": "2026-11-27T12:10:00Z"}  # fmt: skip
    assert (
        client.post("/v1/usage", json={"subject_id": "kid", "events": [event]}).status_code == 200
    )
    holder = sqlite3.connect(tmp_path / "state" / "ledger.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        took = []
        for i in range(5):
            started = real_seconds()  # time is frozen; the wait is real
            answer = client.post(
                "/v1/usage",
                json={"subject_id": "kid", "events": [{**event, "id": f"e{i + 1}"}]},
            )
            took.append(real_seconds() - started)
            assert answer.status_code == 503 and answer.headers["Retry-After"]
        assert all(1.5 < t < 3.5 for t in took[:3]), took
        assert all(t < 0.1 for t in took[3:]), took
        decision = client.post(
            "/v1/decisions", json={"subject": {"id": "kid", **KID}, "action": "app.use"}
        ).get_json()
        assert decision["allowed"] and decision["facts"]["today_seconds"] == 600
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    freezer.tick(6)
    again = client.post("/v1/usage", json={"subject_id": "kid", "events": [{**event, "id": "x"}]})
    assert again.status_code == 200


def test_an_unknown_outcome_is_a_503_that_says_so(
    tmp_path: Path, freezer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    freezer.move_to(NOW)
    app = make_app(tmp_path)
    store = app.extensions["youthmode"].ledger.store

    def lost(subject: str, fn: Any) -> Any:
        raise StoreOutcomeUnknown("the EXEC reply was lost")

    monkeypatch.setattr(store, "atomic", lost)
    body = {"subject_id": "kid", "id": "p1", "action": "game.purchase", "amount": "10.00"}
    answer = app.test_client().post("/v1/purchases", json=body)
    assert answer.status_code == 503
    assert answer.get_json()["title"] == "Outcome unknown"
    assert "may or may not" in answer.get_json()["detail"]


def _keys_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys.toml"
    path.write_text(
        f'[[keys]]\nid = "acme"\nsha256 = "{hash_key("acme-secret")}"\n'
        'scopes = ["decide", "usage", "guardian"]\nsubjects = "acme:"\n'
        f'[[keys]]\nid = "all"\nsha256 = "{hash_key("all-secret")}"\n'
        'scopes = ["decide", "usage", "guardian"]\n'
    )
    return path


def real_seconds() -> float:
    """The real clock, which freezegun leaves alone (it patches time.monotonic)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)
