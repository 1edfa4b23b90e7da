"""`youthmode nppa`: the mock as a process, the eight onboarding cases against it and against
an in-process mock, `report --once`, and the usage errors."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from nppa_support import APP_ID, BIZ_ID, SECRET
from redis_support import free_port

from youthmode.ledger import open_store
from youthmode.nppa.outbox import Outbox

ROOT = Path(__file__).resolve().parent.parent
ENV = {
    **os.environ,
    "PYTHONPATH": str(ROOT),
    "YOUTHMODE_NPPA_APP_ID": APP_ID,
    "YOUTHMODE_NPPA_BIZ_ID": BIZ_ID,
    "YOUTHMODE_NPPA_SECRET_KEY": SECRET,
}


def youthmode(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "youthmode", "nppa", *args],
        env=env or ENV, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.fixture
def mock_process() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "youthmode", "nppa", "mock", "--port", str(port)],
        env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/nothing", timeout=1).read()
            break
        except OSError:
            time.sleep(0.05)
    yield url
    process.kill()
    process.communicate(timeout=10)  # reaps it and closes its pipes


def test_selftest_passes_the_eight_cases_against_the_mock_process(mock_process: str) -> None:
    codes = [f"--code=testcase0{i}=testcase0{i}" for i in range(1, 9)]
    done = youthmode("selftest", "--base", mock_process + "/test", *codes)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [line.split()[:2] for line in done.stdout.splitlines()] == [
        ["PASS", f"testcase0{i}"] for i in range(1, 9)
    ]
    assert SECRET not in done.stdout + done.stderr


def test_a_wrong_code_fails_its_case(mock_process: str) -> None:
    done = youthmode("selftest", "--base", mock_process + "/test", "--case", "testcase04",
                     "--code", "testcase04=NOTENABLED")  # fmt: skip
    assert done.returncode == 1
    assert done.stdout.startswith("FAIL testcase04") and "4002" in done.stdout


def test_selftest_in_process_mock_and_usage_errors() -> None:
    assert youthmode("selftest", "--mock", "--case", "testcase07").returncode == 0
    missing = youthmode("selftest", "--case", "testcase01")
    assert missing.returncode == 2 and "no test code for testcase01" in missing.stderr
    no_env = {k: v for k, v in ENV.items() if not k.startswith("YOUTHMODE_NPPA")}
    assert youthmode("selftest", "--mock", env=no_env).returncode == 2
    bad = youthmode("selftest", "--mock", env={**ENV, "YOUTHMODE_NPPA_SECRET_KEY": "nothex"})
    assert bad.returncode == 2 and "32 hexadecimal digits" in bad.stderr
    assert "nothex" not in bad.stderr


def test_report_once_sends_the_outbox(mock_process: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    store = open_store(url)
    now = int(time.time())
    record = {"si": "a" * 32, "bt": 1, "ot": now - 2, "ct": 2, "di": "d" * 32, "subject": "x"}
    Outbox(store).atomic(lambda tx: Outbox.add(tx, [record]))
    env = {**ENV, "YOUTHMODE_NPPA_BASE_URL": mock_process}
    done = youthmode("report", "--once", "--store", url, env=env)
    assert done.returncode == 0, done.stderr
    assert "acknowledged 1" in done.stdout
    assert Outbox(store).backlog() == 0
    store.close()


def test_serve_and_report_processes_with_the_mock(mock_process: str, tmp_path: Path) -> None:
    """`youthmode serve` with NPPA settings in its environment (2 workers): a real-name check,
    a decision that reads it, usage that `report --once` then sends to the mock process."""
    from test_server import Server

    env = {**ENV, "YOUTHMODE_NPPA_BASE_URL": mock_process}
    server = Server(tmp_path, env=env)
    try:
        status, body = server.call(
            "POST", "/v1/subjects/kid-1/nppa/check",
            {"name": "张小明", "id_number": "110101201205011234"},
        )  # fmt: skip
        assert (status, body["status"]) == (200, "verified"), body
        status, decision = server.call(
            "POST", "/v1/decisions", {"subject": {"id": "kid-1"}, "action": "app.use"}
        )
        assert status == 200 and decision["band"] == "12-16"
        now = time.time()
        start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 20))
        end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 5))
        usage = {
            "subject_id": "kid-1",
            "events": [{"id": "e1", "action": "app.use", "start": start, "end": end}],
        }
        assert server.call("POST", "/v1/usage", usage)[0] == 200
    finally:
        server.stop()
    store = f"sqlite:///{tmp_path / 'state' / 'ledger.db'}"
    done = youthmode("report", "--once", "--store", store, env=env)
    assert done.returncode == 0 and "acknowledged 1" in done.stdout, done.stdout + done.stderr
    log = (tmp_path / "server.log").read_text()
    assert SECRET not in log and "110101201205011234" not in log
