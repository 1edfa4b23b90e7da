"""The shared store: one Redis hash per subject, changed with optimistic transactions.

A transaction WATCHes the subject's hash, reads what it needs, and writes everything in one
MULTI/EXEC. If another API instance changed the subject meanwhile, EXEC fails and the whole
read-modify-write runs again, so concurrent writers never lose an update.

A write whose EXEC reply is lost (a dropped connection, a proxy that times out) has an unknown
outcome: Redis may or may not have applied it. redis-py reports that as a WatchError, the same
as a lost race, so running `fn` again could apply the change twice. Each write therefore also
sets a marker key named by a fresh transaction id, and every attempt WATCHes and reads that
marker first: once it exists, the write is known to be applied and the first answer is
returned. redis-py's own retries are off; this loop is the only one.

Decisions read through a second connection pool with a short deadline and a circuit breaker,
so a stalled Redis costs a decision at most the deadline, and nothing once the breaker opens.
"""

from __future__ import annotations

import random
import time
import uuid
import weakref
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast
from urllib.parse import parse_qs, urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from youthmode.ledger.breaker import CircuitBreaker
from youthmode.ledger.store import (
    StoreOutcomeUnknown,
    StoreUnavailable,
    decode_document,
    encode_document,
)

T = TypeVar("T")
_RETRIES = 50
MARKER_SECONDS = 3600  # a transaction's marker outlives any retry of it


class _RedisTx:
    def __init__(self, pipe: Any, key: str, writable: bool) -> None:
        self.pipe, self.key, self.writable = pipe, key, writable
        self.pending: dict[str, str | None] = {}
        self.fetched: dict[str, Any] = {}

    def prefetch(self, fields: Iterable[str]) -> None:
        """One HMGET instead of a round trip per field (a decision reads six)."""
        wanted = [f for f in fields if f not in self.pending and f not in self.fetched]
        if wanted:
            self.fetched.update(zip(wanted, self.pipe.hmget(self.key, wanted), strict=True))

    def get(self, field: str) -> Any:
        if field in self.pending:
            raw = self.pending[field]
        elif field in self.fetched:
            raw = self.fetched[field]
        else:
            raw = self.pipe.hget(self.key, field)
        return decode_document(raw) if raw is not None else None

    def put(self, field: str, value: Any) -> None:
        if not self.writable:
            raise RuntimeError("write inside a read-only snapshot")
        self.pending[field] = encode_document(value)

    def delete(self, field: str) -> None:
        if not self.writable:
            raise RuntimeError("write inside a read-only snapshot")
        self.pending[field] = None

    def keys(self, prefix: str) -> list[str]:
        found = {f.decode() if isinstance(f, bytes) else f for f in self.pipe.hkeys(self.key)}
        found = {f for f in found if f.startswith(prefix)}
        found |= {k for k, v in self.pending.items() if k.startswith(prefix) and v is not None}
        found -= {k for k, v in self.pending.items() if v is None}
        return sorted(found)


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
    ) -> None:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        self.prefix = prefix or query.get("prefix", ["youthmode:"])[0]
        clean = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        self.url = url
        self.ttl = ttl_days * 86400
        self.read_deadline = read_deadline or 0.2
        self.breaker = breaker or CircuitBreaker()
        self.client = _client(clean, timeout)
        self.fast = _client(clean, self.read_deadline)  # the decision path's reads
        weakref.finalize(self, self.client.connection_pool.disconnect)
        weakref.finalize(self, self.fast.connection_pool.disconnect)

    def _key(self, subject: str) -> str:
        return f"{self.prefix}s:{subject}"

    def atomic(self, subject: str, fn: Callable[[Any], T]) -> T:
        if not self.breaker.allow():
            raise StoreUnavailable("Redis store unavailable: too many recent failures")
        key = self._key(subject)
        marker = f"{self.prefix}tx:{uuid.uuid4().hex}"
        answers: list[T] = []  # the answer each attempt computed, by attempt number
        sent = False  # has any attempt sent its EXEC?
        try:
            for attempt in range(_RETRIES):
                with self.client.pipeline() as pipe:
                    try:
                        pipe.watch(key, marker)  # type: ignore[no-untyped-call]  # untyped
                        applied = pipe.get(marker) if sent else None
                        if applied is not None:
                            self.breaker.succeeded()
                            return answers[int(applied)]
                        tx = _RedisTx(pipe, key, writable=True)
                        answers.append(fn(tx))
                        pipe.multi()
                        sets = {k: v for k, v in tx.pending.items() if v is not None}
                        dels = [k for k, v in tx.pending.items() if v is None]
                        if sets:
                            pipe.hset(key, mapping=cast(Any, sets))
                        if dels:
                            pipe.hdel(key, *dels)
                        if sets or dels:
                            pipe.expire(key, self.ttl)
                            pipe.set(marker, attempt, ex=MARKER_SECONDS)
                        sent = True
                        pipe.execute()
                        self.breaker.succeeded()
                        return answers[attempt]
                    except redis.WatchError:
                        # A lost race, or a lost reply (the marker tells next time). Writers
                        # that collided back off by a random, growing pause, so one of them
                        # gets through instead of all retrying in step.
                        time.sleep(random.uniform(0, min(0.05, 0.0005 * 2**attempt)))
        except redis.RedisError as err:
            self.breaker.failed()
            if sent:
                raise StoreOutcomeUnknown(
                    f"Redis store: the write's outcome is unknown ({err}); retry it with the "
                    "same idempotency key"
                ) from err
            raise StoreUnavailable(f"Redis store unavailable: {err}") from err
        raise StoreUnavailable("too much contention on one subject; try again")

    def read(self, subject: str, fn: Callable[[Any], T], *, decision: bool = False) -> T:
        if decision and not self.breaker.allow():
            raise StoreUnavailable("Redis store unavailable: too many recent failures")
        client = self.fast if decision else self.client
        try:
            result = fn(_RedisTx(client, self._key(subject), writable=False))
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

    def delete_all(self) -> None:
        """Remove every key under this store's prefix (tests clean up with it)."""
        for key in self.client.scan_iter(match=f"{self.prefix}*", count=500):
            self.client.delete(key)


def _client(url: str, timeout: float) -> redis.Redis:
    # No retries inside redis-py: a retried EXEC could apply a write twice (see above).
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=10,
        retry=Retry(NoBackoff(), 0),
    )
