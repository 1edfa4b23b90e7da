"""The decision API through Flask's test client: contract, errors, auth, log, reload, metrics."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIGS, DECISION_FIELDS
from flask import Flask
from flask.testing import FlaskClient

import youthmode
from youthmode.api import create_app
from youthmode.server.auth import create_key
from youthmode.server.config import ServerConfig

KID = {"age": 12, "verified": True}
GAME = {
    "subject": KID,
    "action": "game.play",
    "at": "2026-11-27T20:30:00+08:00",
    "usage": {"today_seconds": 1200},
}


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "policies"
    folder.mkdir()
    shutil.copy(CONFIGS / "cn-baseline.toml", folder)
    return folder


def make_app(tmp_path: Path, policy_dir: Path, **settings: Any) -> Flask:
    config = ServerConfig(
        policies=str(policy_dir),
        state_dir=str(tmp_path / "state"),
        decision_log=str(tmp_path / "decisions.jsonl"),
        log_key="test-key",
        **settings,
    )
    return create_app(config)


@pytest.fixture
def client(tmp_path: Path, policy_dir: Path) -> FlaskClient:
    return make_app(tmp_path, policy_dir).test_client()


def log_lines(tmp_path: Path) -> list[dict[str, Any]]:
    text = (tmp_path / "decisions.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_decision_matches_the_library(client: FlaskClient, engine: youthmode.Engine) -> None:
    response = client.post("/v1/decisions", json=GAME)
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    expected = engine.decide(GAME).model_dump(mode="json")
    for volatile in ("decision_id",):
        body.pop(volatile), expected.pop(volatile)
    assert body == expected
    assert body["remaining_seconds"] == 1800


def test_deny_is_200_with_reasons(client: FlaskClient) -> None:
    response = client.post("/v1/decisions", json={**GAME, "at": "2026-11-27T19:30:00+08:00"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["effect"] == "deny" and body["allowed"] is False
    assert body["next_allowed_at"] == "2026-11-27T20:00:00+08:00"


def test_explain_adds_the_trace(client: FlaskClient) -> None:
    body = client.post("/v1/decisions?explain=true", json=GAME).get_json()
    rules = {t["rule"]: t["outcome"] for t in body["trace"]}
    assert rules["cn-baseline/game-window"] == "pass"
    assert "trace" not in client.post("/v1/decisions", json=GAME).get_json()


def test_amounts_in_json_numbers_are_exact(client: FlaskClient) -> None:
    base = {"subject": KID, "action": "game.purchase", "at": "2026-11-27T20:30:00+08:00"}
    raw = json.dumps(base)[:-1] + ', "resource": {"amount": 50.01}}'
    body = client.post("/v1/decisions", data=raw, content_type="application/json").get_json()
    assert [r["code"] for r in body["reasons"]] == ["per_transaction_cap"]
    raw = (
        json.dumps(base)[:-1] + ', "resource": {"amount": 50.00}, "usage": {"month_spent": 150.00}}'
    )
    assert client.post("/v1/decisions", data=raw, content_type="application/json").get_json()[
        "allowed"
    ]


def test_batch_keeps_order_and_isolates_bad_items(client: FlaskClient, tmp_path: Path) -> None:
    requests = [
        GAME,
        {"action": "game.ply"},
        {**GAME, "at": "2026-11-27T21:00:00+08:00"},
        {"action": "app.use", "subject": {"agee": 3}},
    ]
    response = client.post("/v1/decisions/batch", json={"requests": requests})
    assert response.status_code == 200
    body = response.get_json()
    first, bad, third, bad2 = body["decisions"]
    assert first["effect"] == "allow" and third["effect"] == "deny"
    assert bad["status"] == 400 and bad["index"] == 1
    assert bad["errors"][0]["code"] == "unknown_action"
    assert bad2["errors"][0]["hint"] == "did you mean `age`?" and bad2["index"] == 3
    entries = log_lines(tmp_path)
    assert len(entries) == 2
    assert {e["batch_id"] for e in entries} == {body["batch_id"]}


def test_batch_limits_and_shape(tmp_path: Path, policy_dir: Path) -> None:
    client = make_app(tmp_path, policy_dir, batch_limit=3).test_client()
    response = client.post("/v1/decisions/batch", json={"requests": [GAME] * 4})
    assert response.status_code == 413 and response.mimetype == "application/problem+json"
    assert "limit is 3" in response.get_json()["detail"]
    assert client.post("/v1/decisions/batch", json=[GAME]).status_code == 400
    assert client.post("/v1/decisions/batch", json={"requests": [GAME], "x": 1}).status_code == 400


@pytest.mark.parametrize(
    ("kwargs", "status", "title"),
    [
        ({"data": "{not json", "content_type": "application/json"}, 400, "Malformed JSON"),
        ({"data": '{"action": NaN}', "content_type": "application/json"}, 400, "Malformed JSON"),
        (
            {"data": "action=app.use", "content_type": "application/x-www-form-urlencoded"},
            415,
            "Unsupported media type",
        ),
        ({"data": json.dumps(GAME)}, 415, "Unsupported media type"),
        ({"json": [1, 2]}, 400, "Invalid request"),
        ({"json": {"action": 5}}, 400, "Invalid request"),
        ({"json": {"action": "app.use", "subject": {"age": "x"}}}, 400, "Invalid request"),
    ],
)
def test_bad_bodies_are_problems(
    client: FlaskClient, kwargs: dict[str, Any], status: int, title: str
) -> None:
    response = client.post("/v1/decisions", **kwargs)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["title"] == title and body["status"] == status
    assert body["type"].startswith("urn:youthmode:problem:") and body["detail"]


def test_unknown_fields_policy_and_action_are_named(client: FlaskClient) -> None:
    body = client.post("/v1/decisions", json={"action": "app.use", "subjct": {}}).get_json()
    assert body["errors"] == [
        {
            "loc": ["subjct"],
            "msg": "unknown field `subjct`",
            "code": "unknown_field",
            "hint": "did you mean `subject`?",
        }
    ]
    body = client.post("/v1/decisions", json={"action": "app.use", "policy": "cn"}).get_json()
    assert body["known"] == ["cn-baseline"] and body["errors"][0]["code"] == "unknown_policy"
    body = client.post("/v1/decisions", json={"action": "tip"}).get_json()
    assert "livestream.tip" in body["known"]


def test_body_too_large(tmp_path: Path, policy_dir: Path) -> None:
    client = make_app(tmp_path, policy_dir, max_body_bytes=200).test_client()
    response = client.post("/v1/decisions", json={**GAME, "padding": "x" * 500})
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def test_unknown_path_and_wrong_method(client: FlaskClient) -> None:
    response = client.get("/v1/nothing")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    response = client.get("/v1/decisions")
    assert response.status_code == 405 and "POST" in response.headers["Allow"]
    assert response.get_json()["title"] == "Method not allowed"


def test_policies_listing(client: FlaskClient) -> None:
    body = client.get("/v1/policies").get_json()
    assert body["default"] == "cn-baseline"
    [policy] = body["policies"]
    assert policy["version"] == "2024.11" and policy["digest"].startswith("sha256:")
    assert [b["id"] for b in policy["bands"]][-1] == "adult"
    detail = client.get("/v1/policies/cn-baseline").get_json()
    assert any(r["rule"] == "cn-baseline/curfew" and r["waivable"] for r in detail["rules"])
    missing = client.get("/v1/policies/cn-basline")
    assert (
        missing.status_code == 404 and "did you mean `cn-baseline`" in missing.get_json()["detail"]
    )


class TestAuth:
    @pytest.fixture
    def keyed(self, tmp_path: Path, policy_dir: Path) -> tuple[FlaskClient, dict[str, str]]:
        keys = tmp_path / "keys.toml"
        secrets = {scope: create_key(keys, f"k-{scope}", [scope]) for scope in ("decide", "admin")}
        assert secrets["decide"] not in keys.read_text()  # only hashes are stored
        client = make_app(tmp_path, policy_dir, keys_file=str(keys)).test_client()
        return client, secrets

    def test_no_key_is_401(self, keyed: tuple[FlaskClient, dict[str, str]]) -> None:
        client, _ = keyed
        response = client.post("/v1/decisions", json=GAME)
        assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
        assert response.mimetype == "application/problem+json"
        bad = client.post("/v1/decisions", json=GAME, headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401

    def test_scopes(self, keyed: tuple[FlaskClient, dict[str, str]]) -> None:
        client, secrets = keyed
        decide = {"Authorization": f"Bearer {secrets['decide']}"}
        admin = {"Authorization": f"Bearer {secrets['admin']}"}
        assert client.post("/v1/decisions", json=GAME, headers=decide).status_code == 200
        assert client.post("/v1/decisions", json=GAME, headers=admin).status_code == 403
        denied = client.post("/v1/admin/reload", headers=decide)
        assert denied.status_code == 403 and "lacks scope `admin`" in denied.get_json()["detail"]
        assert client.post("/v1/admin/reload", headers=admin).status_code == 200

    def test_open_endpoints(self, keyed: tuple[FlaskClient, dict[str, str]]) -> None:
        client, secrets = keyed
        for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"):
            assert client.get(path).status_code == 200, path
        # Without a key, readiness and nothing more; any valid key sees the details.
        assert client.get("/readyz").get_json() == {"status": "ready", "ready": True}
        wrong = {"Authorization": "Bearer ym_wrong"}
        assert client.get("/readyz", headers=wrong).get_json() == {"status": "ready", "ready": True}
        for secret in secrets.values():
            full = client.get("/readyz", headers={"Authorization": f"Bearer {secret}"})
            assert full.get_json()["mode"] == "production" and "digest" in full.get_json()


def test_decision_log_is_pseudonymous_and_replayable(client: FlaskClient, tmp_path: Path) -> None:
    request = {**GAME, "subject": {"id": "u-42", "birthdate": "2014-03-02", "verified": True}}
    decision = client.post("/v1/decisions", json=request).get_json()
    [line] = (tmp_path / "decisions.jsonl").read_text(encoding="utf-8").splitlines()
    assert "u-42" not in line and "2014-03-02" not in line
    entry = json.loads(line)
    assert entry["decision_id"] == decision["decision_id"]
    assert entry["policy"] == decision["policy"] and entry["batch_id"] is None
    assert len(entry["subject"]) == 32 and entry["effect"] == "allow"
    assert entry["facts"]["age"] == 12 and entry["request"]["subject"]["age"] == 12
    assert entry["latency_ms"] >= 0
    # Replaying the logged request under the same policy gives the same decision.
    replay = youthmode.Engine.from_path(CONFIGS).decide(entry["request"])
    assert (replay.effect, replay.remaining_seconds) == ("allow", decision["remaining_seconds"])
    again = client.post("/v1/decisions", json=request)
    assert json.loads(again.data)["decision_id"] != decision["decision_id"]
    assert len({e["subject"] for e in log_lines(tmp_path)}) == 1  # stable pseudonym


class TestReload:
    def test_good_edit_changes_the_digest(self, client: FlaskClient, policy_dir: Path) -> None:
        before = client.get("/readyz").get_json()["digest"]
        path = policy_dir / "cn-baseline.toml"
        path.write_text(path.read_text().replace('limit = "60m"', 'limit = "45m"'))
        response = client.post("/v1/admin/reload")
        assert response.status_code == 200 and response.get_json()["ok"]
        ready = client.get("/readyz").get_json()
        assert ready["digest"] != before and not ready["stale"]
        body = client.post(
            "/v1/decisions",
            json={
                "subject": KID,
                "action": "app.use",
                "at": "2026-11-25T10:00:00+08:00",
                "usage": {"today_seconds": 2700},
            },
        ).get_json()
        assert body["effect"] == "deny" and body["policy"]["digest"] != before

    def test_broken_edit_keeps_the_last_good(self, client: FlaskClient, policy_dir: Path) -> None:
        before = client.post("/v1/decisions", json=GAME).get_json()["policy"]["digest"]
        path = policy_dir / "cn-baseline.toml"
        path.write_text(path.read_text().replace('kind = "daily_budget"', 'kind = "daily_budgt"'))
        response = client.post("/v1/admin/reload")
        assert response.status_code == 422 and response.mimetype == "application/problem+json"
        problems = response.get_json()["problems"]
        assert problems[0]["code"] == "unknown_rule_kind"
        assert problems[0]["file"].endswith("cn-baseline.toml") and problems[0]["line"] > 1
        assert client.post("/v1/decisions", json=GAME).get_json()["policy"]["digest"] == before
        ready = client.get("/readyz")
        assert ready.status_code == 200
        body = ready.get_json()
        assert body["stale"] and not body["last_reload"]["ok"]
        assert body["last_reload"]["problems"][0]["code"] == "unknown_rule_kind"
        metrics = client.get("/metrics").data.decode()
        assert 'youthmode_policy_reloads_total{outcome="rejected",source="admin"} 1.0' in metrics

    def test_not_ready_when_stale_if_configured(self, tmp_path: Path, policy_dir: Path) -> None:
        client = make_app(tmp_path, policy_dir, not_ready_when_stale=True).test_client()
        (policy_dir / "cn-baseline.toml").write_text("[policy\n")
        client.post("/v1/admin/reload")
        assert client.get("/readyz").status_code == 503

    def test_polling_picks_up_edits(self, tmp_path: Path, policy_dir: Path) -> None:
        app = make_app(tmp_path, policy_dir)
        holder = app.extensions["youthmode"].holder
        assert holder.poll_once() is None
        path = policy_dir / "cn-baseline.toml"
        path.write_text(path.read_text().replace('version = "2024.11"', 'version = "2024.12"'))
        result = holder.poll_once()
        assert result is not None and result.ok and result.source == "poll"
        assert (
            app.test_client().get("/v1/policies").get_json()["policies"][0]["version"] == "2024.12"
        )

    def test_boot_with_broken_files_serves_the_snapshot(
        self, tmp_path: Path, policy_dir: Path
    ) -> None:
        make_app(tmp_path, policy_dir)  # a good boot leaves a last-good snapshot
        (policy_dir / "cn-baseline.toml").write_text("[policy]\nid = 1\n")
        client = make_app(tmp_path, policy_dir).test_client()
        ready = client.get("/readyz").get_json()
        assert ready["source"] == "last-good snapshot" and ready["stale"]
        assert client.post("/v1/decisions", json=GAME).get_json()["allowed"]

    def test_boot_with_broken_files_and_no_snapshot_fails(
        self, tmp_path: Path, policy_dir: Path
    ) -> None:
        (policy_dir / "cn-baseline.toml").write_text("[policy]\nid = 1\n")
        with pytest.raises(youthmode.PolicyError):
            make_app(tmp_path, policy_dir)


def test_metrics_count_decisions(client: FlaskClient) -> None:
    client.post("/v1/decisions", json=GAME)
    client.post("/v1/decisions", json={**GAME, "at": "2026-11-27T19:00:00+08:00"})
    late = {**GAME, "at": "2026-11-27T23:00:00+08:00"}  # curfew and outside the window
    client.post("/v1/decisions/batch", json={"requests": [GAME, GAME, late, late, {"x": 1}]})
    text = client.get("/metrics").data.decode()
    assert 'youthmode_decisions_total{effect="allow",policy="cn-baseline"} 3.0' in text
    assert 'youthmode_decisions_total{effect="deny",policy="cn-baseline"} 3.0' in text
    assert (
        'youthmode_decision_reasons_total{policy="cn-baseline",reason="outside_allowed_window"} 3.0'
    ) in text
    assert 'youthmode_decision_reasons_total{policy="cn-baseline",reason="curfew"} 2.0' in text
    assert "youthmode_batch_size_count 1.0" in text
    assert 'youthmode_decision_latency_seconds_count{endpoint="decision"} 2.0' in text
    assert 'youthmode_policy_info{digest="sha256:' in text


def test_openapi_and_docs_are_self_contained(client: FlaskClient) -> None:
    doc = client.get("/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    schemas = doc["components"]["schemas"]
    assert {"DecisionRequest", "DecisionWithTrace", "Problem", "BatchResponse"} <= set(schemas)
    action = schemas["DecisionRequest"]["properties"]["action"]
    assert action["type"] == "string" and "enum" not in action  # new actions break no client
    assert "game.play" in action["examples"]
    assert set(DECISION_FIELDS) <= set(schemas["DecisionWithTrace"]["properties"])
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.data.decode()
    assert "openapi.json" in html
    assert "http://" not in html and "https://" not in html  # nothing from any outside host


def test_deeply_nested_json_is_a_400(client: FlaskClient) -> None:
    response = client.post("/v1/decisions", data="[" * 100_000, content_type="application/json")
    assert response.status_code == 400 and response.get_json()["title"] == "Malformed JSON"


def test_far_out_times_are_400(client: FlaskClient) -> None:
    response = client.post("/v1/decisions", json={**GAME, "at": "9999-12-31T23:59:59-12:00"})
    assert response.status_code == 400


def test_reload_that_loses_the_default_policy_is_refused(tmp_path: Path, policy_dir: Path) -> None:
    client = make_app(tmp_path, policy_dir, default_policy="cn-baseline").test_client()
    path = policy_dir / "cn-baseline.toml"
    path.write_text(path.read_text().replace('id = "cn-baseline"', 'id = "cn-base"', 1))
    response = client.post("/v1/admin/reload")
    assert response.status_code == 422
    assert response.get_json()["problems"][0]["code"] == "unknown_policy"
    assert client.get("/readyz").get_json()["stale"]


def test_polled_reloads_are_counted_and_published(tmp_path: Path, policy_dir: Path) -> None:
    app = make_app(tmp_path, policy_dir)
    path = policy_dir / "cn-baseline.toml"
    path.write_text(path.read_text().replace('version = "2024.11"', 'version = "2024.12"'))
    assert app.extensions["youthmode"].holder.poll_once() is not None
    text = app.test_client().get("/metrics").data.decode()
    assert 'youthmode_policy_reloads_total{outcome="ok",source="poll"} 1.0' in text
    assert 'version="2024.12"} 1.0' in text and 'version="2024.11"} 0.0' in text


# -- request ids --------------------------------------------------------------------------------
def test_every_answer_carries_a_request_id(client: FlaskClient) -> None:
    given = {"X-Request-Id": "req-42.a:b_C"}
    answers = [
        client.post("/v1/decisions", json=GAME, headers=given),
        client.post("/v1/decisions", json={"action": "nope"}, headers=given),  # 400
        client.get("/v1/nothing", headers=given),  # 404
        client.get("/healthz", headers=given),
        client.get("/readyz", headers=given),
        client.get("/metrics", headers=given),
    ]
    assert [a.headers["X-Request-Id"] for a in answers] == ["req-42.a:b_C"] * len(answers)
    for bad in ("", "has space", "x" * 129, "semi;colon", "ünï"):
        made = client.get("/healthz", headers={"X-Request-Id": bad}).headers["X-Request-Id"]
        assert made != bad and len(made) == 32 and int(made, 16) >= 0
    ids = {client.get("/healthz").headers["X-Request-Id"] for _ in range(3)}
    assert len(ids) == 3  # made up afresh for each request
    assert client.get("/healthz", headers={"X-Request-Id": "x" * 128}).headers["X-Request-Id"] == (
        "x" * 128
    )


def test_an_internal_error_names_its_request_id(tmp_path: Path, policy_dir: Path) -> None:
    app = make_app(tmp_path, policy_dir)
    app.add_url_rule("/boom", "boom", lambda: 1 // 0)  # a bug, as no real route has one
    response = app.test_client().get("/boom", headers={"X-Request-Id": "r-500"})
    assert response.status_code == 500 and response.headers["X-Request-Id"] == "r-500"
    assert response.get_json()["detail"] == "unexpected error; trace id r-500"


def test_the_decision_log_gets_the_request_id_and_the_key(tmp_path: Path, policy_dir: Path) -> None:
    keys = tmp_path / "keys.toml"
    secret = create_key(keys, "game-backend", ["decide"])
    client = make_app(tmp_path, policy_dir, keys_file=str(keys)).test_client()
    headers = {"Authorization": f"Bearer {secret}", "X-Request-Id": "r-1"}
    client.post("/v1/decisions", json=GAME, headers=headers)
    client.post("/v1/decisions/batch", json={"requests": [GAME, GAME]}, headers=headers)
    made = client.post(
        "/v1/decisions", json=GAME, headers={"Authorization": f"Bearer {secret}"}
    ).headers["X-Request-Id"]
    entries = [(e["request_id"], e["key_id"]) for e in log_lines(tmp_path)]
    assert entries == [("r-1", "game-backend")] * 3 + [(made, "game-backend")]


# -- scopes: what a `decide` key sees of the ledger ---------------------------------------------
SUBJECT = {"id": "kid-1", "age": 12, "verified": True}


class TestScopes:
    @pytest.fixture
    def keyed(
        self, tmp_path: Path, policy_dir: Path, freezer: Any
    ) -> tuple[FlaskClient, dict[str, dict[str, str]]]:
        freezer.move_to("2026-11-27T12:30:00Z")  # Friday 20:30 in Shanghai
        keys = tmp_path / "keys.toml"
        scopes = {
            "decide": ["decide"],
            "decide+usage": ["decide", "usage"],
            "decide+guardian": ["decide", "guardian"],
            "all": ["decide", "usage", "guardian"],
        }
        headers = {
            name: {"Authorization": f"Bearer {create_key(keys, name.replace('+', '-'), s)}"}
            for name, s in scopes.items()
        }
        client = make_app(tmp_path, policy_dir, keys_file=str(keys)).test_client()
        events = {
            "subject_id": "kid-1",
            "events": [
                {
                    "id": "e1",
                    "action": "app.use",
                    "start": "2026-11-27T19:00:00+08:00",
                    "end": "2026-11-27T19:40:00+08:00",
                }
            ],
        }
        assert client.post("/v1/usage", json=events, headers=headers["all"]).status_code == 200
        settings = {"actor": "mum", "settings": {"daily_limit": "45m", "waivers": ["curfew"]}}
        path = "/v1/subjects/kid-1/guardian"
        assert client.patch(path, json=settings, headers=headers["all"]).status_code == 200
        grant = {"actor": "mum", "minutes": 15}
        assert client.post(path + "/grants", json=grant, headers=headers["all"]).status_code == 200
        return client, headers

    def decide(
        self, client: FlaskClient, headers: dict[str, str], query: str = "", **more: Any
    ) -> dict[str, Any]:
        body = {"subject": SUBJECT, "action": "app.use", **more}
        response = client.post("/v1/decisions" + query, json=body, headers=headers)
        assert response.status_code == 200, response.get_json()
        result: dict[str, Any] = response.get_json()
        return result

    def test_a_decide_key_gets_the_decision_without_the_ledger_figures(
        self, keyed: tuple[FlaskClient, dict[str, dict[str, str]]]
    ) -> None:
        client, headers = keyed
        full = self.decide(client, headers["all"])
        assert full["facts"]["today_seconds"] == 2400 and full["facts"]["guardian"] == {
            "daily_limit_seconds": 2700,
            "extra_seconds": 900,
        }
        assert full["facts"]["waived"] == ["curfew"] and "redacted" not in full["facts"]
        bare = self.decide(client, headers["decide"])
        assert full["facts"]["week_seconds"] == 2400  # the ledger fills the week's use too
        for name in ("today_seconds", "session_seconds", "week_seconds", "guardian", "waived"):
            assert name not in bare["facts"], name
        assert bare["facts"]["redacted"] == [
            "today_seconds",
            "session_seconds",
            "week_seconds",
            "guardian",
            "waived",
        ]
        # The decision itself is the same.
        for name in ("effect", "reasons", "remaining_seconds", "next_allowed_at", "band"):
            assert bare[name] == full[name], name
        usage = self.decide(client, headers["decide+usage"])["facts"]
        assert usage["today_seconds"] == 2400 and usage["redacted"] == ["guardian", "waived"]
        guardian = self.decide(client, headers["decide+guardian"])["facts"]
        assert guardian["guardian"]["extra_seconds"] == 900 and "today_seconds" not in guardian
        assert guardian["redacted"] == ["today_seconds", "session_seconds", "week_seconds"]

    def test_usage_the_caller_sent_is_its_own(
        self, keyed: tuple[FlaskClient, dict[str, dict[str, str]]]
    ) -> None:
        client, headers = keyed
        facts = self.decide(client, headers["decide"], usage={"today_seconds": 60})["facts"]
        assert facts["today_seconds"] == 60 and facts["redacted"] == ["guardian", "waived"]
        anonymous = {"subject": {"age": 12, "verified": True}, "action": "app.use"}
        facts = client.post("/v1/decisions", json=anonymous, headers=headers["decide"]).get_json()
        assert "redacted" not in facts["facts"]  # no subject id: nothing from the ledger

    def test_explain_traces_do_not_tell_either(
        self, keyed: tuple[FlaskClient, dict[str, dict[str, str]]]
    ) -> None:
        client, headers = keyed
        full = self.decide(client, headers["all"], "?explain=true")
        details = {t["rule"]: t["detail"] for t in full["trace"]}
        assert "2400s" in details["guardian/daily-limit"]
        assert "2400s" in details["cn-baseline/daily-limit-under-16"]
        bare = self.decide(client, headers["decide"], "?explain=true")
        trace = {t["rule"]: t for t in bare["trace"]}
        assert "guardian/daily-limit" not in trace  # it passed: only its existence would tell
        budget = trace["cn-baseline/daily-limit-under-16"]
        assert budget["detail"] == "withheld: needs the `guardian` scope"
        assert trace["cn-baseline/curfew"]["outcome"] == full_outcome(full, "cn-baseline/curfew")
        text = json.dumps(bare)
        assert "2400" not in json.dumps(bare["trace"]) and "2700" not in text and "900s" not in text
        assert bare["effect"] == full["effect"]

    def test_batches_are_redacted_item_by_item(
        self, keyed: tuple[FlaskClient, dict[str, dict[str, str]]]
    ) -> None:
        client, headers = keyed
        item = {"subject": SUBJECT, "action": "app.use"}
        body = {"requests": [item, {**item, "usage": {"today_seconds": 5}}]}
        first, second = client.post(
            "/v1/decisions/batch", json=body, headers=headers["decide"]
        ).get_json()["decisions"]
        assert "today_seconds" not in first["facts"] and second["facts"]["today_seconds"] == 5


def full_outcome(decision: dict[str, Any], rule: str) -> str:
    return str({t["rule"]: t["outcome"] for t in decision["trace"]}[rule])


# -- tenants: keys bound to a subject-id prefix -------------------------------------------------
class TestTenants:
    @pytest.fixture
    def acme(self, tmp_path: Path) -> tuple[Path, dict[str, str]]:
        keys = tmp_path / "keys.toml"
        secret = create_key(keys, "acme", ["decide", "usage"], subjects="acme:")
        return keys, {"Authorization": f"Bearer {secret}"}

    @pytest.mark.parametrize("store", [None, "off"])  # with the ledger and without
    def test_a_tenant_key_decides_only_its_subjects(
        self, tmp_path: Path, policy_dir: Path, acme: tuple[Path, dict[str, str]], store: Any
    ) -> None:
        keys, headers = acme
        client = make_app(tmp_path, policy_dir, keys_file=str(keys), store=store).test_client()
        mine = {**GAME, "subject": {**KID, "id": "acme:42"}}
        assert client.post("/v1/decisions", json=mine, headers=headers).status_code == 200
        anonymous = client.post("/v1/decisions", json=GAME, headers=headers)
        assert anonymous.status_code == 200
        foreign = {**GAME, "subject": {**KID, "id": "globex:42"}}
        for query in ("", "?explain=true"):
            response = client.post("/v1/decisions" + query, json=foreign, headers=headers)
            assert response.status_code == 403 and response.mimetype == "application/problem+json"
            problem = response.get_json()
            assert problem["errors"][0]["loc"] == ["subject", "id"]
            assert (
                "`acme:`" in problem["detail"] and problem["errors"][0]["code"] == "foreign_subject"
            )
        batch = client.post(
            "/v1/decisions/batch", json={"requests": [mine, foreign, GAME]}, headers=headers
        )
        assert batch.status_code == 200
        first, refused, third = batch.get_json()["decisions"]
        assert first["effect"] == third["effect"] == "allow"
        assert refused["status"] == 403 and refused["index"] == 1
        assert refused["errors"][0]["code"] == "foreign_subject"

    def test_keys_create_binds_a_key_to_a_prefix(self, tmp_path: Path) -> None:
        from youthmode.cli import main
        from youthmode.server.auth import load_keys

        path = tmp_path / "keys.toml"
        code = main(["keys", "create", "--id", "t", "--scopes", "decide", "--subjects", "acme:",
                     "--file", str(path)])  # fmt: skip
        assert code == 0
        create_key(path, "odd", ["decide"], subjects='a"b\\c:é')
        create_key(path, "free", ["decide"])
        by_id = {k.id: k for k in load_keys(path)}
        assert by_id["t"].subjects == "acme:" and by_id["odd"].subjects == 'a"b\\c:é'
        assert by_id["free"].subjects is None
        assert main(["keys", "create", "--id", "u", "--scopes", "decide", "--subjects", "",
                     "--file", str(path)]) == 2  # fmt: skip


@pytest.mark.parametrize(
    "content",
    [
        b"x = " + b"[" * 5000 + b"]" * 5000,  # RecursionError inside tomllib
        b"\xff\xfe[[keys]]",  # not UTF-8
        b'[[keys]]\nid = "a"\nsha256 = "' + b"0" * 64 + b'"\nscopes = ["decide"]\nsubjects = 5\n',
        b'[[keys]]\nid = "a"\nsha256 = "' + b"0" * 64 + b'"\nscopes = ["decide"]\nsubjects = ""\n',
        b"keys = 5",
        b'keys = ["a"]',
        b"[keys]\nid = 1",
    ],
)
def test_any_broken_keys_file_is_a_key_file_error(tmp_path: Path, content: bytes) -> None:
    from youthmode.server.auth import KeyFileError, load_keys

    path = tmp_path / "keys.toml"
    path.write_bytes(content)
    with pytest.raises(KeyFileError):
        load_keys(path)


def test_readyz_tells_the_store_address_only_to_a_key(tmp_path: Path, policy_dir: Path) -> None:
    keys = tmp_path / "keys.toml"
    secret = create_key(keys, "ops", ["usage"])
    client = make_app(
        tmp_path, policy_dir, keys_file=str(keys), store="redis://127.0.0.1:1/0"
    ).test_client()
    bare = client.get("/readyz")
    assert bare.status_code == 200 and bare.get_json() == {"status": "ready", "ready": True}
    assert "127.0.0.1" not in bare.get_data(as_text=True)
    full = client.get("/readyz", headers={"Authorization": f"Bearer {secret}"}).get_json()
    assert full["store"]["ok"] is False and full["policies"]
    dev = make_app(tmp_path, policy_dir).test_client().get("/readyz").get_json()
    assert dev["mode"] == "development" and "policies" in dev  # no keys: everyone sees it


def test_explain_agrees_with_decide_on_guardian_grants(client: FlaskClient) -> None:
    request = {**GAME, "action": "app.use", "usage": {"today_seconds": 3500}}
    request["guardian"] = {"extra_seconds": 600}
    decided = client.post("/v1/decisions", json=request).get_json()
    explained = client.post("/v1/decisions?explain=true", json=request).get_json()
    assert explained.pop("trace") and decided["allowed"] and decided["remaining_seconds"] == 700
    for body in (decided, explained):
        body.pop("decision_id")
    assert explained == decided
