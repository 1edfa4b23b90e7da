"""The ledger on a Redis Cluster: `redis-cluster://host:port[,host:port...]` (seed nodes; the
rest of the cluster is discovered from them).

Every write stays on one hash slot. A subject's hash and its transactions' markers carry the
same hash tag, `{<subject>}`, so the WATCH/MULTI transaction of `redis_transaction.py` runs on
the one primary that owns the slot (redis-py's cluster pipeline runs transactions on a single
slot). The ledger has no write that spans subjects: the order-id claim is a subject of its own
(`order:<id>`, its own slot) whose first writer owns it, and is itself the idempotency record;
the purchase is then a second, separate write on the buyer's slot. Nothing is global.

Failover: a store error other than a lost race (connection refused, MOVED, CLUSTERDOWN while a
replica is promoted) refreshes the slot map and tries the write again until
``failover_seconds`` have passed; an EXEC already sent is known applied by its marker, so it is
never applied twice. Redis replicates asynchronously: a write that the old primary acknowledged
but had not yet sent to its replica is lost when that replica is promoted. ``replicas=1``
(`?wait=1`) makes each write wait until a replica holds it, and report an unknown outcome
(the caller retries with the same id) when none confirms in time; docs/ledger.md gives the
measured cost and what can still be lost.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import redis
from redis.backoff import NoBackoff
from redis.cluster import REPLICA, ClusterNode, LoadBalancingStrategy, RedisCluster
from redis.exceptions import RedisClusterException
from redis.retry import Retry

from youthmode.ledger.breaker import CircuitBreaker
from youthmode.ledger.redis_transaction import HashTransaction, WatchedWrite
from youthmode.ledger.store import StoreOutcomeUnknown, StoreUnavailable

T = TypeVar("T")
STORE_ERRORS = (redis.RedisError, RedisClusterException)
SCHEME = "redis-cluster://"


class ClusterUrlError(ValueError):
    """A `redis-cluster://` URL that names no usable seed node or has a bad option."""


def seed_nodes(url: str) -> list[tuple[str, int]]:
    """The `host:port` pairs of a `redis-cluster://h:p,h:p` URL."""
    netloc = urlsplit(url).netloc
    seeds = []
    for part in filter(None, netloc.split(",")):
        host, _, port = part.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ClusterUrlError(f"`{part}` in `{url}` is not host:port")
        seeds.append((host.strip("[]"), int(port)))
    if not seeds:
        raise ClusterUrlError(f"`{url}` names no seed node; use {SCHEME}host:port[,host:port...]")
    return seeds


def hash_tag(subject: str) -> str:
    """The subject as a hash tag's text: `}` (which would end the tag early) and `%` escaped,
    so different subjects never share a key and a subject's keys always share a slot."""
    return subject.replace("%", "%25").replace("}", "%7D")


