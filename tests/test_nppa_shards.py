"""The NPPA reporting state split into shards by subject (youthmode/nppa/shards.py): records of
subjects in different shards all reach the mock exactly once; a subject's log-ins and
log-outs keep their order; a changed shard count is refused while the old layout holds live
state and taken once it was drained; and on Redis, writers of many subjects no longer retry
their transactions against each other on one hash."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from nppa_support import APP_ID, BIZ_ID, SECRET, VirtualClock, mock_server
from store_backends import BACKENDS, open_backend
from test_nppa_reporting import GAP, Plan, check_exactly_once, run

from youthmode.ledger import open_store
from youthmode.ledger.store import Store, StoreUnavailable
from youthmode.nppa.config import Endpoints, NppaSettings, NppaSettingsError
from youthmode.nppa.mock_http import MockServer
from youthmode.nppa.outbox import Outbox
from youthmode.nppa.service import NppaService
from youthmode.nppa.shards import LEGACY_SPACE, NPPA_SPACE, NppaLayoutError, ShardLayout


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def mock(clock: VirtualClock) -> Iterator[MockServer]:
    yield from mock_server(clock)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from open_backend(request, tmp_path, prefix="ym-nppa")


def settings_for(url: str, shards: int) -> NppaSettings:
    return NppaSettings(APP_ID, BIZ_ID, SECRET, endpoints=Endpoints.for_base(url),
                        session_gap=GAP, batch_delay=5.0, shards=shards)  # fmt: skip


def service_for(store: Store, mock: MockServer, clock: VirtualClock, shards: int) -> NppaService:
    return NppaService(settings_for(mock.url, shards), store, clock=clock, sleep=clock.sleep)


def test_records_of_subjects_in_different_shards_all_reach_the_mock_once(
    store: Store, mock: MockServer, clock: VirtualClock
) -> None:
    service = service_for(store, mock, clock, shards=8)
    layout = service.outbox.layout
    assert len({layout.of(f"s{n}") for n in range(60)}) == 8  # the subjects span every shard
    sessions = run(service, clock, Plan(subjects=60, length=300, pause=400), seconds=1800)
    check_exactly_once(mock, sessions)
    assert service.outbox.backlog() == 0 and service.outbox.dead_letters() == []
    # Each shard numbered its own records: every shard gave out sequence numbers.
    seqs = layout.each(store, lambda _n, tx: int(tx.get("seq") or 0))
    assert all(seq > 0 for seq in seqs) and sum(seqs) == len(mock.mock.accepted)


def test_a_subjects_state_and_records_live_in_its_own_shard(
    store: Store, mock: MockServer, clock: VirtualClock
) -> None:
    service = service_for(store, mock, clock, shards=16)
    layout = service.outbox.layout
    a, b = (
        "kid-a",
        next(f"kid-{n}" for n in range(100) if layout.of(f"kid-{n}") != layout.of("kid-a")),
    )
    now = int(clock().timestamp())
    service.on_usage(a, [(now - 30, now)])
    service.on_usage(b, [(now - 30, now)])
    for subject in (a, b):
        held = store.read(layout.space_of(subject), lambda tx: (tx.keys(""), tx.get("seq")))
        keys, seq = held
        assert f"open/{subject}" in keys and "out/000000000001" in keys and seq == 1
    assert store.read(NPPA_SPACE, lambda tx: tx.keys("out/")) == []  # the base space holds none


def test_a_subjects_log_ins_and_log_outs_keep_their_order(
    store: Store, mock: MockServer, clock: VirtualClock
) -> None:
    """Three sessions of one subject, interleaved with others' records queued in other shards
    with earlier and later `ot`s: the mock gets the subject's records in the order it played."""
    service = service_for(store, mock, clock, shards=8)
    start = int(clock().timestamp())
    for session in range(3):
        for beat in range(4):
            clock.advance(30)
            now = int(clock().timestamp())
            service.on_usage("kid-1", [(now - 30, now)])
            service.on_usage(f"other-{session}-{beat}", [(now - 45, now - 15)])
            service.reporter.run_once()
        clock.advance(GAP + 1)
        service.reporter.run_once()
    clock.advance(GAP + 1)
    service.reporter.run_once()
    mine = [(r["ot"], r["bt"]) for r in mock.mock.accepted if r.get("di") == _di("kid-1")]
    assert [bt for _, bt in mine] == [1, 0, 1, 0, 1, 0]
    assert [ot for ot, _ in mine] == sorted(ot for ot, _ in mine) and mine[0][0] == start
    assert len({r["si"] for r in mock.mock.accepted if r.get("di") == _di("kid-1")}) == 3
    assert service.outbox.backlog() == 0


