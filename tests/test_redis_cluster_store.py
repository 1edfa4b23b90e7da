"""What only the Redis Cluster store has: its URL, hash tags that keep a subject on one slot,
a cluster that is down at start, and `?wait=1` when a shard's replica is gone. The ledger's
behaviour on the cluster is tested by the shared suites (test_ledger.py and its neighbours)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis_cluster_support import RedisClusterProcess
from redis_support import free_port

import youthmode
from youthmode.ledger import Ledger, open_store
from youthmode.ledger.redis_cluster_store import (
    ClusterUrlError,
    RedisClusterStore,
    hash_tag,
    seed_nodes,
)
from youthmode.ledger.store import StoreOutcomeUnknown, StoreUnavailable

NOW = datetime(2026, 11, 27, 12, 30, tzinfo=UTC)  # Friday 20:30 in Shanghai


def test_seed_nodes_are_read_from_the_url() -> None:
    url = "redis-cluster://10.0.0.5:6379,redis-b:7000,[::1]:7001?prefix=p:"
    assert seed_nodes(url) == [("10.0.0.5", 6379), ("redis-b", 7000), ("::1", 7001)]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis-cluster://", "names no seed node"),
        ("redis-cluster://host-without-port", "is not host:port"),
        ("redis-cluster://h:1,h:99999", "`h:99999`"),
        ("redis-cluster://h:1?prefix=a{b}:", "cannot hold `{` or `}`"),
        ("redis-cluster://h:1?wait=yes", "`wait=yes`"),
    ],
)
def test_a_bad_cluster_url_is_refused_with_what_is_wrong(url: str, says: str) -> None:
    with pytest.raises(ClusterUrlError) as caught:
        open_store(url)
    assert says in str(caught.value)
    assert isinstance(caught.value, ValueError)  # as open_store's other URL errors


def test_a_cluster_that_is_down_costs_503s_not_a_server_that_cannot_start() -> None:
    store = open_store(f"redis-cluster://127.0.0.1:{free_port()}", timeout=0.2)
    with pytest.raises(StoreUnavailable, match="no seed node gave the slot map"):
        store.atomic("kid", lambda tx: tx.put("a", 1))
    with pytest.raises(StoreUnavailable):
        store.read("kid", lambda tx: tx.get("a"), decision=True)
    with pytest.raises(StoreUnavailable):
        store.ping()
    store.close()


def test_subject_ids_with_braces_and_percents_stay_apart_each_on_one_slot(
    redis_cluster_url: str,
) -> None:
    store = open_store(f"{redis_cluster_url}?prefix=ym-tag-{uuid.uuid4().hex}:")
    assert isinstance(store, RedisClusterStore)
    subjects = ["a}b", "a%7Db", "{x}", "%", "}", "a", "孩子"]
    try:
        for n, subject in enumerate(subjects):
            store.atomic(subject, lambda tx, n=n: tx.put("n", n))
        for n, subject in enumerate(subjects):
            assert store.read(subject, lambda tx: tx.get("n")) == n
        assert len({hash_tag(s) for s in subjects}) == len(subjects)
        for subject in subjects:
            key, marker = store._key(subject), f"{store.prefix}tx:{{{hash_tag(subject)}}}:0"
            assert store.client.keyslot(key) == store.client.keyslot(marker)  # type: ignore[no-untyped-call]
    finally:
        store.delete_all()
        store.close()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[RedisClusterProcess]:
    started = RedisClusterProcess(tmp_path)
    started.start()
    yield started
    started.stop()


def test_with_wait_a_shard_without_its_replica_answers_outcome_unknown_until_it_is_back(
    engine: youthmode.Engine, cluster: RedisClusterProcess
) -> None:
    store = open_store(f"{cluster.url}?prefix=ym-wait:&wait=1", timeout=0.5)
    assert isinstance(store, RedisClusterStore)
    ledger = Ledger(engine, store, clock=lambda: NOW)
    use = {"id": "e1", "action": "app.use", "start": "2026-11-27T19:00:00+08:00",
           "end": "2026-11-27T19:10:00+08:00"}  # fmt: skip
    assert ledger.record_usage("kid", [use])["results"][0]["status"] == "accepted"
    replica = cluster.replica_of(cluster.primary_for(store._key("kid")))
    cluster.kill(replica)

    second = {**use, "id": "e2", "start": "2026-11-27T19:20:00+08:00",
              "end": "2026-11-27T19:30:00+08:00"}  # fmt: skip
    with pytest.raises(StoreOutcomeUnknown, match="0 of 1 replicas confirmed it"):
        ledger.record_usage("kid", [second])
    # applied on the primary all the same: the retry below finds it there
    assert ledger.totals("kid")["today_seconds"] == 1200
    with pytest.raises(StoreOutcomeUnknown):  # a retry changes nothing, still unconfirmed
        ledger.record_usage("kid", [second])

    cluster.restart(replica)
    cluster.wait_until_ok()
    again = ledger.record_usage("kid", [second])
    assert again["results"][0]["status"] == "duplicate"
    assert again["totals"]["today_seconds"] == 1200
    store.delete_all()
    store.close()


def test_without_wait_the_same_shard_keeps_writing(
    engine: youthmode.Engine, cluster: RedisClusterProcess
) -> None:
    store = open_store(f"{cluster.url}?prefix=ym-nowait:")
    ledger = Ledger(engine, store, clock=lambda: NOW)
    assert isinstance(store, RedisClusterStore)
    cluster.kill(cluster.replica_of(cluster.primary_for(store._key("kid"))))
    store.atomic("kid", lambda tx: tx.put("n", 1))
    use = {"id": "e1", "action": "app.use", "start": "2026-11-27T19:00:00+08:00",
           "end": "2026-11-27T19:10:00+08:00"}  # fmt: skip
    answer = ledger.record_usage("kid", [use])
    assert answer["results"][0]["status"] == "accepted"
    store.close()


def test_decisions_read_the_promoted_replica_after_a_failover(
    cluster: RedisClusterProcess,
) -> None:
    """The decision path's client has no retries: the first read after the failover meets the
    dead node (a degraded decision), and the next reads go to the promoted replica."""
    store = open_store(f"{cluster.url}?prefix=ym-reads:")
    store.atomic("kid", lambda tx: tx.put("n", 7))
    key = store._key("kid")  # type: ignore[attr-defined]
    cluster.kill(cluster.primary_for(key))
    cluster.wait_for_promotion(key)
    answers: list[object] = []
    for _ in range(5):
        try:
            answers.append(store.read("kid", lambda tx: tx.get("n"), decision=True))
        except StoreUnavailable:
            answers.append("unavailable")
    assert answers.count("unavailable") <= 1
    assert answers[1:] == [7, 7, 7, 7]
    store.close()
