"""The real server: `youthmode serve` under gunicorn on an ephemeral loopback port, over HTTP."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIGS

import youthmode

GAME = {
    "subject": {"age": 12, "verified": True},
    "action": "game.play",
    "at": "2026-11-27T20:30:00+08:00",
    "usage": {"today_seconds": 1200},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.policies = root / "policies"
        self.policies.mkdir()
        shutil.copy(CONFIGS / "cn-baseline.toml", self.policies)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "YOUTHMODE_STATE_DIR": str(root / "state"),
            "YOUTHMODE_DECISION_LOG": str(root / "decisions.jsonl"),
            "YOUTHMODE_LOG_KEY": "k",
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.log = open(root / "server.log", "w")  # closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "youthmode.cli",
                "serve",
                "--port",
                str(self.port),
                "--policies",
                str(self.policies),
                "--workers",
                "2",
            ],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        self.wait_until(lambda: self.get("/healthz")[0] == 200, "server did not start")

    def wait_until(self, ready: Any, message: str, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if ready():
                    return
            except OSError:
                pass
            assert self.proc.poll() is None, (self.root / "server.log").read_text()
            time.sleep(0.05)  # waiting for another process, not for time to pass
        raise AssertionError(message + "\n" + (self.root / "server.log").read_text())

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def get(self, path: str) -> tuple[int, Any]:
        if path == "/metrics":
            with urllib.request.urlopen(self.url + path, timeout=10) as resp:
                return resp.status, resp.read().decode()
        return self.call("GET", path)

    def digest(self) -> str:
        _, body = self.get("/readyz")
        return str(body["digest"])

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path)
    yield running
    running.stop()


def test_serves_the_same_decisions_as_the_library(server: Server) -> None:
    status, body = server.call("POST", "/v1/decisions", GAME)
    assert status == 200
    expected = youthmode.Engine.from_path(CONFIGS).decide(GAME).model_dump(mode="json")
    body.pop("decision_id"), expected.pop("decision_id")
    assert body == expected
    status, batch = server.call("POST", "/v1/decisions/batch", {"requests": [GAME, {"x": 1}]})
    assert status == 200 and batch["decisions"][1]["status"] == 400
    status, problem = server.call("POST", "/v1/decisions", {"action": "nope"})
    assert status == 400 and problem["known"]


def test_metrics_add_up_across_workers(server: Server) -> None:
    for _ in range(20):
        assert server.call("POST", "/v1/decisions", GAME)[0] == 200
    _, text = server.get("/metrics")
    assert 'youthmode_decisions_total{effect="allow",policy="cn-baseline"} 20.0' in text


def test_sighup_reload_is_all_or_nothing(server: Server) -> None:
    before = server.digest()
    path = server.policies / "cn-baseline.toml"
    good = path.read_text()
    path.write_text(good.replace('max = "50.00"', 'max = "5O.00"', 1))  # letter O, a typo
    server.proc.send_signal(signal.SIGHUP)
    server.wait_until(lambda: server.get("/readyz")[1]["stale"], "broken edit not noticed")
    assert server.digest() == before
    assert server.call("POST", "/v1/decisions", GAME)[1]["policy"]["digest"] != ""
    _, ready = server.get("/readyz")
    assert ready["last_reload"]["problems"][0]["code"] == "invalid_amount"
    path.write_text(good.replace('version = "2024.11"', 'version = "2024.12"'))
    server.proc.send_signal(signal.SIGHUP)
    server.wait_until(lambda: server.digest() != before, "good edit not picked up")
    # Old workers finish their requests while new ones start: wait for every answer to be new.
    server.wait_until(
        lambda: all(
            server.get("/v1/policies")[1]["policies"][0]["version"] == "2024.12" for _ in range(10)
        ),
        "old workers still answering",
    )


def test_reload_under_load_loses_no_request(server: Server) -> None:
    statuses: list[int] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set() and len(statuses) < 2000:
            statuses.append(server.call("POST", "/v1/decisions", GAME)[0])

    workers = [threading.Thread(target=load) for _ in range(4)]
    for w in workers:
        w.start()
    path = server.policies / "cn-baseline.toml"
    try:
        for version in ("2024.12", "2024.13"):
            text = path.read_text()
            path.write_text(text.replace(text.split('version = "')[1].split('"')[0], version, 1))
            status, body = server.call("POST", "/v1/admin/reload")
            assert status == 200 and body["ok"]
            server.wait_until(
                lambda v=version: server.get("/v1/policies")[1]["policies"][0]["version"] == v,
                "workers did not restart",
            )
    finally:
        stop.set()
        for w in workers:
            w.join()
    assert statuses and set(statuses) == {200}


def run_serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`youthmode serve` as a one-off process that is expected to refuse to start."""
    return subprocess.run(
        [sys.executable, "-m", "youthmode.cli", "serve", "--port", str(free_port()), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "YOUTHMODE_STATE_DIR": str(tmp_path / "state")},
    )


def test_development_mode_refuses_public_interfaces(tmp_path: Path) -> None:
    result = run_serve(tmp_path, "--host", "0.0.0.0", "--policies", str(CONFIGS))
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0" in result.stderr


def test_serve_refuses_broken_policies_at_start(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text(
        '[policy]\nid = "x"\nversion = "1"\ntimezone = "Mars/Base"\n'
    )
    result = run_serve(tmp_path, "--policies", str(tmp_path))
    assert result.returncode == 2
    assert "invalid_timezone" in result.stderr and "bad.toml:4" in result.stderr