class RedisClusterStore:
    backend = "redis-cluster"

    def __init__(
        self,
        url: str,
        *,
        prefix: str | None = None,
        ttl_days: int = 400,
        timeout: float = 2.0,
        read_deadline: float | None = None,
        breaker: CircuitBreaker | None = None,
        failover_seconds: float = 5.0,
        replicas: int | None = None,
    ) -> None:
        query = parse_qs(urlsplit(url).query)
        self.prefix = prefix or query.get("prefix", ["youthmode:"])[0]
        if "{" in self.prefix or "}" in self.prefix:
            raise ClusterUrlError("a Redis Cluster key prefix cannot hold `{` or `}`")
        self.replicas = replicas if replicas is not None else _wait_option(url, query)
        self.url = url
        self.failover_seconds = failover_seconds
        self.read_deadline = read_deadline or 0.2
        self.breaker = breaker or CircuitBreaker()
        self.ttl = ttl_days * 86400
        self.timeout = timeout
        self._seeds = seed_nodes(url)
        self._clients: _Clients | None = None
        self._connecting = threading.Lock()
        self._replicas_read_at = time.monotonic()

    def _connected(self) -> _Clients:
        """The cluster clients, made on first use: each reads the slot map from a seed node,
        so a cluster that is down when the server starts costs 503s and degraded decisions
        until it answers, not a server that cannot start."""
        with self._connecting:
            if self._clients is None:
                try:
                    self._clients = _Clients.connect(self._seeds, self.timeout, self.read_deadline)
                except STORE_ERRORS as err:
                    self.breaker.failed()
                    raise StoreUnavailable(
                        f"Redis Cluster store unavailable: no seed node gave the slot map ({err})"
                    ) from err
                weakref.finalize(self, self._clients.close)
            return self._clients

    @property
    def client(self) -> RedisCluster:
        """Writes and the ledger's own reads (write timeout)."""
        return self._connected().writes

    @property
    def fast(self) -> RedisCluster:
        """The decision path's reads (the read deadline)."""
        return self._connected().reads

    @property
    def replica_reads(self) -> RedisCluster:
        """READONLY connections to replicas: how a write with ?wait=N sees it replicated."""
        return self._connected().replicas

    def _key(self, subject: str) -> str:
        return f"{self.prefix}s:{{{hash_tag(subject)}}}"

    def atomic(self, subject: str, fn: Callable[[Any], T]) -> T:
        marker = f"{self.prefix}tx:{{{hash_tag(subject)}}}:{uuid.uuid4().hex}"
        deadline = time.monotonic() + self.failover_seconds
        writes = WatchedWrite(
            lambda: self.client.pipeline(transaction=True),  # type: ignore[no-untyped-call]  # untyped
            STORE_ERRORS,
            self.ttl,
            self.breaker,
            name="Redis Cluster store",
            recover=lambda err: self._recover(deadline),
            mark_always=self.replicas > 0,
        )
        answer, wrote = writes.run_telling(self._key(subject), marker, fn)
        if self.replicas and wrote:
            self._confirm_replicated(marker)
        return answer

    def _recover(self, deadline: float) -> bool:
        """A store error mid-write: while the failover allowance lasts, pause, refresh the slot
        map (a promoted replica now owns the slots) and say to try again."""
        if time.monotonic() >= deadline:
            return False
        time.sleep(random.uniform(0.05, 0.15))  # a failover takes about a node timeout
        try:
            self.client.nodes_manager.initialize()
        except STORE_ERRORS:
            pass  # no node answered yet: the next attempt fails fast and comes back here
        return True

    def _confirm_replicated(self, marker: str) -> None:
        """Wait until ``replicas`` replicas of the marker's shard hold the marker (written in
        the same MULTI/EXEC as the change, so they hold the change). WAIT would need the
        EXEC's own connection, which redis-py's cluster pipeline gives back to its pool."""
        deadline = time.monotonic() + self.timeout
        held, refreshed = 0, False
        while True:
            try:
                replicas = self._replicas_of(marker)
                if len(replicas) < self.replicas and not refreshed:
                    replicas, refreshed = self._refreshed_replicas_of(marker), True
                held = sum(bool(node.exists(marker)) for node in replicas)
            except STORE_ERRORS:
                held = 0
            if held >= self.replicas or time.monotonic() >= deadline:
                break
            time.sleep(0.0005)  # loopback replication takes well under a millisecond
        if held < self.replicas:
            raise StoreOutcomeUnknown(
                f"Redis Cluster store: the write is applied but {held} of {self.replicas} "
                "replicas confirmed it; a failover now could lose it: retry it with the same "
                "idempotency key"
            )

    def _refreshed_replicas_of(self, key: str) -> list[redis.Redis]:
        """The slot map may predate a replica (or a failover): read it again, at most once a
        second (a shard left without a replica would otherwise ask on every write)."""
        if time.monotonic() - self._replicas_read_at >= 1.0:
            self._replicas_read_at = time.monotonic()
            self.replica_reads.nodes_manager.initialize()
        return self._replicas_of(key)

    def _replicas_of(self, key: str) -> list[redis.Redis]:
        manager = self.replica_reads.nodes_manager
        slot = self.replica_reads.keyslot(key)  # type: ignore[no-untyped-call]  # untyped
        nodes = manager.slots_cache.get(slot, [])
        return [
            self.replica_reads.get_redis_connection(node)
            for node in nodes
            if node.server_type == REPLICA
        ]

    def read(self, subject: str, fn: Callable[[Any], T], *, decision: bool = False) -> T:
        if decision and not self.breaker.allow():
            raise StoreUnavailable("Redis Cluster store unavailable: too many recent failures")
        try:
            client = self.fast if decision else self.client
            result = fn(HashTransaction(client, self._key(subject), writable=False))
        except STORE_ERRORS as err:
            self.breaker.failed()
            if not decision:  # a MOVED after a failover: the next read goes to the new owner
                self._refresh()
            raise StoreUnavailable(f"Redis Cluster store unavailable: {err}") from err
        self.breaker.succeeded()
        return result

    def _refresh(self) -> None:
        for client in (self.client, self.fast):
            try:
                client.nodes_manager.initialize()
            except STORE_ERRORS:
                pass  # still failing over; the next call tries again

    def ping(self) -> None:
        try:
            self.fast.ping(target_nodes=RedisCluster.PRIMARIES)
        except STORE_ERRORS as err:
            raise StoreUnavailable(f"Redis Cluster store unavailable: {err}") from err

    def close(self) -> None:
        if self._clients is not None:
            self._clients.close()

    def delete_all(self) -> None:
        """Remove every key under this store's prefix on every primary (tests clean up)."""
        for node in self.client.get_primaries():  # type: ignore[no-untyped-call]  # untyped
            server = self.client.get_redis_connection(node)
            for key in server.scan_iter(match=f"{self.prefix}*", count=500):
                server.delete(key)


@dataclass(frozen=True)
class _Clients:
    writes: RedisCluster
    reads: RedisCluster
    replicas: RedisCluster

    @classmethod
    def connect(cls, seeds: list[tuple[str, int]], timeout: float, deadline: float) -> _Clients:
        nodes = [ClusterNode(host, port) for host, port in seeds]  # type: ignore[no-untyped-call]  # untyped
        return cls(
            writes=_client(nodes, timeout),
            reads=_client(nodes, deadline),
            replicas=_client(nodes, timeout, LoadBalancingStrategy.RANDOM_REPLICA),
        )

    def close(self) -> None:
        for client in (self.writes, self.reads, self.replicas):
            client.close()


def _wait_option(url: str, query: dict[str, list[str]]) -> int:
    given = query.get("wait", ["0"])[0]
    if not given.isdigit():
        raise ClusterUrlError(f"`wait={given}` in `{url}`: the replicas to wait for, 0 or 1")
    return int(given)


def _client(
    seeds: list[ClusterNode], timeout: float, balancing: LoadBalancingStrategy | None = None
) -> RedisCluster:
    # No retries inside redis-py: its cluster pipeline would send a failed EXEC again on a new
    # connection, outside the WATCH, which can lose a concurrent update or apply one twice.
    return RedisCluster(
        startup_nodes=seeds,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        require_full_coverage=False,
        load_balancing_strategy=balancing,
    )
