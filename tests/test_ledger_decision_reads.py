"""A decision's read of the ledger is one snapshot, on every backend, at its lowest cost.

A decision prefetches every document it reads in one query (one SELECT, one HMGET); SQLite runs
that read without BEGIN/COMMIT, since one statement is a snapshot of its own in WAL mode. These
tests write between a decision's reads, from another connection, at chosen points: the
decision must see all of a write or nothing of it (a cap is checked against usage and spend
read together), and a SQLite read that needs a second statement must be run again inside a
transaction rather than mix two versions of the file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from store_backends import BACKENDS, open_backend

import youthmode
from youthmode.ledger import Ledger, deciding, open_store, resp
from youthmode.ledger.sqlite_store import SqliteStore
from youthmode.ledger.store import Store, StoreUnavailable, Transaction

NOW = datetime(2026, 11, 27, 12, 30, tzinfo=UTC)
SUBJECT = "kid-1"


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from open_backend(request, tmp_path, prefix="ym-reads")


@pytest.fixture
def sqlite_pair(tmp_path: Path) -> Iterator[tuple[SqliteStore, SqliteStore]]:
    """Two stores on one file: two connections, as two processes would have."""
    url = f"sqlite:///{tmp_path}/ledger.db"
    first, second = open_store(url), open_store(url)
    assert isinstance(first, SqliteStore) and isinstance(second, SqliteStore)
    yield first, second
    first.close()
    second.close()


def _write_pair(store: Store, version: int) -> None:
    """One write changing two documents together (as a purchase changes spend and orders)."""

    def change(tx: Transaction) -> None:
        tx.put("a", {"v": version})
        tx.put("b", {"v": version})

    store.atomic(SUBJECT, change)


def test_prefetched_documents_are_one_snapshot(store: Store) -> None:
    """Every backend: a write landing after the decision's prefetch is not half seen."""
    _write_pair(store, 1)

    def decision(tx: Transaction) -> tuple[int, int]:
        tx.prefetch(["a", "b"])
        first = tx.get("a")["v"]
        _write_pair(store, 2)  # another writer, between the decision's reads
        return first, tx.get("b")["v"]

    assert store.read(SUBJECT, decision, decision=True) == (1, 1)
    assert store.read(SUBJECT, lambda tx: (tx.get("a")["v"], tx.get("b")["v"])) == (2, 2)


def test_a_sqlite_decision_read_runs_one_statement(tmp_path: Path) -> None:
    """The whole store conversation of a ledger-backed decision is one SELECT."""
    store = open_store(f"sqlite:///{tmp_path}/ledger.db")
    assert isinstance(store, SqliteStore)
    engine = youthmode.Engine.from_path(
        Path(__file__).resolve().parent.parent / "configs", clock=lambda: NOW
    )
    ledger = Ledger(engine, store, clock=lambda: NOW)
    use = {"id": "u1", "action": "app.use", "start": "2026-11-27T19:00:00+08:00",
           "end": "2026-11-27T19:25:00+08:00"}  # fmt: skip
    ledger.record_usage(SUBJECT, [use])
    ledger.update_guardian(SUBJECT, {"daily_limit": "30m"}, actor="parent")
    statements: list[str] = []
    store._conn().set_trace_callback(statements.append)
    request = {"action": "app.use", "subject": {"id": SUBJECT, "age": 12, "verified": True}}
    decision = ledger.decide(request)
    store._conn().set_trace_callback(None)
    assert len(statements) == 1 and statements[0].startswith("SELECT key, value FROM docs")
    # ...and it still read the ledger: 25 of the guardian's 30 minutes are used.
    assert decision.facts.today_seconds == 25 * 60
    assert decision.allowed and decision.remaining_seconds == 5 * 60
    store.close()


