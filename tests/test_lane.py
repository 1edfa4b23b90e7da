"""The decision lane (youthmode/server/lane.py) answers exactly as the Flask view would.

The same requests go to two apps built alike, one with the lane and one with it unwrapped:
status, headers, body (but the random decision id), the decision-log line and the metrics must
agree, and the lane must actually have answered the plain ones itself.
"""

from __future__ import annotations

import io
import json
import random
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIGS
from random_requests import random_request

from youthmode.api import create_app
from youthmode.server.auth import ApiKey, KeyRing, hash_key
from youthmode.server.config import ServerConfig
from youthmode.server.http_metrics import HttpMetrics
from youthmode.server.lane import DecisionLane

KEYS = KeyRing(
    (
        ApiKey("backend", hash_key("s-decide"), frozenset({"decide"})),
        ApiKey("reader", hash_key("s-read"), frozenset({"usage:read"})),
    )
)
TENANTS = KeyRing((ApiKey("acme", hash_key("s-acme"), frozenset({"decide"}), "acme:"),))


NOW = datetime(2026, 11, 27, 12, 30, 15, tzinfo=UTC)  # Friday 20:30:15 in Shanghai


class Pair:
    """Two apps alike but for the lane; a request goes to both."""

    def __init__(self, tmp: Path, keys: KeyRing | None, store: str = "off") -> None:
        self.logs = (tmp / "lane.jsonl", tmp / "flask.jsonl")
        self.apps = []
        for log in self.logs:
            config = ServerConfig(
                policies=str(CONFIGS),
                state_dir=str(tmp / log.stem),
                decision_log=str(log),
                log_key="k",
                store=store if store == "off" else f"sqlite:///{tmp / log.stem}.db",
            )
            # One fixed clock for both: a body without `at` is decided at "now", and a second
            # ticking between the two apps' answers made them differ (seen under load).
            self.apps.append(create_app(config, keys=keys, clock=lambda: NOW))
        # Each app's stack: HttpMetrics (outermost), the lane, Flask. The second loses its lane.
        lane = self.apps[0].wsgi_app.app  # type: ignore[attr-defined]
        assert isinstance(lane, DecisionLane)
        metrics = self.apps[1].wsgi_app
        assert isinstance(metrics, HttpMetrics)
        metrics.app = metrics.app.app  # type: ignore[attr-defined]
        self.passed = 0
        inner = lane.app

        def counting(environ: dict[str, Any], start_response: Any) -> Any:
            self.passed += 1
            return inner(environ, start_response)

        lane.app = counting

    def call(self, body: bytes, **environ: str) -> list[tuple[str, dict[str, str], bytes]]:
        answers = []
        for app in self.apps:
            env: dict[str, Any] = {
                "REQUEST_METHOD": "POST",
                "PATH_INFO": "/v1/decisions",
                "SCRIPT_NAME": "",
                "QUERY_STRING": "",
                "SERVER_NAME": "127.0.0.1",
                "SERVER_PORT": "8080",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "REMOTE_ADDR": "127.0.0.1",
                "CONTENT_TYPE": "application/json",
                "CONTENT_LENGTH": str(len(body)),
                "HTTP_X_REQUEST_ID": "req-1",
                "wsgi.input": io.BytesIO(body),
                "wsgi.url_scheme": "http",
                "wsgi.errors": sys.stderr,
                "wsgi.multithread": False,
                "wsgi.multiprocess": True,
                "wsgi.run_once": False,
                "wsgi.version": (1, 0),
            }
            env.update(environ)
            got: dict[str, Any] = {}

            def start_response(
                status: str, headers: Any, exc: Any = None, got: dict[str, Any] = got
            ) -> None:
                got["status"], got["headers"] = status, dict(headers)

            out = app(env, start_response)
            data = b"".join(out)
            getattr(out, "close", lambda: None)()
            answers.append((got["status"], got["headers"], data))
        return answers

    def same(self, body: bytes, **environ: str) -> tuple[str, bytes]:
        (s1, h1, b1), (s2, h2, b2) = self.call(body, **environ)
        assert (s1, h1) == (s2, h2)
        assert _without_id(b1) == _without_id(b2)
        return s1, b1

    def log_lines(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        def read(path: Path) -> list[dict[str, Any]]:
            if not path.exists():
                return []
            lines = [json.loads(line) for line in path.read_text().splitlines()]
            for line in lines:
                for varying in ("ts", "decision_id", "latency_ms"):
                    line.pop(varying)
            return lines

        return read(self.logs[0]), read(self.logs[1])


def _without_id(body: bytes) -> Any:
    decoded = json.loads(body)
    if isinstance(decoded, dict):
        decoded.pop("decision_id", None)
    return decoded


def test_random_plain_decisions_are_answered_by_the_lane_as_by_flask(tmp_path: Path) -> None:
    pair = Pair(tmp_path, keys=None)
    rng = random.Random(13)
    for _ in range(300):
        status, _ = pair.same(json.dumps(random_request(rng), default=str).encode())
        assert status == "200 OK"
    assert pair.passed == 0  # the lane answered every one itself
    lane_log, flask_log = pair.log_lines()
    assert len(lane_log) == 300 and lane_log == flask_log


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"action": "app.use", "subject": {"name": "\\ud800"}}',
        b"[1, 2]",
        b'{"action": "no.such.action", "subject": {"age": 10}}',
        b'{"action": "app.use", "subject": {"age": "12"}}',  # coerced by the model: 200
        b'{"action": "app.use", "subject": {"age": 10}, "at": "1E+999999999"}',
        b'{"action": "app.use", "resource": {"amount": 1E+999999999}}',
        b'{"action": "app.use", "subject": {"age": 10}, "unknown": 1}',
        b"[" * 300 + b"]" * 300,
        b"",
    ],
)
def test_everything_else_is_left_to_flask_and_answered_alike(tmp_path: Path, body: bytes) -> None:
    pair = Pair(tmp_path, keys=None)
    pair.same(body)
    lane_log, flask_log = pair.log_lines()
    assert lane_log == flask_log


