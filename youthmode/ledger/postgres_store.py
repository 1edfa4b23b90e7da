"""The PostgreSQL store: one row per subject and document, one lock row per subject.

A write is one READ COMMITTED transaction that first locks the subject's row in `subjects`
(`SELECT ... FOR UPDATE`, the row inserted on first use), then reads, then upserts or deletes
the documents it changed in `docs`, and commits. Writers of one subject queue on that row;
writers of different subjects never wait for each other; readers never wait for writers.
(`?atomic=serializable` runs the same read-modify-write as a SERIALIZABLE transaction
instead, retried on a serialization failure with `fn` run again on a fresh read: the
measurements and the reasons for the default are in docs/ledger.md.)

A write is sent in two round trips besides its reads (psycopg's pipeline mode): BEGIN with the
lock, then the writes with COMMIT. A connection lost before the second is sent has changed
nothing (PostgreSQL rolls back a transaction whose client is gone): StoreUnavailable. One lost
while the COMMIT is in flight may or may not have committed: StoreOutcomeUnknown, and the
caller retries with the same idempotency key, as with Redis.

Time limits: writes wait at most `timeout` for a lock or a statement (the server's
lock_timeout and statement_timeout), and decisions read through a second pool whose limits are
the read deadline; both pools give up waiting for a connection after the same limits, and the
client ends any wait for the server a little after them (a frozen server answers nothing, not
even a timeout). A circuit breaker, as for the other stores, answers "unavailable" at once
after a run of failures.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

from youthmode.ledger.breaker import CircuitBreaker
from youthmode.ledger.buffered import BufferedTransaction
from youthmode.ledger.postgres_schema import migrate
from youthmode.ledger.store import StoreOutcomeUnknown, StoreUnavailable

T = TypeVar("T")
_SERIALIZABLE_RETRIES = 50
_IDLE_CHECK_SECONDS = 10.0
_CLIENT_MARGIN_SECONDS = 0.05
_MIGRATION_MS = 30_000  # a pooled connection idle this long is checked before use
_OPTIONS = ("schema", "atomic", "pool_size")
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# psycopg's wait functions raise this when their timeout passes (an OperationalError).
_WAIT_TIMEOUT: type[Exception] = getattr(pg_errors, "_WaitTimeout", psycopg.OperationalError)


def stored_text(text: str) -> str:
    """A subject id or key as PostgreSQL keeps it. Its text holds no NUL, which the other
    stores take (and a NUL in a subject id would otherwise fail as the store's own error, and
    open the circuit breaker for everyone): `\\` and NUL are escaped. The code is prefix-free,
    so a key's prefix is still a prefix of the stored key (`stored_keys`)."""
    if "\x00" not in text and "\\" not in text:
        return text
    return text.replace("\\", "\\\\").replace("\x00", "\\0")


def loaded_text(text: str) -> str:
    """The inverse of `stored_text`."""
    if "\\" not in text:
        return text
    return re.sub(r"\\(.)", lambda m: "\x00" if m.group(1) == "0" else m.group(1), text)


class _PgTx(BufferedTransaction):
    def __init__(self, conn: Any, tables: _Sql, subject: str, writable: bool) -> None:
        super().__init__(subject, writable)
        self.conn, self.sql, self.row = conn, tables, stored_text(subject)

    def prefetch(self, keys: Iterable[str]) -> None:
        """One `= ANY(...)` query for all of ``keys`` (a decision reads a dozen documents)."""
        wanted = [k for k in dict.fromkeys(keys) if k not in self.fetched]
        if wanted:
            stored = [stored_text(k) for k in wanted]
            rows = self.conn.execute(self.sql.many, (self.row, stored)).fetchall()
            found = dict(rows)
            for key, as_stored in zip(wanted, stored, strict=True):
                self.fetched[key] = found.get(as_stored)

    def fetch_one(self, key: str) -> str | None:
        row = self.conn.execute(self.sql.one, (self.row, stored_text(key))).fetchone()
        return row[0] if row else None

    def stored_keys(self, prefix: str) -> set[str]:
        rows = self.conn.execute(self.sql.keys, (self.row, stored_text(prefix))).fetchall()
        return {loaded_text(r[0]) for r in rows}

    def send_writes(self) -> None:
        """Queue the upserts and deletes (sent with the COMMIT, in one round trip)."""
        sets = [(self.row, stored_text(k), v) for k, v in self.pending.items() if v is not None]
        dels = [(self.row, stored_text(k)) for k, v in self.pending.items() if v is None]
        with self.conn.cursor() as cur:
            if sets:
                cur.executemany(self.sql.upsert, sets)
            if dels:
                cur.executemany(self.sql.delete, dels)