def _di(subject_id: str) -> str:
    from youthmode.nppa.sessions import guest_device

    return guest_device(subject_id)


def test_changing_the_shard_count_is_refused_while_the_old_layout_holds_records(
    store: Store, mock: MockServer, clock: VirtualClock
) -> None:
    old = service_for(store, mock, clock, shards=8)
    now = int(clock().timestamp())
    for n in range(5):
        old.on_usage(f"kid-{n}", [(now - 30, now)])
    with pytest.raises(NppaLayoutError) as refused:
        service_for(store, mock, clock, shards=16)
    message = str(refused.value)
    assert "5 queued records" in message and "5 open sessions" in message
    assert "YOUTHMODE_NPPA_SHARDS=8" in message  # the way back, named
    # Nothing changed: the old layout still serves, and still holds every record.
    assert old.outbox.backlog() == 5
    service_for(store, mock, clock, shards=8)  # the same count starts as before
    # Drained (no new usage, the session gap passed, the reporter sent everything): accepted.
    clock.advance(GAP + 1)
    old.reporter.run_once()
    assert old.outbox.backlog() == 0
    new = service_for(store, mock, clock, shards=16)
    clock.advance(600)
    later = int(clock().timestamp())
    for n in range(5):
        new.on_usage(f"kid-{n}", [(later - 30, later)])
    clock.advance(GAP + 1)
    new.reporter.run_once()
    pairs = Counter((r["si"], r["bt"]) for r in mock.mock.accepted)
    assert len(pairs) == 20 and set(pairs.values()) == {1}  # 10 sessions, each once in, once out
    new.on_usage("kid-9", [(later, later + 30)])  # live state in the new layout now
    with pytest.raises(NppaLayoutError, match="laid out in 16 shard"):
        service_for(store, mock, clock, shards=8)


@pytest.fixture(params=[b for b in BACKENDS if b != "postgresql"])
def older_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A backend an earlier release could report from (PostgreSQL cannot hold its NUL)."""
    yield from open_backend(request, tmp_path, prefix="ym-nppa-old")


def test_an_earlier_releases_single_space_is_refused_until_drained(
    older_store: Store, mock: MockServer, clock: VirtualClock
) -> None:
    store = older_store
    now = int(clock().timestamp())
    record = {"si": "a" * 32, "bt": 1, "ot": now - 5, "ct": 2, "di": "b" * 32, "subject": "k"}

    def earlier_release(tx: Any) -> None:
        Outbox.add(tx, [record])
        tx.put("open/k", {"si": "a" * 32, "start": now - 5, "end": now, "ct": 2, "di": "b" * 32})
        tx.put("dead/000000000009", {**record, "reason": "stale"})

    store.atomic(LEGACY_SPACE, earlier_release)
    with pytest.raises(NppaLayoutError, match="earlier release's single space holds 1 queued"):
        service_for(store, mock, clock, shards=64)
    # The earlier release's reporter drained it (sent the record, closed the session).
    store.atomic(LEGACY_SPACE, lambda tx: [tx.delete(k) for k in ("out/000000000001", "open/k")])
    service = service_for(store, mock, clock, shards=64)
    assert [d["reason"] for d in service.outbox.dead_letters()] == ["stale"]  # still listed


def test_postgresql_holds_the_reporting_state(
    postgres_url: str, mock: MockServer, clock: VirtualClock
) -> None:
    """Before sharding the one space's name had a NUL PostgreSQL cannot store: reporting
    failed there at its first write. The shards' names have none."""
    from postgres_support import schema_url

    store = open_store(schema_url(postgres_url))
    try:
        service = service_for(store, mock, clock, shards=4)
        now = int(clock().timestamp())
        service.on_usage("kid-1", [(now - 30, now)])
        clock.advance(GAP + 1)
        service.reporter.run_once()
        assert [r["bt"] for r in mock.mock.accepted] == [1, 0]
    finally:
        store.delete_all()  # type: ignore[attr-defined]
        store.close()


