"""The ledger over HTTP: usage, purchases, guardian flows, restarts and a Redis that goes away."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIGS
from flask import Flask
from flask.testing import FlaskClient
from redis_support import RedisProcess

from youthmode.api import create_app
from youthmode.server.config import ServerConfig

KID = {"id": "kid-1", "age": 12, "verified": True}


def make_app(tmp_path: Path, **settings: Any) -> Flask:
    return create_app(
        ServerConfig(
            policies=str(CONFIGS), state_dir=str(tmp_path / "state"), decision_log="off", **settings
        )
    )


@pytest.fixture
def client(tmp_path: Path, freezer: Any) -> FlaskClient:
    freezer.move_to("2026-11-27T12:30:00Z")  # Friday 20:30 in Shanghai
    return make_app(tmp_path).test_client()


def usage_events(*spans: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "subject_id": "kid-1",
        "events": [
            {
                "id": i,
                "action": "app.use",
                "start": f"2026-11-27T{s}+08:00",
                "end": f"2026-11-27T{e}+08:00",
            }
            for i, s, e in spans
        ],
    }


def test_usage_then_decision_reads_it(client: FlaskClient) -> None:
    body = client.post(
        "/v1/usage",
        json=usage_events(("e1", "19:00:00", "19:40:00"), ("e2", "19:30:00", "20:10:00")),
    ).get_json()
    assert [r["status"] for r in body["results"]] == ["accepted", "accepted"]
    assert body["totals"]["today_seconds"] == 4200
    decision = client.post("/v1/decisions", json={"subject": KID, "action": "app.use"}).get_json()
    assert decision["reasons"][0]["code"] == "daily_limit"
    assert decision["facts"]["today_seconds"] == 4200
    again = client.post("/v1/usage", json=usage_events(("e1", "19:00:00", "19:40:00")))
    assert again.get_json()["results"][0]["status"] == "duplicate"
    summary = client.get("/v1/subjects/kid-1/usage").get_json()
    assert summary["today_seconds"] == 4200 and summary["day"] == "2026-11-27"


def test_malformed_event_fields_are_answered_not_a_500(client: FlaskClient) -> None:
    events = usage_events(("e1", "19:00:00", "19:40:00"), ("e2", "19:50:00", "20:00:00"))
    events["events"][0]["category"] = {"nested": True}
    events["events"][1]["catgory"] = "system_core"
    response = client.post("/v1/usage", json=events)
    assert response.status_code == 200
    first, second = response.get_json()["results"]
    assert first["status"] == "rejected" and first["reason"] == "`category` must be a string"
    assert second["status"] == "accepted"
    assert second["warnings"] == ["unknown field `catgory` ignored; did you mean `category`?"]


def test_purchase_flow_over_http(client: FlaskClient) -> None:
    paid = client.post(
        "/v1/purchases",
        json={
            "subject_id": "kid-1",
            "id": "p-1",
            "action": "game.purchase",
            "amount": "150.00",
            "currency": "CNY",
        },
    )
    assert paid.get_json()["status"] == "recorded"
    order = {
        "subject_id": "kid-1",
        "order_id": "o-9",
        "action": "game.purchase",
        "amount": "50.00",
        "currency": "CNY",
        "subject": {"age": 12, "verified": True},
    }
    held = client.post("/v1/purchases/reserve", json=order).get_json()
    assert held["allowed"] and held["reservation"]["order_id"] == "o-9"
    second = client.post("/v1/purchases/reserve", json={**order, "order_id": "o-10"}).get_json()
    assert [r["code"] for r in second["reasons"]] == ["monthly_cap"]
    assert "reservation" not in second
    assert client.post("/v1/purchases/o-9/commit").get_json()["state"] == "committed"
    assert client.post("/v1/purchases/o-9/release").get_json()["state"] == "refunded"
    missing = client.post("/v1/purchases/nope/commit")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    reused = client.post("/v1/purchases/reserve", json=order)
    assert reused.status_code == 409


def test_guardian_flows_end_to_end(client: FlaskClient) -> None:
    base = "/v1/subjects/kid-1/guardian"
    refused = client.patch(
        base, json={"actor": "mum", "settings": {"waivers": ["outside_allowed_window"]}}
    )
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["code"] == "guardian_refused"
    assert client.get(base).get_json()["settings"] == {}
    ok = client.patch(base, json={"actor": "mum", "settings": {"consents": ["livestream.host"]}})
    assert ok.status_code == 200 and ok.get_json()["settings"]["consents"] == ["livestream.host"]
    host = {
        "subject": {"id": "kid-1", "age": 17, "verified": True},
        "action": "livestream.host",
        "at": "2026-11-27T19:00:00+08:00",
    }
    assert client.post("/v1/decisions", json=host).get_json()["allowed"]
    asked = client.post(base + "/requests", json={"minutes": 30, "note": "finish level"})
    assert asked.status_code == 201
    request_id = asked.get_json()["id"]
    answer = client.post(
        f"{base}/requests/{request_id}/answer", json={"actor": "dad", "answer": "15m"}
    )
    assert answer.get_json()["status"] == "approved"
    assert client.get(base).get_json()["extra_seconds_today"] == 900
    no_actor = client.post(base + "/grants", json={"minutes": 10})
    assert no_actor.status_code == 400
    assert (
        client.post(base + "/grants", json={"minutes": 10}, headers={"X-Actor": "mum"}).status_code
        == 200
    )
    log = client.get(base + "/log").get_json()["changes"]
    assert [e["actor"] for e in log] == ["mum", "subject", "dad", "dad", "mum"]
    assert log[0]["before"] == {} and log[0]["after"] == {"consents": ["livestream.host"]}


def test_sqlite_ledger_survives_a_restart(tmp_path: Path, freezer: Any) -> None:
    freezer.move_to("2026-11-27T12:30:00Z")
    first = make_app(tmp_path).test_client()
    first.post("/v1/usage", json=usage_events(("e1", "19:00:00", "19:30:00")))
    first.post(
        "/v1/purchases",
        json={"subject_id": "kid-1", "id": "p-1", "action": "purchase", "amount": "20.00"},
    )
    del first
    second = make_app(tmp_path).test_client()
    summary = second.get("/v1/subjects/kid-1/usage").get_json()
    assert summary["today_seconds"] == 1800
    assert summary["spend"]["purchase"]["month"] == "20.00"
    assert (tmp_path / "state" / "ledger.db").exists()


def test_redis_outage_fails_closed_and_recovers(
    tmp_path: Path, redis_process: RedisProcess, freezer: Any
) -> None:
    freezer.move_to("2026-11-27T12:30:00Z")
    store = f"redis://127.0.0.1:{redis_process.port}/0?prefix=ym-{uuid.uuid4().hex}:"
    client = make_app(tmp_path, store=store).test_client()
    assert (
        client.post("/v1/usage", json=usage_events(("e1", "19:00:00", "19:30:00"))).status_code
        == 200
    )
    kid = {"subject": KID, "action": "app.use"}
    adult = {"subject": {"id": "adult-1", "age": 30, "verified": True}, "action": "app.use"}
    assert client.get("/readyz").get_json()["store"] == {"backend": "redis", "ok": True}

    redis_process.stop()
    denied = client.post("/v1/decisions", json=kid).get_json()
    assert [r["code"] for r in denied["reasons"]] == ["store_unavailable"]
    assert denied["degraded"] is True and denied["allowed"] is False
    grown_up = client.post("/v1/decisions", json=adult).get_json()
    assert grown_up["allowed"] and grown_up["degraded"] is True
    given = client.post("/v1/decisions", json={**kid, "usage": {"today_seconds": 0}}).get_json()
    assert given["allowed"] and given["degraded"] is True
    write = client.post("/v1/usage", json=usage_events(("e2", "19:40:00", "19:50:00")))
    assert write.status_code == 503 and write.headers["Retry-After"] == "5"
    assert client.get("/readyz").get_json()["store"]["ok"] is False

    redis_process.start()  # a new, empty Redis on the same port
    # Three failures in a row opened the circuit breaker: the store is not asked again until
    # its cooldown has passed, then one probe closes it.
    still_open = client.post("/v1/decisions", json=kid).get_json()
    assert [r["code"] for r in still_open["reasons"]] == ["store_unavailable"]
    freezer.tick(6)
    back = client.post("/v1/decisions", json=kid).get_json()
    assert back["allowed"] and "degraded" not in back
    assert (
        client.post("/v1/usage", json=usage_events(("e2", "19:40:00", "19:50:00"))).status_code
        == 200
    )


def test_reservations_are_logged(tmp_path: Path, freezer: Any) -> None:
    import json

    freezer.move_to("2026-11-27T12:30:00Z")
    log = tmp_path / "decisions.jsonl"
    app = create_app(
        ServerConfig(
            policies=str(CONFIGS),
            state_dir=str(tmp_path / "state"),
            decision_log=str(log),
            log_key="k",
        )
    )
    order = {
        "subject_id": "kid-1",
        "order_id": "o-1",
        "action": "game.purchase",
        "amount": "30.00",
        "subject": {"age": 12, "verified": True},
    }
    decision = app.test_client().post("/v1/purchases/reserve", json=order).get_json()
    [entry] = [json.loads(line) for line in log.read_text().splitlines()]
    assert entry["decision_id"] == decision["decision_id"] and entry["effect"] == "allow"
    assert "kid-1" not in log.read_text() and entry["subject"]
    assert entry["request"]["resource"]["amount"] == "30.00"


# -- per-app and weekly use, app consent and guardian link -----------------------------------
def test_usage_report_shows_apps_and_the_week(client: FlaskClient) -> None:
    events = usage_events(("g1", "19:00:00", "19:20:00"), ("v1", "19:10:00", "19:40:00"))
    events["events"][0]["app"] = "com.game"
    events["events"][1]["app"] = "com.video"
    totals = client.post("/v1/usage", json=events).get_json()["totals"]
    assert totals["apps"] == {"com.game": 1200, "com.video": 1800}
    assert (totals["today_seconds"], totals["week"], totals["week_seconds"]) == (
        2400,
        "2026-11-23",
        2400,
    )
    summary = client.get("/v1/subjects/kid-1/usage").get_json()
    assert summary["apps"] == totals["apps"] and summary["week_seconds"] == 2400


def test_a_65th_app_on_one_day_is_a_409_and_changes_nothing(client: FlaskClient) -> None:
    events = usage_events(*((f"e{i}", "10:00:00", "10:01:00") for i in range(65)))
    for i, event in enumerate(events["events"]):
        event["app"] = f"app.{i}"
    answer = client.post("/v1/usage", json=events)
    assert answer.status_code == 409
    assert answer.get_json()["errors"][0]["code"] == "too_many_apps"
    summary = client.get("/v1/subjects/kid-1/usage").get_json()
    assert summary["today_seconds"] == 0 and summary["apps"] == {}


def test_app_consent_over_http_is_validated_logged_and_viewed(client: FlaskClient) -> None:
    path = "/v1/subjects/kid-1/guardian"
    bad = client.patch(path, json={"actor": "mum", "settings": {"app_consent": "granted"}})
    assert bad.status_code == 400 and bad.get_json()["errors"][0]["loc"][-1] == "app_consent"
    bad = client.patch(path, json={"actor": "mum", "settings": {"linked": "yes"}})
    assert bad.status_code == 400
    done = client.patch(
        path,
        json={"settings": {"app_consent": "revoked", "linked": True}},
        headers={"X-Actor": "apple:RESCIND_CONSENT"},
    )
    assert done.status_code == 200
    assert done.get_json()["settings"] == {"app_consent": "revoked", "linked": True}
    [entry] = client.get(path + "/log").get_json()["changes"]
    assert entry["actor"] == "apple:RESCIND_CONSENT" and entry["before"] == {}
    assert entry["after"] == {"app_consent": "revoked", "linked": True}
    assert client.get(path).get_json()["settings"]["app_consent"] == "revoked"


def test_a_revocation_through_one_worker_reaches_the_next_decision_of_another(
    tmp_path: Path, freezer: Any
) -> None:
    """Two API instances on one SQLite file (two workers): a PATCH on one, the very next
    decision on the other reads it."""
    freezer.move_to("2026-11-27T12:30:00Z")
    store = f"sqlite:///{tmp_path}/shared.db"
    first = make_app(tmp_path / "a", store=store)
    second = make_app(tmp_path / "b", store=store)
    other = second.extensions["youthmode"].ledger
    request = {"subject": KID, "action": "app.use", "resource": {"app": "com.game"}}

    def consent() -> str | None:
        prepared, _ = other.prepare(other.engine.parse(request))
        return prepared.guardian.app_consent if prepared.guardian else None

    path = "/v1/subjects/kid-1/guardian"
    patch = {"actor": "google-play", "settings": {"app_consent": "approved"}}
    assert first.test_client().patch(path, json=patch).status_code == 200
    assert consent() == "approved"
    patch["settings"]["app_consent"] = "revoked"  # type: ignore[index]
    assert first.test_client().patch(path, json=patch).status_code == 200
    assert consent() == "revoked"
    assert second.test_client().post("/v1/decisions", json=request).status_code == 200
