"""The shared store: one Redis hash per subject, changed with optimistic transactions.

A transaction WATCHes the subject's hash, reads what it needs, and writes everything in one
MULTI/EXEC. If another API instance changed the subject meanwhile, EXEC fails and the whole
read-modify-write runs again, so concurrent writers never lose an update.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast
from urllib.parse import parse_qs, urlsplit, urlunsplit

import redis

from youthmode.ledger.store import StoreUnavailable

T = TypeVar("T")
_RETRIES = 50


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
        return json.loads(raw) if raw is not None else None

    def put(self, field: str, value: Any) -> None:
        if not self.writable:
            raise RuntimeError("write inside a read-only snapshot")
        self.pending[field] = json.dumps(value, separators=(",", ":"))

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
        self, url: str, *, prefix: str | None = None, ttl_days: int = 400, timeout: float = 2.0
    ) -> None:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        self.prefix = prefix or query.get("prefix", ["youthmode:"])[0]
        clean = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        self.url = url
        self.ttl = ttl_days * 86400
        self.client = redis.Redis.from_url(
            clean, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=10
        )
        weakref.finalize(self, self.client.connection_pool.disconnect)

    def _key(self, subject: str) -> str:
        return f"{self.prefix}s:{subject}"

    def atomic(self, subject: str, fn: Callable[[Any], T]) -> T:
        key = self._key(subject)
        try:
            for _ in range(_RETRIES):
                with self.client.pipeline() as pipe:
                    try:
                        pipe.watch(key)  # type: ignore[no-untyped-call]  # untyped in redis-py
                        tx = _RedisTx(pipe, key, writable=True)
                        result = fn(tx)
                        pipe.multi()
                        sets = {k: v for k, v in tx.pending.items() if v is not None}
                        dels = [k for k, v in tx.pending.items() if v is None]
                        if sets:
                            pipe.hset(key, mapping=cast(Any, sets))
                        if dels:
                            pipe.hdel(key, *dels)
                        if sets or dels:
                            pipe.expire(key, self.ttl)
                        pipe.execute()
                        return result
                    except redis.WatchError:
                        continue  # another writer changed this subject: run fn again
        except redis.RedisError as err:
            raise StoreUnavailable(f"Redis store unavailable: {err}") from err
        raise StoreUnavailable("too much contention on one subject; try again")

    def read(self, subject: str, fn: Callable[[Any], T]) -> T:
        try:
            return fn(_RedisTx(self.client, self._key(subject), writable=False))
        except redis.RedisError as err:
            raise StoreUnavailable(f"Redis store unavailable: {err}") from err

    def ping(self) -> None:
        try:
            self.client.ping()
        except redis.RedisError as err:
            raise StoreUnavailable(f"Redis store unavailable: {err}") from err

    def close(self) -> None:
        self.client.close()

    def delete_all(self) -> None:
        """Remove every key under this store's prefix (tests clean up with it)."""
        for key in self.client.scan_iter(match=f"{self.prefix}*", count=500):
            self.client.delete(key)
