"""The statuses and codes docs/guardian.md and docs/api.md promise, asked of a real server.

Each case names the sentence of the docs it holds. The one case that needs time to pass (a time
request answered after it expired) runs on the Flask app with a frozen clock, as a real
server's clock cannot be moved.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIGS
from test_server import Server

import youthmode
from youthmode.api import create_app
from youthmode.server.config import ServerConfig

G = "/v1/subjects/{}/guardian"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("statuses")
    (root / "policies").mkdir()
    shutil.copy(CONFIGS / "au-smma.toml", root / "policies")  # a pack with no waivable budget
    started = Server(root)
    yield started
    started.stop()


def codes(body: Any) -> list[str]:
    return [e.get("code") for e in body.get("errors") or []]


# (what the docs say, method, path under the subject's guardian, body, headers, status, code)
CASES = [
    ("guardian.md: without an actor, a 400", "PATCH", "", {"settings": {"daily_limit": "45m"}},
     {}, 400, None),
    ("guardian.md: a statutory rule is not waived, 422", "PATCH", "",
     {"actor": "mum", "settings": {"waivers": ["outside_allowed_window"]}}, {}, 422,
     "guardian_refused"),
    ("guardian.md: daily_limit 0 is refused", "PATCH", "",
     {"actor": "mum", "settings": {"daily_limit": 0}}, {}, 422, "guardian_refused"),
    ("guardian.md: an empty curfew is refused", "PATCH", "",
     {"actor": "mum", "settings": {"curfew": ["21:00", "21:00"]}}, {}, 422, "guardian_refused"),
    ("guardian.md: a daily_limit over 24 hours is refused", "PATCH", "",
     {"actor": "mum", "settings": {"daily_limit": "25h"}}, {}, 422, "guardian_refused"),
    ("guardian.md: an unknown setting is a 400 unknown_field", "PATCH", "",
     {"actor": "mum", "settings": {"dailylimit": "45m"}}, {}, 400, "unknown_field"),
    ("guardian.md: app_consent outside the four states, 400", "PATCH", "",
     {"actor": "mum", "settings": {"app_consent": "granted"}}, {}, 400, "invalid_value"),
    ("guardian.md: linked that is not a boolean, 400", "PATCH", "",
     {"actor": "mum", "settings": {"linked": 1}}, {}, 400, "invalid_value"),
    ("guardian.md: a name over 200 characters, 422", "PATCH", "",
     {"actor": "mum", "settings": {"exempt_apps": ["a" * 201]}}, {}, 422, "guardian_refused"),
    ("guardian.md: a grant outside 1 to 1440 minutes, 422", "POST", "/grants",
     {"minutes": 1441}, {"X-Actor": "dad"}, 422, "guardian_refused"),
    ("guardian.md: a policy without a waivable budget refuses grants", "POST", "/grants",
     {"minutes": 30, "policy": "au-smma"}, {"X-Actor": "dad"}, 422, "guardian_refused"),
    ("guardian.md: ... and requests", "POST", "/requests", {"minutes": 30, "policy": "au-smma"},
     {}, 422, "guardian_refused"),
    ("guardian.md: a request's minutes outside 1 to 1440, 400", "POST", "/requests",
     {"minutes": 0}, {}, 400, "invalid_value"),
    ("guardian.md: a note over 500 characters, 400", "POST", "/requests", {"note": "x" * 501},
     {}, 400, "invalid_value"),
    ("guardian.md: an unknown request id is a 404", "POST", "/requests/r-nope/answer",
     {"actor": "mum", "answer": "15m"}, {}, 404, "unknown_request"),
    ("api.md: an unknown policy is a 400, not a 404", "GET", "?policy=nope", None, {}, 400,
     "unknown_policy"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_the_documented_status(server: Server, case: tuple[Any, ...]) -> None:
    _, method, path, body, headers, status, code = case
    answer = server.call(method, G.format("u-statuses") + path, body, headers)
    assert answer[0] == status, answer
    if code is not None:
        assert code in codes(answer[1]), answer


def test_answering_twice_is_a_409_and_a_bad_answer_a_400(server: Server) -> None:
    asks = G.format("u-answer") + "/requests"
    status, asked = server.call("POST", asks, {"minutes": 20, "note": "homework"})
    assert status == 201 and asked["status"] == "pending"
    answer = f"{asks}/{asked['id']}/answer"
    assert server.call("POST", answer, {"actor": "mum", "answer": "20m"})[0] == 400
    assert server.call("POST", answer, {"actor": "mum", "answer": "15m"})[0] == 200
    status, again = server.call("POST", answer, {"actor": "mum", "answer": "15m"})
    assert (status, codes(again)) == (409, ["request_closed"])
    assert again["errors"][0]["msg"] == f"time request `{asked['id']}` is approved"


def test_the_21st_waiting_request_is_a_409(server: Server) -> None:
    asks = G.format("u-many") + "/requests"
    for _ in range(20):
        assert server.call("POST", asks, {})[0] == 201
    status, body = server.call("POST", asks, {})
    assert (status, codes(body)) == (409, ["too_many_requests"])


def test_an_idempotency_key_reused_for_another_body_is_a_409(server: Server) -> None:
    grants = G.format("u-idem") + "/grants"
    headers = {"X-Actor": "dad", "Idempotency-Key": "k-1"}
    first = server.call("POST", grants, {"minutes": 5}, headers)
    assert first[0] == 200
    assert server.call("POST", grants, {"minutes": 5}, headers) == first
    status, body = server.call("POST", grants, {"minutes": 6}, headers)
    assert (status, codes(body)) == (409, ["idempotency_key_reused"])


def test_answering_an_expired_request_is_a_409(tmp_path: Path, freezer: Any) -> None:
    freezer.move_to("2026-11-27T12:30:00Z")  # 20:30 in Shanghai; the request lasts an hour
    config = ServerConfig(policies=str(CONFIGS), state_dir=str(tmp_path), decision_log="off")
    client = create_app(config).test_client()
    asked = client.post(G.format("u-late") + "/requests", json={"minutes": 20}).get_json()
    freezer.move_to("2026-11-27T13:31:00Z")
    late = client.post(
        G.format("u-late") + f"/requests/{asked['id']}/answer",
        json={"actor": "mum", "answer": "15m"},
    )
    assert late.status_code == 409
    assert late.get_json()["errors"][0]["msg"] == f"time request `{asked['id']}` is expired"


def test_the_decision_log_holds_what_the_ledger_filled_in(server: Server) -> None:
    """api.md, Replay: a decision whose counters came from the ledger is logged with them, so
    the logged request replays as it is."""
    now = datetime.now(UTC).replace(microsecond=0)
    event = {"id": "e-1", "action": "app.use", "start": (now - timedelta(minutes=20)).isoformat(),
             "end": (now - timedelta(minutes=10)).isoformat()}  # fmt: skip
    assert server.call("POST", "/v1/usage", {"subject_id": "u-log", "events": [event]})[0] == 200
    patch = {"actor": "mum", "settings": {"daily_limit": "45m"}}
    assert server.call("PATCH", G.format("u-log"), patch)[0] == 200
    kid = {"id": "u-log", "age": 12, "verified": True}
    status, decision = server.call("POST", "/v1/decisions", {"subject": kid, "action": "app.use"})
    assert status == 200
    logged = last_line(server.decision_log, decision["decision_id"])
    request = logged["request"]
    assert request["usage"]["today_seconds"] == decision["facts"]["today_seconds"] > 0
    assert request["guardian"]["daily_limit_seconds"] == 2700
    replayed = youthmode.Engine.from_path(CONFIGS).decide(request)
    assert (replayed.effect, replayed.reason_codes, replayed.remaining_seconds) == (
        decision["effect"],
        [r["code"] for r in decision["reasons"]],
        decision["remaining_seconds"],
    )


def last_line(log: Path, decision_id: str) -> dict[str, Any]:
    for line in reversed(log.read_text(encoding="utf-8").splitlines()):
        entry: dict[str, Any] = json.loads(line)
        if entry["decision_id"] == decision_id:
            return entry
    raise AssertionError(f"decision {decision_id} is not in the log")
