"""CONTRACT section 6 over HTTP: every new request field goes in, every new response field comes
out, and bad values are 400s that name the field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIGS
from flask.testing import FlaskClient

from youthmode.api import create_app
from youthmode.server.config import ServerConfig

AT = "2026-11-24T10:00:00+08:00"  # a Tuesday
HOST = {
    "subject": {
        "id": "kid-7",
        "verified": True,
        "jurisdiction": "cn-bj",
        "age_signals": [
            {"source": "apple_declared_age_range", "lower": 16, "upper": None,
             "method": "payment", "observed_at": "2026-11-20T08:00:00Z"},
            {"source": "self", "lower": 19, "method": "self_declared"},
        ],
    },
    "action": "livestream.host",
    "at": AT,
    "guardian": {"app_consent": "approved", "linked": True},
    "usage": {"app_today_seconds": 60, "week_seconds": 600},
    "resource": {"app": "com.acme.live"},
}  # fmt: skip


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    folder = tmp_path / "policies"
    folder.mkdir()
    shutil.copy(CONFIGS / "cn-baseline.toml", folder)
    config = ServerConfig(
        policies=str(folder),
        state_dir=str(tmp_path / "state"),
        decision_log=str(tmp_path / "decisions.jsonl"),
        log_key="test-key",
        store="off",
    )
    return create_app(config).test_client()


def test_signals_jurisdiction_and_consent_round_trip(client: FlaskClient, tmp_path: Path) -> None:
    response = client.post("/v1/decisions", json=HOST)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["effect"] == "deny" and body["band"] == "16-18"
    assert [r["code"] for r in body["reasons"]] == ["guardian_consent_required"]
    assert body["remedies"] == [
        {"type": "verify_age", "at_least": 18},
        {"type": "guardian_consent", "action": "livestream.host"},
    ]
    facts = body["facts"]
    assert facts["age"] is None
    assert facts["age_range"] == {
        "lower": 16,
        "upper": None,
        "source": "apple_declared_age_range",
        "method": "payment",
    }
    assert facts["jurisdiction"] == "CN-BJ"
    assert "policies" not in body  # no floors in cn-baseline
    logged = json.loads((tmp_path / "decisions.jsonl").read_text().splitlines()[0])
    assert logged["request"]["subject"]["age_signals"][0]["lower"] == 16
    assert "id" not in logged["request"]["subject"]


def test_explain_takes_the_new_fields(client: FlaskClient) -> None:
    response = client.post("/v1/decisions?explain=true", json=HOST)
    assert response.status_code == 200, response.get_json()
    trace = response.get_json()["trace"]
    assert {t["detail"].split(":")[0] for t in trace if t["applies"]} >= {"age 16", "age 18"}


@pytest.mark.parametrize(
    ("path", "value", "loc"),
    [
        (("subject", "jurisdiction"), "UK", ["subject", "jurisdiction"]),
        (("subject", "jurisdiction"), "\u00e9\u00e9", ["subject", "jurisdiction"]),
        (("subject", "jurisdiction"), 86, ["subject", "jurisdiction"]),
        (("subject", "age_signals"), [{"source": "a", "lower": 16, "upper": 13,
                                       "method": "gov_id"}], ["subject", "age_signals", 0]),
        (("subject", "age_signals"), [{"source": "a", "lower": -1, "method": "gov_id"}],
         ["subject", "age_signals", 0, "lower"]),
        (("subject", "age_signals"), [{"source": "a", "upper": 151, "method": "gov_id"}],
         ["subject", "age_signals", 0, "upper"]),
        (("subject", "age_signals"), [{"source": "a", "lower": 3, "method": "vibes"}],
         ["subject", "age_signals", 0, "method"]),
        (("subject", "age_signals"), [{"lower": 3, "method": "gov_id"}],
         ["subject", "age_signals", 0, "source"]),
        (("subject", "age_signals"), [{"source": "a", "method": "gov_id", "extra": 1}],
         ["subject", "age_signals", 0, "extra"]),
        (("subject", "age_signals"), "13-15", ["subject", "age_signals"]),
        (("guardian", "app_consent"), "maybe", ["guardian", "app_consent"]),
        (("guardian", "linked"), "yes please", ["guardian", "linked"]),
        (("usage", "app_today_seconds"), -1, ["usage", "app_today_seconds"]),
        (("usage", "week_seconds"), 10**12, ["usage", "week_seconds"]),
    ],
)  # fmt: skip
def test_bad_values_are_400s_naming_the_field(
    client: FlaskClient, path: tuple[str, str], value: Any, loc: list[Any]
) -> None:
    request = json.loads(json.dumps(HOST))
    request[path[0]][path[1]] = value
    response = client.post("/v1/decisions", json=request)
    assert response.status_code == 400, response.get_json()
    problems = response.get_json()["errors"]
    assert problems[0]["loc"] == loc, problems


@pytest.fixture
def world_client(tmp_path: Path) -> FlaskClient:
    folder = tmp_path / "world"
    folder.mkdir()
    for pack in CONFIGS.glob("*.toml"):
        if not pack.name.endswith("_test.toml"):
            shutil.copy(pack, folder)
    shutil.copy(CONFIGS / "examples" / "acme-global.toml", folder)
    config = ServerConfig(
        policies=str(folder),
        state_dir=str(tmp_path / "state"),
        decision_log="off",
        store=f"sqlite:///{tmp_path}/ledger.db",
    )
    return create_app(config).test_client()


def test_floors_and_the_new_response_fields_over_http(world_client: FlaskClient) -> None:
    body: dict[str, Any] = {
        "policy": "acme-global",
        "subject": {"age": 12, "verified": True, "jurisdiction": "vn"},
        "action": "game.play",
        "at": "2026-12-01T10:00:00+07:00",
        "usage": {"today_seconds": 9000, "app_today_seconds": 3600, "week_seconds": 20000},
        "resource": {"app": "com.acme.racer"},
    }
    answer = world_client.post("/v1/decisions", json=body).get_json()
    assert [r["code"] for r in answer["reasons"]] == ["app_daily_limit"]
    reason = answer["reasons"][0]
    assert reason["rule"].startswith("vn-decree-147/")
    assert reason["messages"]["vi"]  # the pack's own language, besides zh-CN and en
    assert [p["id"] for p in answer["policies"]] == ["acme-global", "vn-decree-147"]
    assert all(p["digest"].startswith("sha256:") for p in answer["policies"])
    facts = answer["facts"]
    assert (facts["jurisdiction"], facts["app_today_seconds"], facts["week_seconds"]) == (
        "VN",
        3600,
        20000,
    )


def test_consent_and_age_assurance_over_http(world_client: FlaskClient) -> None:
    body: dict[str, Any] = {
        "policy": "acme-global",
        "subject": {"id": "kid-tx", "jurisdiction": "US-TX", "age_signals": [
            {"source": "google_play_age_signals", "lower": 13, "upper": 15,
             "method": "guardian_declared"}]},
        "action": "app.use",
        "at": "2026-12-01T10:00:00-06:00",
        "guardian": {"app_consent": "revoked", "linked": True},
    }  # fmt: skip
    answer = world_client.post("/v1/decisions", json=body).get_json()
    assert [r["code"] for r in answer["reasons"]] == ["consent_revoked"]
    assert answer["facts"]["guardian"]["app_consent"] == "revoked"
    assert answer["facts"]["guardian"]["linked"] is True
    australia = {
        "policy": "acme-global",
        "subject": {"jurisdiction": "AU"},
        "action": "app.use",
        "at": "2026-12-01T10:00:00+11:00",
    }
    answer = world_client.post("/v1/decisions", json=australia).get_json()
    assert [r["code"] for r in answer["reasons"]] == ["age_assurance_required"]
    assert answer["remedies"][0]["type"] == "verify_age"
    assert answer["remedies"][0]["at_least"] == 16
    assert "self_declared" not in answer["remedies"][0]["methods"]


def test_the_openapi_document_has_the_new_fields(world_client: FlaskClient) -> None:
    text = json.dumps(world_client.get("/openapi.json").get_json())
    for name in (
        "age_signals",
        "jurisdiction",
        "app_consent",
        "linked",
        "app_today_seconds",
        "week_seconds",
        "age_range",
        "ignored_signals",
        "at_least",
        "policies",
    ):
        assert f'"{name}"' in text, name