def test_every_action_s_decision_reads_in_one_statement(tmp_path: Path) -> None:
    """Spend and holds are fetched only for an action that spends (documents.decision_keys);
    for every action of every shipped policy, on the plain route and the model route, the
    read is still one SELECT: a document read and not fetched would take a second statement
    (and the read run again in a transaction)."""
    store = open_store(f"sqlite:///{tmp_path}/ledger.db")
    assert isinstance(store, SqliteStore)
    engine = youthmode.Engine.from_path(
        Path(__file__).resolve().parent.parent / "configs", clock=lambda: NOW
    )
    ledger = Ledger(engine, store, clock=lambda: NOW)

    def money(tx: Transaction) -> None:
        tx.put("spend", {"game_topup": {"d:2026-11-27": "12", "m:2026-11": "30"}})
        tx.put("orders", {"o": {"state": "held", "kind": "purchase", "amount": "5",
                                "day": "2026-11-27", "month": "2026-11",
                                "expires_at": NOW.timestamp() + 600}})  # fmt: skip

    store.atomic(SUBJECT, money)
    ledger.update_guardian(SUBJECT, {"daily_limit": "30m"}, actor="parent")
    routes = {
        "plain": ledger.decide,
        "model": lambda asked: deciding.decide(engine, ledger, engine.parse(asked)).decision,
    }
    spending = 0
    for policy in engine.policies.values():
        amount = "10" if policy.currency_places == 0 else "10." + "0" * policy.currency_places
        for name, action in sorted(policy.actions.items()):
            spending += action.spend is not None
            asked = {"policy": policy.id, "action": name, "subject": {"id": SUBJECT, "age": 12},
                     "resource": {"app": "a", "amount": amount}}  # fmt: skip
            for route, decide in routes.items():
                statements: list[str] = []
                store._conn().set_trace_callback(statements.append)
                decide(asked)
                store._conn().set_trace_callback(None)
                assert len(statements) == 1, (policy.id, name, route, statements)
    store.close()
    assert spending  # some actions spend, and read spend and holds


def test_a_second_statement_reruns_the_read_in_one_transaction(
    sqlite_pair: tuple[SqliteStore, SqliteStore],
) -> None:
    """Documents read one query each (no prefetch), a write landing between them: without
    BEGIN the second query would see the new version and the first the old one."""
    reader, writer = sqlite_pair
    _write_pair(writer, 1)
    runs: list[tuple[int, int]] = []

    def decision(tx: Transaction) -> tuple[int, int]:
        first = tx.get("a")["v"]
        _write_pair(writer, len(runs) + 2)
        seen = (first, tx.get("b")["v"])
        runs.append(seen)
        return seen

    statements: list[str] = []
    reader._conn().set_trace_callback(statements.append)
    answer = reader.read(SUBJECT, decision, decision=True)
    reader._conn().set_trace_callback(None)
    # The first run stopped at its second query; the second ran between BEGIN and COMMIT and
    # saw the version written during the first run, whole.
    assert runs == [(2, 2)] and answer == (2, 2)
    verbs = [s.split(" ")[0] for s in statements]
    assert verbs == ["SELECT", "BEGIN", "SELECT", "SELECT", "COMMIT"]
    assert not reader._conn().in_transaction


def test_an_answer_given_after_a_second_statement_is_not_trusted(
    sqlite_pair: tuple[SqliteStore, SqliteStore],
) -> None:
    """A read that catches the second statement's refusal itself still runs again."""
    reader, writer = sqlite_pair
    _write_pair(writer, 1)
    runs = 0

    def swallowing(tx: Transaction) -> Any:
        nonlocal runs
        runs += 1
        first = tx.get("a")["v"]
        _write_pair(writer, 5)
        try:
            return first, tx.get("b")["v"]
        except Exception:
            return "torn"

    assert reader.read(SUBJECT, swallowing, decision=True) == (5, 5)
    assert runs == 2

    def raising(tx: Transaction) -> Any:
        tx.get("a")
        try:
            tx.get("b")
        except Exception as err:
            raise KeyError("not the store's") from err
        return "whole"

    assert reader.read(SUBJECT, raising, decision=True) == "whole"