class _Sql:
    """The statements, with the schema's name in them (checked: a plain lowercase name)."""

    def __init__(self, schema: str) -> None:
        docs, subjects = f'"{schema}".docs', f'"{schema}".subjects'
        self.one = f"SELECT value FROM {docs} WHERE subject = %s AND key = %s"
        self.many = f"SELECT key, value FROM {docs} WHERE subject = %s AND key = ANY(%s)"
        self.keys = f"SELECT key FROM {docs} WHERE subject = %s AND starts_with(key, %s)"
        self.upsert = (
            f"INSERT INTO {docs} (subject, key, value) VALUES (%s, %s, %s) "
            "ON CONFLICT (subject, key) DO UPDATE SET value = excluded.value"
        )
        self.delete = f"DELETE FROM {docs} WHERE subject = %s AND key = %s"
        self.claim = f"INSERT INTO {subjects} (subject) VALUES (%s) ON CONFLICT DO NOTHING"
        self.lock = f"SELECT 1 FROM {subjects} WHERE subject = %s FOR UPDATE"


class _DeadlineConnection(psycopg.Connection[Any]):
    """A connection whose every wait for the server ends after `answer_within` seconds, as
    Redis's socket timeout: a frozen server (SIGSTOP, a black-holed network), which neither
    statement_timeout nor TCP notices, costs a call that long. The connection is then closed
    (its protocol state is unknown) and the pool replaces it."""

    answer_within: float | None = None

    def wait(self, gen: Any, *args: Any, **kwargs: Any) -> Any:
        if len(args) < 2 and kwargs.get("timeout") is None:
            kwargs["timeout"] = self.answer_within
        try:
            return super().wait(gen, *args, **kwargs)
        except _WAIT_TIMEOUT as err:
            self.pgconn.finish()  # broken now: what was sent may or may not have run
            raise psycopg.OperationalError(
                f"no answer from the server within {self.answer_within} s"
            ) from err


