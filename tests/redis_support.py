"""Redis for the tests: the one on 127.0.0.1:6379 when it answers, else a redis-server the
tests start on a spare port (and stop at the end). Tests that stop, stall or restart a Redis
always start their own with `RedisProcess`."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def answers(host: str, port: int) -> bool:
    try:
        return bool(redis.Redis(host=host, port=port, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


class RedisProcess:
    """A redis-server of the test's own, on a spare loopback port, keeping nothing on disk;
    with ``durable``, every write in its append-only file before the reply (AOF `always`), so
    a `kill` and `start` again keeps all it acknowledged."""

    def __init__(self, folder: Path | None = None, *, durable: bool = False) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError(
                "redis-server is needed by the tests (apt-get install redis-server); "
                "the README lists it"
            )
        self.port = free_port()
        self.folder = folder or Path(tempfile.mkdtemp(prefix="ym-redis-"))
        self.durable = durable
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [shutil.which("redis-server") or "redis-server", "--port", str(self.port)]
        command += ["--bind", "127.0.0.1", "--save", ""]
        command += (
            ["--appendonly", "yes", "--appendfsync", "always"]
            if self.durable
            else ["--appendonly", "no"]
        )
        self.proc = subprocess.Popen(
            [*command, "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if answers("127.0.0.1", self.port):
                return
            time.sleep(0.02)  # waiting for the server process to listen
        raise AssertionError("redis-server did not start")

    def stall(self) -> None:
        """SIGSTOP: the server keeps its socket open but answers nothing."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: gone at once, nothing flushed on the way out."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGCONT)  # a stalled server cannot stop otherwise
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


def shared_redis_url() -> tuple[str, RedisProcess | None]:
    """The Redis the ledger tests share: REDIS_TEST_URL, else 127.0.0.1:6379 if it
    answers, else one started here (returned, for the caller to stop)."""
    given = os.environ.get("REDIS_TEST_URL")
    if given:
        return given, None
    if answers("127.0.0.1", 6379):
        return "redis://127.0.0.1:6379/0", None
    started = RedisProcess()
    started.start()
    return started.url, started
