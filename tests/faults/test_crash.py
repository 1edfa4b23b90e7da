"""Fault suite, crashes: the real server (gunicorn, 2 workers, the SQLite ledger) is killed with
SIGKILL while four clients write; every write it acknowledged is there after a restart, and
every write sent, acknowledged or not, is counted exactly once once it is sent again."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

from conftest import CONFIGS
from redis_support import free_port


class CrashableServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "YOUTHMODE_STATE_DIR": str(root / "state"),
            "YOUTHMODE_DECISION_LOG": "off",
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.log = open(root / "server.log", "a")  # closed in kill()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "youthmode.cli", "serve", "--port", str(self.port),
             "--policies", str(CONFIGS), "--workers", "2"],
            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=self.log,
            start_new_session=True,  # one process group: the master and its workers
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if call(self.url, "GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            assert self.proc.poll() is None, (root / "server.log").read_text()
            time.sleep(0.05)  # waiting for the server process to listen
        raise AssertionError("server did not start")

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.log.close()


def call(base: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        base + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def purchase(subject: str, purchase_id: str) -> dict[str, Any]:
    return {"subject_id": subject, "id": purchase_id, "action": "purchase", "amount": "1.00"}


def test_kill_9_during_writes_loses_no_acknowledged_write(tmp_path: Path) -> None:
    server = CrashableServer(tmp_path)
    sent: list[tuple[str, str]] = []
    acknowledged: list[tuple[str, str]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        for i in range(100_000):
            if stop.is_set():
                return
            subject, pid = f"kid-{n}", f"p-{n}-{i}"
            with lock:
                sent.append((subject, pid))
            try:
                status, body = call(server.url, "POST", "/v1/purchases", purchase(subject, pid))
            except (OSError, http.client.HTTPException):
                return  # the server is gone (a reply cut short, a refused connection)
            if status == 200 and body["status"] == "recorded":
                with lock:
                    acknowledged.append((subject, pid))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while len(acknowledged) < 200 and time.monotonic() < deadline:
        time.sleep(0.01)  # waiting for the clients' writes to land
    server.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    assert len(acknowledged) >= 200

    again = CrashableServer(tmp_path)
    try:
        for subject, pid in acknowledged:
            status, body = call(again.url, "POST", "/v1/purchases", purchase(subject, pid))
            assert (status, body["status"]) == (200, "duplicate"), (pid, body)
        for subject, pid in set(sent) - set(acknowledged):
            status, body = call(again.url, "POST", "/v1/purchases", purchase(subject, pid))
            assert status == 200 and body["status"] in ("recorded", "duplicate")
        for n in range(4):
            _, totals = call(again.url, "GET", f"/v1/subjects/kid-{n}/usage")
            expected = sum(1 for subject, _ in set(sent) if subject == f"kid-{n}")
            assert Decimal(totals["spend"]["purchase"]["month"]) == expected
    finally:
        again.stop()
