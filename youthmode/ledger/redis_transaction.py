"""One subject's Redis hash, read and changed inside an optimistic WATCH/MULTI transaction:
the part the single-node store (`redis_store.py`) and the cluster store
(`redis_cluster_store.py`) share.

A transaction WATCHes the subject's hash, reads what it needs, and writes everything in one
MULTI/EXEC. If another API instance changed the subject meanwhile, EXEC fails and the whole
read-modify-write runs again, so concurrent writers never lose an update.

A write whose EXEC reply is lost (a dropped connection, a proxy that times out, a primary
killed mid-reply) has an unknown outcome: Redis may or may not have applied it. redis-py reports
a lost reply inside a watch as a WatchError, the same as a lost race, so running `fn` again could
apply the change twice. Each write therefore also sets a marker key named by a fresh
transaction id (in the subject's hash slot, so a cluster keeps both on one node), and every
later attempt WATCHes and reads that marker first: once it exists, the write is known to be
applied and the first answer is returned. redis-py's own retries are off; this loop is the only
one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import redis

from youthmode.ledger.breaker import CircuitBreaker
from youthmode.ledger.store import (
    StoreOutcomeUnknown,
    StoreUnavailable,
    decode_document,
    encode_document,
)

T = TypeVar("T")
RETRIES = 50
MARKER_SECONDS = 3600  # a transaction's marker outlives any retry of it


class HashTransaction:
    """The `Transaction` view of one subject's hash: reads go to Redis (or a pipeline inside a
    WATCH), writes wait in `pending` until the transaction's MULTI/EXEC."""

    def __init__(self, pipe: Any, key: str, writable: bool) -> None:
        self.pipe, self.key, self.writable = pipe, key, writable
        self.pending: dict[str, str | None] = {}
        self.fetched: dict[str, Any] = {}

    def prefetch(self, fields: Iterable[str]) -> None:
        """One HMGET instead of a round trip per field (a decision reads six)."""
        if not self.pending and not self.fetched and type(fields) is tuple:
            wanted: Any = fields  # a decision's one read (`documents.decision_keys`)
        else:
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

    def text(self, field: str) -> str | bytes | None:
        """The document ``field`` as stored, not decoded (None: no such document)."""
        if field in self.pending:
            return self.pending[field]
        if field in self.fetched:
            found: str | bytes | None = self.fetched[field]
            return found
        found = self.pipe.hget(self.key, field)
        return found

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


@dataclass
class _Progress:
    """What the attempts of one write have done so far."""

    answers: list[Any] = field(default_factory=list)  # each attempt's answer, by attempt number
    sent: bool = False  # has any attempt sent its EXEC?
    wrote: bool = False  # did the applied attempt change anything (and so set its marker)?


@dataclass(frozen=True)
class WatchedWrite:
    """How a store runs one subject's write: its pipelines, error types and failure handling.

    ``recover`` is asked about a store error (not a lost race): True means the error is passing
    (a cluster failing over) and the write is tried again, the marker telling whether an EXEC
    already sent was applied; False gives up with StoreUnavailable or StoreOutcomeUnknown."""

    pipeline: Callable[[], Any]
    errors: tuple[type[BaseException], ...]
    ttl: int
    breaker: CircuitBreaker
    name: str = "Redis store"
    recover: Callable[[BaseException], bool] = lambda _err: False
    mark_always: bool = False  # set the marker even when nothing changed (see run_telling)

    def run(self, key: str, marker: str, fn: Callable[[Any], T]) -> T:
        return self.run_telling(key, marker, fn)[0]

    def run_telling(self, key: str, marker: str, fn: Callable[[Any], T]) -> tuple[T, bool]:
        """The answer, and whether the marker was set: by a write that changed something, or by
        every write with ``mark_always``. A replica holding the marker then holds all that the
        primary had before it, in the one replication stream: the change, or the earlier write
        that a retry found already applied (a retry after an unconfirmed write changes nothing,
        and is confirmed only once that write is replicated)."""
        if not self.breaker.allow():
            raise StoreUnavailable(f"{self.name} unavailable: too many recent failures")
        progress = _Progress()
        for attempt in range(RETRIES):
            try:
                with self.pipeline() as pipe:
                    answer: T = self._attempt(pipe, key, marker, fn, progress)
                self.breaker.succeeded()
                return answer, progress.wrote
            except redis.WatchError:
                # A lost race, or a lost reply (the marker tells next time). Writers that
                # collided back off by a random, growing pause, so one of them gets through
                # instead of all retrying in step.
                time.sleep(random.uniform(0, min(0.05, 0.0005 * 2**attempt)))
            except self.errors as err:
                if self.recover(err):
                    continue
                self.breaker.failed()
                if progress.sent:
                    raise StoreOutcomeUnknown(
                        f"{self.name}: the write's outcome is unknown ({err}); retry it with "
                        "the same idempotency key"
                    ) from err
                raise StoreUnavailable(f"{self.name} unavailable: {err}") from err
        raise StoreUnavailable("too much contention on one subject; try again")

    def _attempt(
        self, pipe: Any, key: str, marker: str, fn: Callable[[Any], T], progress: _Progress
    ) -> T:
        pipe.watch(key, marker)
        applied = pipe.get(marker) if progress.sent else None
        if applied is not None:
            progress.wrote = True
            return cast(T, progress.answers[int(applied)])
        attempt = len(progress.answers)
        tx = HashTransaction(pipe, key, writable=True)
        progress.answers.append(fn(tx))
        pipe.multi()
        sets = {k: v for k, v in tx.pending.items() if v is not None}
        dels = [k for k, v in tx.pending.items() if v is None]
        if sets:
            pipe.hset(key, mapping=cast(Any, sets))
        if dels:
            pipe.hdel(key, *dels)
        if sets or dels:
            pipe.expire(key, self.ttl)
        marked = bool(sets or dels) or self.mark_always
        if marked:
            pipe.set(marker, attempt, ex=MARKER_SECONDS)
        progress.sent, progress.wrote = True, marked
        pipe.execute()
        return cast(T, progress.answers[attempt])