@pytest.mark.parametrize(
    ("environ", "status"),
    [
        ({"HTTP_AUTHORIZATION": "Bearer s-decide"}, "200 OK"),
        ({"HTTP_AUTHORIZATION": "bearer  s-decide "}, "200 OK"),
        ({}, "401 UNAUTHORIZED"),
        ({"HTTP_AUTHORIZATION": "Bearer wrong"}, "401 UNAUTHORIZED"),
        ({"HTTP_AUTHORIZATION": "Bearer s-read"}, "403 FORBIDDEN"),
        ({"HTTP_AUTHORIZATION": "Basic s-decide"}, "401 UNAUTHORIZED"),
    ],
)
def test_keys_are_checked_as_the_view_checks_them(
    tmp_path: Path, environ: dict[str, str], status: str
) -> None:
    pair = Pair(tmp_path, keys=KEYS)
    got, _ = pair.same(b'{"action": "app.use", "subject": {"age": 10}}', **environ)
    assert got == status
    assert pair.passed == (0 if status == "200 OK" else 1)
    assert pair.log_lines()[0] == pair.log_lines()[1]


def test_tenant_keys_and_other_requests_go_through_flask(tmp_path: Path) -> None:
    pair = Pair(tmp_path, keys=TENANTS)
    body = b'{"action": "app.use", "subject": {"age": 10}}'
    pair.same(body, HTTP_AUTHORIZATION="Bearer s-acme")
    (tmp_path / "p").mkdir()
    plain = Pair(tmp_path / "p", keys=None)
    plain.same(body, QUERY_STRING="explain=true")
    plain.same(body, CONTENT_TYPE="application/json; charset=utf-8")
    plain.same(body, PATH_INFO="/v1/decisions/")
    plain.same(body, REQUEST_METHOD="PUT")
    assert pair.passed == 1 and plain.passed == 4


LEDGER_KEYS = KeyRing(
    (
        ApiKey("decide-only", hash_key("s-d"), frozenset({"decide"})),
        ApiKey("all", hash_key("s-all"), frozenset({"decide", "usage", "guardian"})),
    )
)


@pytest.mark.parametrize("secret", [None, "s-d", "s-all"])
def test_a_subject_with_an_id_is_decided_with_the_ledger_as_flask_does(
    tmp_path: Path, secret: str | None
) -> None:
    """The ledger's usage and guardian settings fill the request in the lane as in the view,
    and what the key may not see (usage, guardian) is withheld alike."""
    pair = Pair(tmp_path, keys=None if secret is None else LEDGER_KEYS, store="sqlite")
    use = {"id": "u1", "action": "app.use", "start": "2026-11-27T19:00:00+08:00",
           "end": "2026-11-27T19:40:00+08:00"}  # fmt: skip
    for app in pair.apps:
        ledger = app.extensions["youthmode"].ledger
        ledger.record_usage("kid-1", [use])
        ledger.update_guardian("kid-1", {"daily_limit": "50m"}, actor="parent")
    auth = {} if secret is None else {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    for body in (
        b'{"action": "app.use", "at": "2026-11-27T20:00:00+08:00",'
        b' "subject": {"id": "kid-1", "age": 10, "verified": true}}',
        b'{"action": "game.play", "at": "2026-11-28T20:10:00+08:00",'
        b' "subject": {"id": "kid-1", "age": 13, "verified": true}}',
        b'{"action": "app.use", "subject": {"id": "kid-2", "age": 10},'
        b' "usage": {"today_seconds": 60}}',
    ):
        status, text = pair.same(body, **auth)
        assert status == "200 OK"
    assert pair.passed == 0  # the lane answered, from the ledger
    decided = json.loads(text)
    if secret == "s-d":
        assert decided["facts"].get("guardian") is None
    lane_log, flask_log = pair.log_lines()
    assert len(lane_log) == 3 and lane_log == flask_log