def test_errors_of_a_one_statement_read(sqlite_pair: tuple[SqliteStore, SqliteStore]) -> None:
    """The read's own errors pass unchanged (run once); the store's become StoreUnavailable."""
    reader, writer = sqlite_pair
    runs = 0

    def failing(tx: Transaction) -> None:
        nonlocal runs
        runs += 1
        tx.prefetch(["a", "b"])
        raise ValueError("the caller's")

    with pytest.raises(ValueError, match="the caller's"):
        reader.read(SUBJECT, failing, decision=True)
    assert runs == 1
    conn = sqlite3.connect(writer.path)
    conn.execute("DROP TABLE docs")
    conn.commit()
    conn.close()
    with pytest.raises(StoreUnavailable):
        reader.read(SUBJECT, lambda tx: tx.prefetch(["a"]), decision=True)


def test_redis_decisions_in_threads_each_read_their_own_answer(
    engine: youthmode.Engine, redis_store_url: str
) -> None:
    """Redis decisions read on a connection per thread: eight threads deciding at once for
    eight subjects each get their own subject's usage, never another's reply."""
    store = open_store(redis_store_url)
    ledger = Ledger(engine, store, clock=lambda: NOW)
    try:
        for i in range(8):
            use = {"id": "u", "action": "app.use", "start": "2026-11-27T19:00:00+08:00",
                   "end": f"2026-11-27T19:{i + 1:02d}:00+08:00"}  # fmt: skip
            ledger.record_usage(f"kid-{i}", [use])

        def decide(i: int) -> list[int | None]:
            request = {"subject": {"id": f"kid-{i}", "age": 12, "verified": True},
                       "action": "app.use"}  # fmt: skip
            return [ledger.decide(request).facts.today_seconds for _ in range(100)]

        with ThreadPoolExecutor(max_workers=8) as pool:
            seen = list(pool.map(decide, range(8)))
        assert seen == [[(i + 1) * 60] * 100 for i in range(8)]
        for i in range(20):  # threads made per request (a threaded dev server) come and go
            thread = threading.Thread(target=decide, args=(i % 8,))
            thread.start()
            thread.join()
        # each ended thread's connection was closed when the next was made: only the last
        # one's is left (the pool's 8 threads ended too)
        opened = store.reads.opened  # type: ignore[attr-defined]
        assert len(opened) == 1 and opened[0][1]._sock is not None
    finally:
        store.delete_all()  # type: ignore[attr-defined]
        store.close()


