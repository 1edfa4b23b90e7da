"""The app reads one clock, the one create_app is given: with it fixed, every time the server
reports or logs is that instant (the engine's decisions, the decision log, load and reload
times, batch ids, ledger writes)."""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

from conftest import CONFIGS

from youthmode.api import create_app
from youthmode.server.config import ServerConfig

# Saturday 20:30:00.25 in Shanghai, months away from any real "now" of the suite.
FIXED = datetime(2026, 3, 14, 12, 30, 0, 250_000, tzinfo=UTC)
KID = {"age": 12, "verified": True}


def uuid7_millis(text: str) -> int:
    return uuid.UUID(text).int >> 80


def test_every_time_the_server_reports_comes_from_its_clock(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    shutil.copy(CONFIGS / "cn-baseline.toml", policies)
    config = ServerConfig(
        policies=str(policies),
        state_dir=str(tmp_path / "state"),
        decision_log=str(tmp_path / "decisions.jsonl"),
        log_key="test-key",
        store=f"sqlite:///{tmp_path}/ledger.db",
    )
    client = create_app(config, clock=lambda: FIXED).test_client()
    millis = int(FIXED.timestamp() * 1000)

    ready = client.get("/readyz").get_json()
    assert ready["loaded_at"] == FIXED.isoformat()
    assert ready["last_reload"]["at"] == FIXED.isoformat()
    assert client.post("/v1/admin/reload").get_json()["at"] == FIXED.isoformat()

    decision = client.post("/v1/decisions", json={"subject": KID, "action": "game.play"})
    body = decision.get_json()
    assert body["facts"]["local_time"] == "2026-03-14T20:30:00+08:00"  # `at` left out: now
    assert uuid7_millis(body["decision_id"]) == millis
    batch = client.post(
        "/v1/decisions/batch", json={"requests": [{"subject": KID, "action": "app.use"}]}
    )
    assert uuid7_millis(batch.get_json()["batch_id"]) == millis
    with_ledger = {"subject": {**KID, "id": "kid-1"}, "action": "game.play"}
    ledger_decision = client.post("/v1/decisions", json=with_ledger).get_json()
    assert ledger_decision["facts"]["local_time"] == "2026-03-14T20:30:00+08:00"

    logged = [json.loads(line) for line in (tmp_path / "decisions.jsonl").read_text().splitlines()]
    assert [entry["ts"] for entry in logged] == ["2026-03-14T12:30:00.250+00:00"] * 3

    change = {"actor": "mum", "settings": {"daily_limit": "45m"}}
    assert client.patch("/v1/subjects/kid-1/guardian", json=change).status_code == 200
    changes = client.get("/v1/subjects/kid-1/guardian/log").get_json()["changes"]
    assert [c["at"] for c in changes] == [FIXED.isoformat()]


def test_an_engine_passed_in_lends_the_app_its_clock(tmp_path: Path) -> None:
    from youthmode import Engine

    engine = Engine.from_path(CONFIGS, clock=lambda: FIXED)
    config = ServerConfig(
        decision_log=str(tmp_path / "decisions.jsonl"), log_key="test-key", store="off"
    )
    client = create_app(config, engine=engine).test_client()
    assert client.get("/readyz").get_json()["loaded_at"] == FIXED.isoformat()
    assert (
        client.post("/v1/decisions", json={"subject": KID, "action": "app.use"}).status_code == 200
    )
    logged = json.loads((tmp_path / "decisions.jsonl").read_text().splitlines()[0])
    assert logged["ts"] == "2026-03-14T12:30:00.250+00:00"
