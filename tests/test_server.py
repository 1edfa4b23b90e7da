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
from redis_support import free_port

import youthmode

GAME = {
    "subject": {"age": 12, "verified": True},
    "action": "game.play",
    "at": "2026-11-27T20:30:00+08:00",
    "usage": {"today_seconds": 1200},
}


class Server:
    def __init__(
        self,
        root: Path,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
        stdout: Any = subprocess.DEVNULL,
    ) -> None:
        self.root = root
        self.policies = root / "policies"
        self.policies.mkdir(exist_ok=True)
        shutil.copy(CONFIGS / "cn-baseline.toml", self.policies)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.decision_log = root / "decisions.jsonl"
        full_env = {
            **os.environ,
            "YOUTHMODE_STATE_DIR": str(root / "state"),
            "YOUTHMODE_DECISION_LOG": str(self.decision_log),
            "YOUTHMODE_LOG_KEY": "k",
            **(env or {}),
        }
        full_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
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
                *args,
            ],
            cwd=root,
            env=full_env,
            stdout=stdout,
            stderr=self.log,
            start_new_session=True,  # its own process group: a test may kill -9 all of it
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

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
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

    def metric(self, sample: str) -> float:
        """The value of one sample line of /metrics, e.g. `youthmode_x_total`; 0 if absent."""
        _, text = self.get("/metrics")
        for line in text.splitlines():
            name, _, value = line.rpartition(" ")
            if name == sample:
                return float(value)
        return 0.0

    def workers(self) -> set[int]:
        return children(self.proc.pid)

    def hup(self) -> None:
        """SIGHUP, then wait until a whole new set of workers answers."""
        before = self.workers()
        self.proc.send_signal(signal.SIGHUP)
        self.wait_until(
            lambda: len(self.workers() - before) >= 2 and not self.workers() & before,
            "workers did not restart",
        )
        self.wait_until(lambda: self.get("/healthz")[0] == 200, "no answer after the restart")

    def raw(self, data: bytes) -> bytes:
        """Send bytes as they are; read the whole answer (the server closes the connection)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=20) as conn:
            conn.sendall(data)
            return read_all(conn)

    def digest(self) -> str:
        _, body = self.get("/readyz")
        return str(body["digest"])

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


def children(pid: int) -> set[int]:
    """The live processes whose parent is ``pid`` (gunicorn's workers of a master)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # it exited while we looked
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def read_all(conn: socket.socket) -> bytes:
    out = b""
    while chunk := conn.recv(65536):
        out += chunk
    return out


def split_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


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


def run_serve(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`youthmode serve` as a one-off process that is expected to refuse to start."""
    return subprocess.run(
        [sys.executable, "-m", "youthmode.cli", "serve", "--port", str(free_port()), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "YOUTHMODE_STATE_DIR": str(tmp_path / "state"), **(env or {})},
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


# --- Limits answered as problems, slow clients ---------------------------------------------

PROBLEM_TYPE = "application/problem+json"


def assert_problem(raw: bytes, status: int, slug: str) -> dict[str, Any]:
    code, headers, body = split_response(raw)
    assert code == status, raw[:300]
    assert headers["content-type"] == PROBLEM_TYPE
    problem: dict[str, Any] = json.loads(body)
    assert problem["type"] == "urn:youthmode:problem:" + slug and problem["status"] == status
    assert problem["title"] and problem["detail"]
    return problem


def test_gunicorn_refusals_are_problems(server: Server) -> None:
    head = b"POST /v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
    cases = [
        (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri-too-long"),
        (
            b"GET /healthz HTTP/1.1\r\n"
            + b"".join(b"X-%d: 1\r\n" % i for i in range(120))
            + b"\r\n",
            431,
            "request-header-fields-too-large",
        ),
        (
            b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
            431,
            "request-header-fields-too-large",
        ),
        # 17 chunks of 64 KiB: over the 1 MiB limit
        (
            head + b"Transfer-Encoding: chunked\r\n\r\n" + chunk * 17 + b"0\r\n\r\n",
            413,
            "content-too-large",
        ),
        (head + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "bad-request"),
        (b"NONSENSE\r\n\r\n", 400, "bad-request"),
    ]
    for request, status, slug in cases:
        assert_problem(server.raw(request), status, slug)
    small = json.dumps(GAME).encode()
    chunked = head + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (
        len(small),
        small,
    )
    status, _, body = split_response(server.raw(chunked))
    assert status == 200 and json.loads(body)["allowed"] is True


def test_a_request_that_does_not_arrive_in_time_is_408(tmp_path: Path) -> None:
    running = Server(tmp_path, {"YOUTHMODE_HEADER_TIMEOUT": "1", "YOUTHMODE_BODY_TIMEOUT": "1"})
    try:
        head = b"POST /v1/decisions HTTP/1.1\r\nContent-Type: application/json\r\n"
        for partial, what in [
            (b"GET /healthz HTTP/1.1\r\nHost: x\r\n", "head"),
            (head + b"Content-Length: 50\r\n\r\n{", "body"),
            (head + b"Transfer-Encoding: chunked\r\n\r\n5\r\n{", "body"),
        ]:
            started = time.monotonic()
            problem = assert_problem(running.raw(partial), 408, "request-timeout")
            assert what in problem["detail"] and time.monotonic() - started < 5
        assert running.metric('youthmode_connections_dropped_total{reason="head_timeout"}') == 1
        assert running.metric('youthmode_connections_dropped_total{reason="body_timeout"}') == 2
    finally:
        running.stop()


# --- Start-up checks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({"YOUTHMODE_WORKER": "4"}, (), "did you mean `YOUTHMODE_WORKERS`?"),
        ({"YOUTHMODE_HEADER_TIMOUT": "4"}, (), "did you mean `YOUTHMODE_HEADER_TIMEOUT`?"),
        ({}, ("--workers", "0"), "setting `workers`: `0` must be at least 1"),
        ({"YOUTHMODE_WORKERS": "-1"}, (), "setting `workers`: `-1` must be at least 1"),
        ({"YOUTHMODE_THREADS": "0"}, (), "setting `threads`: `0` must be at least 1"),
        ({"YOUTHMODE_HEADER_TIMEOUT": "0"}, (), "setting `header_timeout`"),
        ({"YOUTHMODE_DECISION_LOG": "/nonexistent/folder/d.jsonl"}, (), "does not exist"),
    ],
)
def test_serve_refuses_bad_settings_before_listening(
    tmp_path: Path, env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    result = run_serve(tmp_path, "--policies", str(CONFIGS), *args, env=env)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Listening at" not in result.stderr


def test_production_refuses_to_start_without_a_log_key(tmp_path: Path) -> None:
    from youthmode.server.auth import create_key

    create_key(tmp_path / "keys.toml", "backend", ["decide"])
    env = {"YOUTHMODE_KEYS_FILE": str(tmp_path / "keys.toml"), "YOUTHMODE_LOG_KEY": ""}
    result = run_serve(tmp_path, "--policies", str(CONFIGS), env=env)
    assert result.returncode == 2
    assert "without YOUTHMODE_LOG_KEY" in result.stderr and "Listening at" not in result.stderr


def serve_with_inherited_socket(
    tmp_path: Path, host: str, listener: socket.socket | None = None
) -> subprocess.Popen[str]:
    """`youthmode serve` handed a listening socket the systemd way (fd 3, LISTEN_FDS): a TCP
    one on ``host``, or ``listener`` (bound already)."""
    if listener is None:
        listener = socket.socket()
        listener.bind((host, 0))
    listener.listen()
    fd = listener.fileno()
    # Put the socket at fd 3 and name this very process in LISTEN_PID, then become the server.
    wrapper = (
        "import os, sys; os.dup2(int(sys.argv[1]), 3); "
        "os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS='1'); "
        "os.execv(sys.executable, [sys.executable, '-m', *sys.argv[2:]])"
    )
    env = {**os.environ, "YOUTHMODE_STATE_DIR": str(tmp_path / "state"), "YOUTHMODE_LOG_KEY": "k"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    args = ["youthmode.cli", "serve", "--policies", str(CONFIGS), "--workers", "1"]
    proc = subprocess.Popen(
        [sys.executable, "-c", wrapper, str(fd), *args],
        pass_fds=[fd],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if listener.family != socket.AF_UNIX:
        proc.port = listener.getsockname()[1]  # type: ignore[attr-defined]
    listener.close()
    return proc


def test_development_mode_refuses_an_inherited_public_socket(tmp_path: Path) -> None:
    proc = serve_with_inherited_socket(tmp_path, "0.0.0.0")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "refusing to serve inherited socket 3" in err and "Listening at" not in err


def test_development_mode_serves_an_inherited_loopback_socket(tmp_path: Path) -> None:
    proc = serve_with_inherited_socket(tmp_path, "127.0.0.1")
    url = f"http://127.0.0.1:{proc.port}/healthz"  # type: ignore[attr-defined]
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    assert resp.status == 200
                    break
            except OSError:
                time.sleep(0.05)  # waiting for another process to start
        else:
            raise AssertionError("no answer on the inherited socket")
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


# --- Files ----------------------------------------------------------------------------------


def test_state_files_are_private(server: Server) -> None:
    assert server.call("POST", "/v1/decisions", GAME)[0] == 200
    assert server.call("POST", "/v1/admin/reload")[0] == 200  # writes the last-good snapshot
    state = server.root / "state"
    paths = [state, *state.rglob("*")]
    assert any(p.parent.name == "prometheus" for p in paths)
    assert any(p.parent.name == "last-good-policies" for p in paths)
    for path in paths:
        mode = path.stat().st_mode & 0o777
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    assert server.decision_log.stat().st_mode & 0o777 == 0o600


# --- Decision log ---------------------------------------------------------------------------


def test_decision_log_on_stdout_is_written_per_record(tmp_path: Path) -> None:
    out = open(tmp_path / "stdout.txt", "w")  # the server's stdout, closed below
    running = Server(tmp_path, {"YOUTHMODE_DECISION_LOG": "-"}, stdout=out)
    try:
        for _ in range(10):
            assert running.call("POST", "/v1/decisions", GAME)[0] == 200
        os.killpg(running.proc.pid, signal.SIGKILL)  # no worker gets to flush anything
        running.proc.wait()
    finally:
        running.stop()
        out.close()
    lines = (tmp_path / "stdout.txt").read_text().splitlines()
    assert len(lines) == 10 and all(json.loads(line)["effect"] == "allow" for line in lines)


def test_a_vanished_log_folder_does_not_stop_the_server(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    running = Server(tmp_path, {"YOUTHMODE_DECISION_LOG": str(tmp_path / "logs" / "d.jsonl")})
    try:
        assert running.call("POST", "/v1/decisions", GAME)[0] == 200
        shutil.rmtree(tmp_path / "logs")
        running.hup()  # new workers cannot open the log ("Worker failed to boot" before)
        for _ in range(5):
            assert running.call("POST", "/v1/decisions", GAME)[0] == 200
        assert running.metric("youthmode_decision_log_failures_total") == 5
        assert running.proc.poll() is None
    finally:
        running.stop()
    log = (tmp_path / "server.log").read_text()
    # Each new worker says it once; the lost records after that are only counted.
    assert 1 <= log.count("d.jsonl` cannot be opened") <= 3 and "a record was lost" not in log


# --- Loading failures on SIGHUP -------------------------------------------------------------

DEEP = "x = " + "[" * 5000 + "]" * 5000 + "\n"  # tomllib raises RecursionError


def test_sighup_with_a_too_deep_policy_file_keeps_serving(server: Server) -> None:
    before = server.digest()
    (server.policies / "deep.toml").write_text(DEEP)
    server.hup()
    assert server.proc.poll() is None
    _, ready = server.get("/readyz")
    assert ready["digest"] == before and ready["stale"] is True
    assert ready["source"] == "last-good snapshot"
    problem = ready["last_reload"]["problems"][0]
    assert problem["code"] == "toml_syntax" and problem["file"].endswith("deep.toml")
    assert server.call("POST", "/v1/decisions", GAME)[0] == 200


def test_sighup_with_a_too_deep_keys_file_keeps_the_keys(tmp_path: Path) -> None:
    from youthmode.server.auth import create_key

    keys = tmp_path / "keys.toml"
    secret = create_key(keys, "backend", ["decide"])
    running = Server(tmp_path, {"YOUTHMODE_KEYS_FILE": str(keys)})
    auth = {"Authorization": f"Bearer {secret}"}
    try:
        assert running.call("POST", "/v1/decisions", GAME, auth)[0] == 200
        keys.write_text(DEEP)
        running.hup()
        assert running.proc.poll() is None
        assert running.call("POST", "/v1/decisions", GAME, auth)[0] == 200
    finally:
        running.stop()
    assert (
        "keys file not reloaded, keeping the previous keys" in (tmp_path / "server.log").read_text()
    )


# --- Metrics of workers that exited ---------------------------------------------------------


def test_metrics_files_stay_few_and_totals_stay_across_restarts(server: Server) -> None:
    for _ in range(20):
        assert server.call("POST", "/v1/decisions", GAME)[0] == 200
    sample = 'youthmode_decisions_total{effect="allow",policy="cn-baseline"}'
    assert server.metric(sample) == 20
    folder = server.root / "state" / "prometheus"
    for _ in range(5):
        server.hup()
    # Two live workers' counter, histogram and gauge files, and one merged file per type.
    server.wait_until(lambda: len(list(folder.glob("*.db"))) <= 8, "files piled up")
    assert server.metric(sample) == 20
    latency = 'youthmode_decision_latency_seconds_count{endpoint="decision"}'
    assert server.metric(latency) == 20