def test_a_forked_process_reads_on_its_own_redis_connection(
    engine: youthmode.Engine, redis_store_url: str
) -> None:
    """A worker forked after the store was used (gunicorn's workers are) opens its own
    connection: parent and child deciding at once each read their own subject's usage."""
    store = open_store(redis_store_url)
    ledger = Ledger(engine, store, clock=lambda: NOW)
    try:
        for i, minutes in ((0, 10), (1, 20)):
            use = {"id": "u", "action": "app.use", "start": "2026-11-27T19:00:00+08:00",
                   "end": f"2026-11-27T19:{minutes:02d}:00+08:00"}  # fmt: skip
            ledger.record_usage(f"kid-{i}", [use])

        def seconds(i: int) -> list[int | None]:
            request = {"subject": {"id": f"kid-{i}", "age": 12, "verified": True},
                       "action": "app.use"}  # fmt: skip
            return [ledger.decide(request).facts.today_seconds for _ in range(300)]

        assert seconds(0)[0] == 600  # the parent's connection is open before the fork
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: its answers go to the parent through the pipe
            code = 1
            try:
                os.write(write_end, json.dumps(seconds(1)).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        assert seconds(0) == [600] * 300
        with os.fdopen(read_end, "rb") as child_answers:
            answers = json.loads(child_answers.read() or b"null")
        assert os.waitpid(pid, 0)[1] == 0
        assert answers == [1200] * 300
    finally:
        store.delete_all()  # type: ignore[attr-defined]
        store.close()


@pytest.mark.parametrize("count", [1, 10, 32, 33, 200, 250])
def test_prefetch_reads_every_document_asked_for(tmp_path: Path, count: int) -> None:
    """A prefetch of ``count`` keys, half of them stored, gives each its document or None,
    whichever form its query takes (a UNION ALL of lookups up to 32 keys, `IN` above, in
    chunks of 200), and a decision's prefetch of up to 200 keys stays one statement."""
    store = open_store(f"sqlite:///{tmp_path}/ledger.db")
    assert isinstance(store, SqliteStore)
    keys = [f"k:{n:03d}" for n in range(count)]

    def write(tx: Transaction) -> None:
        for n, key in enumerate(keys):
            if n % 2 == 0:
                tx.put(key, {"n": n})
        tx.put("other", {"n": -1})  # not asked for: must not appear

    store.atomic(SUBJECT, write)
    store.atomic("someone-else", write)
    statements: list[str] = []
    store._conn().set_trace_callback(statements.append)

    def read(tx: Transaction) -> dict[str, Any]:
        tx.prefetch(keys)
        assert set(tx.fetched) == set(keys)  # type: ignore[attr-defined]
        return {key: tx.get(key) for key in keys}

    found = store.read(SUBJECT, read, decision=True)
    store._conn().set_trace_callback(None)
    assert found == {key: ({"n": n} if n % 2 == 0 else None) for n, key in enumerate(keys)}
    assert len(statements) == (1 if count <= 200 else 5)  # over 200: BEGIN, 2 chunks, COMMIT
    store.close()


@pytest.mark.parametrize("subject", ["kid-1", "kid é 1", "孩子"])
@pytest.mark.parametrize(
    "fields", [("guardian",), ("guardian", "g:2026-11-27", "a:2026-11-27:游戏")]
)
def test_the_decision_path_packs_a_command_as_redis_py_does(
    subject: str, fields: tuple[str, ...]
) -> None:
    """The decision path packs its commands itself (resp.py): the bytes redis-py sends for the
    same command, whatever text the subject id and an app's name hold, the fields as a tuple
    (packed once) or a list; text that is not valid Unicode raises as redis-py's packing does."""
    key = f"youthmode:s:{subject}"
    expected = b"".join(redis.Connection().pack_command("HMGET", key, *fields))
    assert resp.hmget(key, fields) == resp.hmget(key, list(fields)) == expected
    assert resp.hmget(key, fields) == expected  # packed once, the same again
    assert resp.command("HMGET", key, *fields) == expected
    assert resp.command("HKEYS", key) == b"".join(redis.Connection().pack_command("HKEYS", key))
    with pytest.raises(UnicodeEncodeError):
        resp.hmget("youthmode:s:\ud800", fields)


def test_a_subject_id_no_store_can_key_by_is_a_request_error(store: Store) -> None:
    """A lone surrogate in the subject id (UTF-8 cannot hold it): the request model's
    RequestError naming the field, on every backend, never the store driver's
    UnicodeEncodeError from the plain route; a valid id's decision after it as before."""
    engine = youthmode.Engine.from_path(Path(__file__).parent.parent / "configs")
    ledger = Ledger(engine, store, clock=lambda: NOW)
    request: dict[str, Any] = {
        "policy": "cn-baseline",
        "subject": {"id": "kid\ud800", "age": 12, "verified": True},
        "action": "app.use",
        "at": "2026-11-27T18:00:00+08:00",
    }
    with pytest.raises(youthmode.RequestError) as refused:
        ledger.decide(request)
    (problem,) = refused.value.problems
    assert (problem.loc, problem.code) == (("subject", "id"), "invalid_value")
    request["subject"]["id"] = SUBJECT
    assert ledger.decide(request).effect == "allow"