def test_dead_letters_of_an_earlier_layout_stay_listed(
    store: Store, mock: MockServer, clock: VirtualClock
) -> None:
    old = service_for(store, mock, clock, shards=4)
    stale = {"si": "c" * 32, "bt": 1, "ot": int(clock().timestamp()) - 600, "ct": 2,
             "di": "d" * 32, "subject": "k"}  # fmt: skip
    old.outbox.atomic(lambda tx: Outbox.add(tx, [stale]), "k")
    old.reporter.run_once()  # too old to send: dead-lettered
    new = service_for(store, mock, clock, shards=8)
    assert [d["reason"] for d in new.outbox.dead_letters()] == ["stale"]


@pytest.mark.parametrize("shards", [0, 1001])
def test_a_shard_count_out_of_range_is_refused(shards: int) -> None:
    with pytest.raises(NppaSettingsError, match="YOUTHMODE_NPPA_SHARDS must be 1 to 1000"):
        settings_for("http://127.0.0.1:1", shards)


def test_the_shard_count_comes_from_the_environment() -> None:
    env = {"YOUTHMODE_NPPA_APP_ID": APP_ID, "YOUTHMODE_NPPA_BIZ_ID": BIZ_ID,
           "YOUTHMODE_NPPA_SECRET_KEY": SECRET}  # fmt: skip
    assert NppaSettings.from_env(env).shards == 64  # type: ignore[union-attr]
    assert NppaSettings.from_env({**env, "YOUTHMODE_NPPA_SHARDS": "16"}).shards == 16  # type: ignore[union-attr]
    with pytest.raises(NppaSettingsError, match="whole number"):
        NppaSettings.from_env({**env, "YOUTHMODE_NPPA_SHARDS": "many"})


def test_the_shard_of_a_subject_is_stable_and_spread() -> None:
    layout = ShardLayout(64)
    assert layout.of("kid-1") == ShardLayout(64).of("kid-1") == 52  # pinned: every release
    counts = Counter(layout.of(f"subject-{n}") for n in range(64_000))
    assert len(counts) == 64 and max(counts.values()) < 1.15 * 1000


