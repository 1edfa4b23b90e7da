"""The shared store: one Redis hash per subject, changed with optimistic transactions
(`redis_transaction.py` says how a write is tried, retried and known to be applied once).

redis-py's own retries are off: a retried EXEC could apply a write twice.

Decisions read through connections of their own with a short deadline and a circuit breaker,
so a stalled Redis costs a decision at most the deadline, and nothing once the breaker opens.
"""

from __future__ import annotations

import os
import threading
import uuid
import weakref
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from youthmode.ledger import resp
from youthmode.ledger.breaker import CircuitBreaker
from youthmode.ledger.redis_transaction import HashTransaction, WatchedWrite
from youthmode.ledger.spin import MAX_BUDGET, SpinWait
from youthmode.ledger.store import StoreUnavailable

T = TypeVar("T")

# Off unless asked for: polling shortened one client's waits on an idle VM but, measured under
# `youthmode serve`, cost p99 from 64 connections up and throughput at 256 (docs/ledger.md).
DEFAULT_SPIN_US = 0


class RedisStore:
    backend = "redis"

    def __init__(
        self,
        url: str,
        *,
        prefix: str | None = None,
        ttl_days: int = 400,
        timeout: float = 2.0,
        read_deadline: float | None = None,
        breaker: CircuitBreaker | None = None,
        spin: float | None = None,
    ) -> None:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        self.prefix = prefix or query.get("prefix", ["youthmode:"])[0]
        if spin is None:  # `?spin_us=`: how long a decision polls for its reply (spin.py)
            spin = _spin_budget(query.get("spin_us", [str(DEFAULT_SPIN_US)])[0])
        spin_wait = SpinWait(spin)
        clean = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        self.url = url
        self.ttl = ttl_days * 86400
        self.read_deadline = read_deadline or 0.2
        self.breaker = breaker or CircuitBreaker()
        self.client = _client(clean, timeout)
        self.fast = _client(clean, self.read_deadline)  # the decision path: ping, its pool
        self.reads = DecisionReads(self.fast.connection_pool, spin_wait)
        self.writes = WatchedWrite(
            self.client.pipeline, (redis.RedisError,), self.ttl, self.breaker
        )
        weakref.finalize(self, self.client.connection_pool.disconnect)
        weakref.finalize(self, self.fast.connection_pool.disconnect)
        weakref.finalize(self, self.reads.close)

    def _key(self, subject: str) -> str:
        return f"{self.prefix}s:{subject}"

    def atomic(self, subject: str, fn: Callable[[Any], T]) -> T:
        marker = f"{self.prefix}tx:{uuid.uuid4().hex}"
        return self.writes.run(self._key(subject), marker, fn)

    def read(self, subject: str, fn: Callable[[Any], T], *, decision: bool = False) -> T:
        if decision and not self.breaker.allow():
            raise StoreUnavailable("Redis store unavailable: too many recent failures")
        client = self.reads if decision else self.client
        try:
            result = fn(HashTransaction(client, self._key(subject), writable=False))
        except redis.RedisError as err:
            self.breaker.failed()
            raise StoreUnavailable(f"Redis store unavailable: {err}") from err
        self.breaker.succeeded()
        return result

    def ping(self) -> None:
        try:
            self.fast.ping()
        except redis.RedisError as err:
            raise StoreUnavailable(f"Redis store unavailable: {err}") from err

    def close(self) -> None:
        self.client.close()
        self.fast.close()
        self.reads.close()

    def delete_all(self) -> None:
        """Remove every key under this store's prefix (tests clean up with it)."""
        for key in self.client.scan_iter(match=f"{self.prefix}*", count=500):
            self.client.delete(key)


class DecisionReads:
    """The decision path's reads (HMGET, HGET, HKEYS: what `HashTransaction` reads), on one
    connection per thread, outside redis-py's pool and client.

    A decision is one HMGET. Through the client it cost 180k instructions, two thirds of them in
    the pool's checkout and release and the client's retry and observability wrappers, which a
    decision (no retries, one connection per thread) does not use (docs/performance.md). The
    connection has the pool's settings (the read deadline as socket timeout, TLS, health
    checks); any error but Redis's own answer drops it, so the next read starts on a fresh one
    and never takes the rest of an interrupted reply for its answer. A forked process opens
    its own rather than share its parent's socket.
    """

    def __init__(self, pool: redis.ConnectionPool, spin: SpinWait | None = None) -> None:
        self.pool = pool
        self.spin = spin or SpinWait(0)
        self.local = threading.local()
        # Every connection made, with its thread, for `close`. Those of threads that have
        # ended are closed when the next one is made, so threads made per request (a threaded
        # dev server) leave at most one socket behind, not one each.
        self.opened: list[tuple[threading.Thread, Any]] = []
        self.lock = threading.Lock()

    def _connection(self) -> Any:
        local = self.local
        conn = getattr(local, "conn", None)
        if conn is None or local.pid != os.getpid():
            conn = self.pool.connection_class(**self.pool.connection_kwargs)
            local.conn, local.pid = conn, os.getpid()
            with self.lock:
                for thread, old in [o for o in self.opened if not o[0].is_alive()]:
                    old.disconnect()
                    self.opened.remove((thread, old))
                self.opened.append((threading.current_thread(), conn))
        return conn

    def send(self, packed: bytes) -> Any:
        """Redis's answer to the command ``packed`` (resp.py)."""
        conn = self._connection()
        try:
            conn.send_packed_command((packed,))  # with its health check, as redis-py sends
            sock = conn._sock
            if sock is None:
                return conn.read_response()
            return self.spin.wait(sock, conn.read_response)  # how it waits, not what it reads
        except redis.ResponseError:
            raise  # Redis answered: the connection is in step
        except BaseException:
            conn.disconnect()
            raise

    def hmget(self, key: str, fields: Sequence[str]) -> list[bytes | None]:
        found: list[bytes | None] = self.send(resp.hmget(key, fields))
        return found

    def hget(self, key: str, field: str) -> bytes | None:
        found: bytes | None = self.send(resp.command("HGET", key, field))
        return found

    def hkeys(self, key: str) -> list[bytes]:
        found: list[bytes] = self.send(resp.command("HKEYS", key))
        return found

    def close(self) -> None:
        with self.lock:
            for _, conn in self.opened:
                conn.disconnect()
            self.opened.clear()
        self.local = threading.local()


def _spin_budget(text: str) -> float:
    """Seconds, from `?spin_us=` (microseconds)."""
    try:
        value = float(text) / 1e6
    except ValueError:
        value = -1.0
    if not 0 <= value <= MAX_BUDGET:  # NaN fails too
        raise ValueError(
            f"?spin_us= must be microseconds from 0 to {MAX_BUDGET * 1e6:.0f}, not {text!r}"
        )
    return value


def _client(url: str, timeout: float) -> redis.Redis:
    # No retries inside redis-py: a retried EXEC could apply a write twice (see above).
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=10,
        retry=Retry(NoBackoff(), 0),
    )