class PostgresStore:
    backend = "postgresql"

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 2.0,
        read_deadline: float | None = None,
        breaker: CircuitBreaker | None = None,
        schema: str | None = None,
        pool_size: int | None = None,
    ) -> None:
        self.url = url
        conninfo, options = _split_url(url)
        self.schema = schema or options.get("schema", "youthmode")
        if not _SCHEMA_NAME.fullmatch(self.schema):
            raise ValueError(f"schema `{self.schema}` is not a plain lowercase SQL name")
        self.serializable = options.get("atomic", "lock") == "serializable"
        if options.get("atomic", "lock") not in ("lock", "serializable"):
            raise ValueError("`atomic` is `lock` (the default) or `serializable`")
        self.timeout = timeout
        self.read_deadline = read_deadline or 0.2
        self.breaker = breaker or CircuitBreaker()
        self.pool_size = pool_size or int(options.get("pool_size", "4"))
        self.sql = _Sql(self.schema)
        self._conninfo = conninfo
        self._used: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        self._pid = -1
        self._lock = threading.Lock()
        self._pools: tuple[Any, Any] | None = None
        try:
            # A migration waits for another worker's (an advisory lock), never for ever.
            limits = f"-c lock_timeout={_MIGRATION_MS} -c statement_timeout={_MIGRATION_MS}"
            with psycopg.connect(conninfo, connect_timeout=_whole(timeout), options=limits) as conn:
                migrate(conn, self.schema)
        except psycopg.Error as err:
            raise StoreUnavailable(f"cannot prepare PostgreSQL store: {_first_line(err)}") from err

    # -- connections ---------------------------------------------------------------------------
    def _pool(self, fast: bool) -> Any:
        """The writes' pool or the decisions' pool, opened in this process (a forked worker
        opens its own: connections are never shared across processes)."""
        with self._lock:
            if self._pools is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._pools = (self._open(self.timeout), self._open(self.read_deadline))
                weakref.finalize(self, _close_pools, self._pools)
            return self._pools[1 if fast else 0]

    def _open(self, limit: float) -> Any:
        millis = max(1, int(limit * 1000))
        options = f"-c statement_timeout={millis} -c lock_timeout={millis}"
        options += " -c idle_in_transaction_session_timeout=60000"

        def configure(conn: Any) -> None:
            # A little after the server's own limits, so a slow statement ends with the
            # server's error and keeps its connection; only a frozen server reaches this.
            conn.answer_within = limit + _CLIENT_MARGIN_SECONDS

        return ConnectionPool(
            self._conninfo,
            connection_class=_DeadlineConnection,
            configure=configure,
            min_size=1,
            max_size=self.pool_size,
            timeout=limit,
            kwargs={
                "autocommit": True,
                "options": options,
                "connect_timeout": _whole(limit),
                "application_name": "youthmode",
            },
            check=self._check,
            reset=self._returned,
            open=True,
            name="youthmode-fast" if limit == self.read_deadline else "youthmode",
        )

    def _returned(self, conn: Any) -> None:
        self._used[conn] = time.monotonic()

    def _check(self, conn: Any) -> None:
        """A connection idle for a while (the server may have restarted meanwhile) answers
        one empty query before it is used; a busy one is trusted, as Redis's health check."""
        if time.monotonic() - self._used.get(conn, 0.0) > _IDLE_CHECK_SECONDS:
            ConnectionPool.check_connection(conn)

    @contextmanager
    def _connection(self, fast: bool = False) -> Iterator[Any]:
        try:
            with self._pool(fast).connection() as conn:
                yield conn
        except PoolTimeout as err:
            raise StoreUnavailable(f"PostgreSQL store unavailable: {err}") from err

    # -- the protocol --------------------------------------------------------------------------
    def atomic(self, subject: str, fn: Callable[[Any], T]) -> T:
        if not self.breaker.allow():
            raise StoreUnavailable("PostgreSQL store unavailable: too many recent failures")
        try:
            result = self._atomic(subject, fn)
        except StoreUnavailable:
            self.breaker.failed()
            raise
        self.breaker.succeeded()
        return result

    def _atomic(self, subject: str, fn: Callable[[Any], T]) -> T:
        attempts = _SERIALIZABLE_RETRIES if self.serializable else 1
        for attempt in range(attempts):
            try:
                return self._attempt(subject, fn)
            except pg_errors.SerializationFailure:
                # Rolled back by the server: nothing of this attempt was kept, so `fn` runs
                # again on a fresh read. Colliding writers back off by a random, growing pause.
                time.sleep(random.uniform(0, min(0.05, 0.0005 * 2**attempt)))
        raise StoreUnavailable("too much contention on one subject; try again")

    def _attempt(self, subject: str, fn: Callable[[Any], T]) -> T:
        sent = False  # has the COMMIT gone out?
        with self._connection() as conn:
            try:
                with conn.pipeline() as pipe:
                    self._begin(conn, subject)
                    pipe.sync()
                    tx = _PgTx(conn, self.sql, subject, writable=True)
                    result = fn(tx)
                    tx.send_writes()
                    sent = True
                    conn.execute("COMMIT")
                return result
            except pg_errors.SerializationFailure:
                _roll_back(conn)
                raise
            except psycopg.Error as err:
                _roll_back(conn)
                if sent and conn.broken:
                    raise StoreOutcomeUnknown(
                        f"PostgreSQL store: the write's outcome is unknown ({_first_line(err)}); "
                        "retry it with the same idempotency key"
                    ) from err
                raise StoreUnavailable(f"PostgreSQL store unavailable: {_first_line(err)}") from err
            except BaseException:
                _roll_back(conn)
                raise

    def _begin(self, conn: Any, subject: str) -> None:
        if self.serializable:
            conn.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
            return
        conn.execute("BEGIN")
        conn.execute(self.sql.claim, (stored_text(subject),))
        conn.execute(self.sql.lock, (stored_text(subject),))

    def read(self, subject: str, fn: Callable[[Any], T], *, decision: bool = False) -> T:
        if decision and not self.breaker.allow():
            raise StoreUnavailable("PostgreSQL store unavailable: too many recent failures")
        try:
            result = self._read(subject, fn, decision)
        except StoreUnavailable:
            self.breaker.failed()
            raise
        self.breaker.succeeded()
        return result

    def _read(self, subject: str, fn: Callable[[Any], T], decision: bool) -> T:
        """A decision reads outside a transaction (one query when it prefetches, as Redis's
        HMGET); other reads see one snapshot, as SQLite's."""
        with self._connection(fast=decision) as conn:
            try:
                if decision:
                    return fn(_PgTx(conn, self.sql, subject, writable=False))
                with conn.pipeline():
                    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    result = fn(_PgTx(conn, self.sql, subject, writable=False))
                    conn.execute("COMMIT")
                return result
            except psycopg.Error as err:
                _roll_back(conn)
                raise StoreUnavailable(f"PostgreSQL store unavailable: {_first_line(err)}") from err
            except BaseException:
                _roll_back(conn)
                raise

    def ping(self) -> None:
        try:
            with self._connection(fast=True) as conn:
                conn.execute("SELECT 1").fetchone()
        except psycopg.Error as err:
            raise StoreUnavailable(f"PostgreSQL store unavailable: {_first_line(err)}") from err

    def close(self) -> None:
        with self._lock:
            if self._pools is not None and self._pid == os.getpid():
                _close_pools(self._pools)
            self._pools = None

    def delete_all(self) -> None:
        """Drop this store's schema and everything in it (tests clean up with it)."""
        self.close()
        with psycopg.connect(self._conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


def _roll_back(conn: Any) -> None:
    """End a failed transaction so the pool gets a clean connection (a broken one it drops)."""
    if conn.broken or conn.closed:
        return
    try:
        conn.rollback()
    except psycopg.Error:
        pass  # the pool checks and replaces a connection it cannot use


def _close_pools(pools: tuple[Any, Any]) -> None:
    for pool in pools:
        pool.close(timeout=1.0)


def _split_url(url: str) -> tuple[str, dict[str, str]]:
    """libpq's URL without youthmode's own query options, and those options."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in query if k in _OPTIONS}
    theirs = urlencode([(k, v) for k, v in query if k not in _OPTIONS])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, theirs, "")), ours


def _whole(seconds: float) -> int:
    """libpq's connect_timeout is whole seconds, at least 2 (smaller values become 2)."""
    return max(2, int(seconds + 0.999))


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]
