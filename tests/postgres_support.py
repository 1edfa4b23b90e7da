"""PostgreSQL for the tests: the server on 127.0.0.1:5432 when it answers (trust auth, user
postgres), else one the tests start (initdb + pg_ctl, as the postgres user when run as root)
on a spare port and stop at the end. Each test run works in a database of its own,
`ym_test_<random>`, created here and dropped at the end; each test in a schema of its own."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg
from redis_support import free_port

ADMIN_URL = "postgresql://postgres@127.0.0.1:{port}/postgres"


def answers(port: int) -> bool:
    try:
        with psycopg.connect(ADMIN_URL.format(port=port), connect_timeout=2):
            return True
    except psycopg.Error:
        return False


class PostgresProcess:
    """A PostgreSQL server of the tests' own, in a temporary folder, on a spare port."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise RuntimeError(
                "the PostgreSQL store's tests need a server on 127.0.0.1:5432 or PostgreSQL's "
                "binaries to start one (apt-get install postgresql); neither is here"
            )
        self.bin = Path(found[-1]).parent
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="ym-pg-"))
        self.user = os.environ.get("YM_PG_USER", "postgres") if os.geteuid() == 0 else None

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        done = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"`{' '.join(command)}` failed: {done.stderr or done.stdout}")

    def start(self) -> None:
        if self.user:  # PostgreSQL refuses to run as root
            shutil.chown(self.folder, self.user)
        data = str(self.folder / "data")
        self._run(str(self.bin / "initdb"), "-D", data, "-U", "postgres", "--auth=trust")
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.folder / "server.log")
        self._run(str(self.bin / "pg_ctl"), "-D", data, "-o", options, "-l", log, "-w", "start")

    def pids(self) -> list[int]:
        """The postmaster and every process it started."""
        first = int((self.folder / "data" / "postmaster.pid").read_text().split()[0])
        children = Path(f"/proc/{first}/task/{first}/children").read_text().split()
        return [first, *map(int, children)]

    def freeze(self) -> None:
        """SIGSTOP the whole server: connections stay open and nothing answers."""
        for pid in self.pids():
            os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        for pid in self.pids():
            os.kill(pid, signal.SIGCONT)

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def shared_server() -> tuple[int, PostgresProcess | None]:
    """The server's port: 5432 when it answers, else one started here (returned to stop)."""
    if answers(5432):
        return 5432, None
    started = PostgresProcess()
    started.start()
    return started.port, started


def create_database(port: int) -> str:
    """A new empty database, `ym_test_<random>`; its URL."""
    name = f"ym_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL.format(port=port), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql://postgres@127.0.0.1:{port}/{name}"


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    port = int(url.split(":")[2].split("/")[0])
    with psycopg.connect(ADMIN_URL.format(port=port), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def schema_url(database_url: str) -> str:
    """The database with a schema of one test's own (the store creates it)."""
    return f"{database_url}?schema=ym_t_{uuid.uuid4().hex[:16]}"
