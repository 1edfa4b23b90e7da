"""The embedded store: one SQLite file in WAL mode, one connection per thread.

Writers take the database lock with BEGIN IMMEDIATE, so concurrent read-modify-writes of the
same subject serialise instead of losing updates; readers never wait for writers (WAL).
A writer waits at most `timeout` for the lock (another process may hold it); after a run of
such failures a circuit breaker answers "unavailable" at once instead of holding a worker.
Commits are synchronous=FULL: an acknowledged purchase survives a power cut, not only a crash.
The file is created readable by its owner only.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from youthmode.ledger.breaker import CircuitBreaker
from youthmode.ledger.buffered import BufferedTransaction
from youthmode.ledger.store import StoreUnavailable

T = TypeVar("T")
OPEN_RETRY_SECONDS = 0.01  # between tries to switch a new file to WAL (see `_connect`)
_PREFETCH_CHUNK = 200  # keys per query: well under SQLite's 999 bound parameters
_UNION_KEYS = 32  # up to this many keys, a UNION ALL (SQLite allows 500 terms; see `_select_in`)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    subject TEXT NOT NULL,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (subject, key)
) WITHOUT ROWID;
"""


class _SecondStatement(Exception):
    """A read without BEGIN needed a second statement: it is run again in a transaction."""


class _SqliteTx(BufferedTransaction):
    def __init__(
        self, conn: sqlite3.Connection, subject: str, writable: bool, *, single: bool = False
    ) -> None:
        super().__init__(subject, writable)
        self.conn = conn
        # ``single``: no BEGIN around this read, so only its first statement is a snapshot of
        # its own; a second one could see a write the first did not (`SqliteStore.read`).
        self.single, self.ran, self.overflowed = single, False, False

    def _execute(self, sql: str, params: tuple[str, ...]) -> sqlite3.Cursor:
        if self.single:
            if self.ran:
                self.overflowed = True
                raise _SecondStatement
            self.ran = True
        return self.conn.execute(sql, params)

    def prefetch(self, keys: Iterable[str]) -> None:
        """Read ``keys`` in one query. A decision reads a dozen documents (the week's days,
        spend, holds, guardian settings, grants), some of them twice: one query each cost
        more in statement overhead than the lookups themselves."""
        fetched = self.fetched
        if self.single and not fetched and type(keys) is tuple and 0 < len(keys) <= _UNION_KEYS:
            # a decision's read (`documents.decision_keys`: the same few tuples over and over)
            sql, params, absent = _decision_plan(keys)
            rows = self._execute(sql, (self.subject, *params)).fetchall()
            fetched.update(absent)  # None: no such document...
            fetched.update(rows)  # ...unless the query found it
            return
        wanted = [k for k in dict.fromkeys(keys) if k not in fetched]
        for start in range(0, len(wanted), _PREFETCH_CHUNK):
            chunk = wanted[start : start + _PREFETCH_CHUNK]
            rows = self._execute(_select_in(len(chunk)), (self.subject, *chunk)).fetchall()
            fetched.update(dict.fromkeys(chunk))  # None: no such document...
            fetched.update(rows)  # ...unless the query found it

    def fetch_one(self, key: str) -> str | None:
        row = self._execute(
            "SELECT value FROM docs WHERE subject = ? AND key = ?", (self.subject, key)
        ).fetchone()
        return row[0] if row else None

    def stored_keys(self, prefix: str) -> set[str]:
        rows = self._execute(
            "SELECT key FROM docs WHERE subject = ? AND key >= ? AND key < ?",
            (self.subject, prefix, prefix + "\uffff"),
        ).fetchall()
        return {r[0] for r in rows}

    def flush(self) -> None:
        for key, raw in self.pending.items():
            if raw is None:
                self.conn.execute(
                    "DELETE FROM docs WHERE subject = ? AND key = ?", (self.subject, key)
                )
            else:
                self.conn.execute(
                    "INSERT INTO docs (subject, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (subject, key) DO UPDATE SET value = excluded.value",
                    (self.subject, key, raw),
                )


@functools.lru_cache(maxsize=_PREFETCH_CHUNK)
def _select_in(count: int) -> str:
    """One statement reading ``count`` documents of a subject (parameters: the subject, then the
    keys). Up to `_UNION_KEYS` keys it is a UNION ALL of primary-key lookups: `key IN (...)`
    builds a temporary b-tree of the keys on every run, a third of a decision's read
    (110k against 76k instructions for a decision's ten keys, docs/performance.md)."""
    if count <= _UNION_KEYS:
        one = "SELECT key, value FROM docs WHERE subject = ?1 AND key = ?{}"
        return " UNION ALL ".join(one.format(n) for n in range(2, count + 2))
    return f"SELECT key, value FROM docs WHERE subject = ? AND key IN ({','.join('?' * count)})"


