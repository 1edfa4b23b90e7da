"""The server's own logs: with YOUTHMODE_LOG_FORMAT=json every line on stderr is one JSON
object (gunicorn's, youthmode's, multi-line messages included), and YOUTHMODE_ACCESS_LOG=on
adds a line per answer naming the route template, never a subject id."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CONFIGS
from test_server import GAME, Server

from youthmode.api import create_app
from youthmode.server.config import ServerConfig


def test_json_logs_are_one_object_a_line(tmp_path: Path) -> None:
    env = {"YOUTHMODE_LOG_FORMAT": "json", "YOUTHMODE_ACCESS_LOG": "on"}
    server = Server(tmp_path, env=env)
    try:
        assert server.call("POST", "/v1/decisions", GAME, {"X-Request-Id": "req-1"})[0] == 200
        assert server.call("GET", "/v1/subjects/kid-77/usage")[0] == 200
        assert server.call("GET", "/nowhere")[0] == 404
        policy = server.policies / "cn-baseline.toml"
        policy.write_text(policy.read_text().replace('max = "50.00"', 'max = "5O.00"', 1))
        assert server.call("POST", "/v1/admin/reload")[0] == 422
    finally:
        server.stop()
    text = (tmp_path / "server.log").read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # all JSON
    assert all({"ts", "level", "logger", "message", "pid"} <= set(e) for e in lines)
    loggers = {e["logger"] for e in lines}
    assert {"gunicorn.error", "youthmode.access", "youthmode.reload"} <= loggers
    assert any(e["message"].startswith("Listening at") for e in lines)
    rejected = next(e for e in lines if e["logger"] == "youthmode.reload")
    assert rejected["level"] == "error" and "\n" in rejected["message"]  # kept on one line
    access = [e for e in lines if e["logger"] == "youthmode.access"]
    decide = next(e for e in access if e["request_id"] == "req-1")
    assert decide["route"] == "/v1/decisions" and decide["status"] == 200
    assert decide["method"] == "POST" and decide["duration_ms"] > 0
    usage = next(e for e in access if e["route"] == "/v1/subjects/{subject_id}/usage")
    assert usage["status"] == 200
    assert next(e for e in access if e["status"] == 404)["route"] == "(unmatched)"
    assert "kid-77" not in text  # the path's subject id is never logged


def test_access_lines_in_text(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = ServerConfig(
        policies=str(CONFIGS), state_dir=str(tmp_path), decision_log="off", access_log=True
    )
    client = create_app(config).test_client()
    with caplog.at_level(logging.INFO, logger="youthmode.access"):
        client.post("/v1/decisions", json=GAME, headers={"X-Request-Id": "r-9"})
        client.get("/v1/policies/nope")
    first, second = (r.getMessage() for r in caplog.records if r.name == "youthmode.access")
    assert '"POST /v1/decisions" 200 ' in first and first.endswith(" r-9")
    assert '"GET /v1/policies/{policy_id}" 404 ' in second


def test_a_bad_log_format_is_refused() -> None:
    with pytest.raises(ValueError, match="setting `log_format`: `xml` must be `text` or `json`"):
        ServerConfig.from_env({"YOUTHMODE_LOG_FORMAT": "xml"})


def test_access_log_is_off_by_default() -> None:
    assert ServerConfig.from_env({}).access_log is False
    assert ServerConfig.from_env({"YOUTHMODE_ACCESS_LOG": "on"}).access_log is True


def test_setting_up_logs_leaves_prometheus_unimported() -> None:
    """The master sets up its logs before the metrics folder; prometheus_client picks shared
    (multiprocess) values only if first imported after that, so logs.py must not import it."""
    code = (
        "import sys; from youthmode.server import logs, runner; logs.configure('json'); "
        "assert 'prometheus_client' not in sys.modules, 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