class CountingStore:
    """The store, counting each NPPA transaction and each run of its function (a Redis write
    runs it again after every lost WATCH race)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lock = threading.Lock()
        self.writes = self.runs = self.failed = 0

    def atomic(self, subject: str, fn: Callable[[Any], Any]) -> Any:
        if not subject.startswith(NPPA_SPACE):
            return self.store.atomic(subject, fn)

        def counted(tx: Any) -> Any:
            with self.lock:
                self.runs += 1
            return fn(tx)

        with self.lock:
            self.writes += 1
        try:
            return self.store.atomic(subject, counted)
        except StoreUnavailable:
            with self.lock:
                self.failed += 1
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def contention(
    url: str, shards: int, threads: int = 8, subjects: int = 40, beats: int = 6
) -> CountingStore:
    """``threads`` writers, each heartbeating its own ``subjects`` (as API instances serve
    different players), all tracking sessions at once."""
    counting = CountingStore(open_store(url))
    service = NppaService(settings_for("http://127.0.0.1:1", shards), counting)  # type: ignore[arg-type]
    counting.writes = counting.runs = 0  # the layout check at start-up is not a heartbeat
    gate = threading.Barrier(threads)

    def writer(w: int) -> None:
        gate.wait()
        for beat in range(beats):
            for n in range(subjects):
                t = 1_800_000_000 + beat * 30
                try:
                    service.on_usage(f"w{w}-s{n}", [(t - 30, t)])
                except StoreUnavailable:
                    pass  # counted: a write that could not commit (the caller would get a 503)

    pool = [threading.Thread(target=writer, args=(w,)) for w in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    counting.store.close()
    return counting


def test_writers_of_many_subjects_no_longer_retry_against_one_hash(redis_url: str) -> None:
    import uuid

    before = contention(f"{redis_url}?prefix=ym-test-{uuid.uuid4().hex}:", shards=1)
    after = contention(f"{redis_url}?prefix=ym-test-{uuid.uuid4().hex}:", shards=64)
    retries_before, retries_after = before.runs - before.writes, after.runs - after.writes
    print(
        f"\nNPPA tracking on Redis, 8 threads x 40 subjects x 6 heartbeats: "
        f"1 space: {before.writes} writes, {retries_before} WATCH retries, "
        f"{before.failed} failed; 64 shards: {after.writes} writes, {retries_after} retries, "
        f"{after.failed} failed"
    )
    # a heartbeat is one transaction; a session's first one stops to read the identity and
    # runs again with it (sessions.py): 40 sessions a writer
    assert before.writes == after.writes == 8 * 40 * (6 + 1)
    assert retries_before >= 100  # one hash: the writers collide all the time
    # measured 3x to 8x fewer (thread scheduling decides how often writers meet; a loaded
    # machine gives the fewest): half is the bound that holds on every run seen
    assert retries_after * 2 <= retries_before and after.failed == 0


def test_on_a_redis_cluster_the_shards_spread_over_every_primary(
    redis_cluster_url: str, mock: MockServer, clock: VirtualClock
) -> None:
    """64 shards are 64 hash tags: their slots fall on every primary."""
    import uuid

    from youthmode.ledger.redis_cluster_store import RedisClusterStore

    store = open_store(f"{redis_cluster_url}?prefix=ym-nppa-{uuid.uuid4().hex}:")
    assert isinstance(store, RedisClusterStore)
    try:
        service = service_for(store, mock, clock, shards=64)
        spaces = service.outbox.layout.spaces()
        nodes = {store.client.get_node_from_key(store._key(s)).name for s in spaces}  # type: ignore[no-untyped-call]
        assert len(nodes) == 3  # every primary of the 3 takes some shards' writes
    finally:
        store.delete_all()
        store.close()


def test_the_reporter_refuses_to_start_with_a_changed_shard_count(tmp_path: Path) -> None:
    from test_nppa_cli import ENV, youthmode

    from youthmode.nppa.shards import adopt_layout

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    store = open_store(url)
    adopt_layout(store, ShardLayout(8))
    record = {"si": "a" * 32, "bt": 1, "ot": 1_800_000_000, "ct": 2, "di": "d" * 32, "subject": "x"}
    Outbox(store, ShardLayout(8)).atomic(lambda tx: Outbox.add(tx, [record]), "x")
    env = {**ENV, "YOUTHMODE_NPPA_BASE_URL": "http://127.0.0.1:9", "YOUTHMODE_NPPA_SHARDS": "16"}
    refused = youthmode("report", "--once", "--store", url, env=env)
    assert refused.returncode == 2
    assert "1 queued records" in refused.stderr and "YOUTHMODE_NPPA_SHARDS=8" in refused.stderr
    assert Outbox(store, ShardLayout(8)).backlog() == 1  # nothing moved, nothing sent
    store.close()


def test_a_store_down_at_start_up_is_checked_once_it_answers(
    redis_process: Any, mock: MockServer, clock: VirtualClock
) -> None:
    """The API starts with its store down (503s, as without NPPA); the first usage write once
    the store answers checks and records the layout before it queues anything."""
    redis_process.stop()
    store = open_store(redis_process.url)
    service = service_for(store, mock, clock, shards=8)  # no error: checked later
    now = int(clock().timestamp())
    with pytest.raises(StoreUnavailable):
        service.on_usage("kid-1", [(now - 30, now)])
    redis_process.start()
    service.on_usage("kid-1", [(now - 30, now)])
    assert store.read(NPPA_SPACE, lambda tx: tx.get("layout"))["shards"] == 8
    assert service.outbox.backlog() == 1
    store.close()