@functools.lru_cache(maxsize=4096)  # as many as `decision_keys` keeps
def _decision_plan(keys: tuple[str, ...]) -> tuple[str, tuple[str, ...], dict[str, None]]:
    """A decision's read of ``keys`` as one statement, its parameters after the subject and
    every key as absent until found. Its days' use documents (`u:<day>`, the days of a week
    and the one before: one run of days) are one range of the primary key, the rest lookups:
    a range term costs about what one lookup does, and a decision names up to eight days
    (docs/performance.md). Any other `u:` document in the range is kept too: it is from the
    same snapshot, so `get` answers the same."""
    wanted = dict.fromkeys(keys)
    days = [k for k in wanted if k.startswith("u:")]
    if len(days) < 2:
        return _select_in(len(wanted)), tuple(wanted), wanted
    others = tuple(k for k in wanted if not k.startswith("u:"))
    return _select_with_range(len(others)), (*others, min(days), max(days)), wanted


@functools.lru_cache(maxsize=_UNION_KEYS)
def _select_with_range(count: int) -> str:
    """`_select_in` of ``count`` keys and every document from one key to another (the last
    two parameters, both included)."""
    one = "SELECT key, value FROM docs WHERE subject = ?1 AND key = ?{}"
    lookups = [one.format(n) for n in range(2, count + 2)]
    span = "SELECT key, value FROM docs WHERE subject = ?1 AND key BETWEEN ?{} AND ?{}"
    span = span.format(count + 2, count + 3)
    return " UNION ALL ".join([*lookups, span])


class SqliteStore:
    backend = "sqlite"

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 2.0,
        read_deadline: float | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        # WAL readers take no lock, so a decision's read never waits for a writer; the
        # deadline is kept for the interface (a Redis read has one).
        self.read_deadline = read_deadline
        self.breaker = breaker or CircuitBreaker()
        self.url = url
        self.path = _path_of(url)
        self.timeout = timeout
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        weakref.finalize(self, _close_all, self._all)
        try:
            self._conn().executescript(_SCHEMA)  # executescript commits on its own
        except sqlite3.Error as err:
            raise StoreUnavailable(f"cannot prepare SQLite store `{self.path}`: {err}") from err

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                if self.path != ":memory:":
                    _create_private(Path(self.path))
                conn = self._connect(time.monotonic() + self.timeout)
            except (sqlite3.Error, OSError) as err:
                raise StoreUnavailable(f"cannot open SQLite store `{self.path}`: {err}") from err
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _connect(self, deadline: float) -> sqlite3.Connection:
        """A connection in WAL mode. Switching a new file to WAL can answer `database is
        locked` at once, without waiting out the busy timeout, while another process switches
        it too (the workers of `youthmode serve` start together): tried again until
        ``deadline`` (tests/faults/test_sqlite_open_race.py)."""
        while True:
            conn = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                return conn
            except sqlite3.OperationalError as err:
                conn.close()
                if "locked" not in str(err) or time.monotonic() >= deadline:
                    raise
            time.sleep(OPEN_RETRY_SECONDS)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            raise StoreUnavailable(f"SQLite store busy or unavailable: {err}") from err
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def atomic(self, subject: str, fn: Callable[[Any], T]) -> T:
        if not self.breaker.allow():
            raise StoreUnavailable("SQLite store busy: too many recent lock timeouts")
        try:
            with self._write() as conn:
                tx = _SqliteTx(conn, subject, writable=True)
                result = fn(tx)
                tx.flush()
        except StoreUnavailable:
            self.breaker.failed()
            raise
        except sqlite3.Error as err:
            self.breaker.failed()
            raise StoreUnavailable(f"SQLite store error: {err}") from err
        self.breaker.succeeded()
        return result

    def read(self, subject: str, fn: Callable[[Any], T], *, decision: bool = False) -> T:
        """``fn`` against one snapshot of the file. A decision reads its documents in one
        prefetch: one SELECT, which in autocommit is a snapshot of its own (WAL), so it runs
        without BEGIN and COMMIT, two of the three statements it cost (docs/performance.md).
        Should it need a second statement, it is run again inside a transaction."""
        conn = self._conn()
        try:
            if decision:
                try:
                    return _alone(_SqliteTx(conn, subject, writable=False, single=True), fn)
                except _SecondStatement:
                    pass
            conn.execute("BEGIN")
            try:
                return fn(_SqliteTx(conn, subject, writable=False))
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as err:
            raise StoreUnavailable(f"SQLite store error: {err}") from err

    def ping(self) -> None:
        try:
            self._conn().execute("SELECT 1").fetchone()
        except sqlite3.Error as err:
            raise StoreUnavailable(f"SQLite store error: {err}") from err

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


def _alone(tx: _SqliteTx, fn: Callable[[Any], T]) -> T:
    """``fn``'s answer from a read of one statement; `_SecondStatement` if it needed more, even
    when ``fn`` caught that error and answered or raised another (the answer is not trusted)."""
    try:
        result = fn(tx)
    except Exception as err:
        if tx.overflowed:
            raise _SecondStatement from err
        raise
    if tx.overflowed:
        raise _SecondStatement
    return result


def _create_private(path: Path) -> None:
    """The folder (0700 when new) and the database file (0600), before SQLite opens it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _close_all(connections: list[sqlite3.Connection]) -> None:
    for conn in connections:
        conn.close()
    connections.clear()


def _path_of(url: str) -> str:
    # SQLAlchemy's convention: sqlite:///relative/file.db, sqlite:////absolute/file.db
    path = url.removeprefix("sqlite://").removeprefix("/")
    return path or ":memory:"
