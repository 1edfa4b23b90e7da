"""Fault suite, the PostgreSQL store: a connection killed inside a transaction, before or
while it commits, changes nothing and says which of the two it was; a lock or a table held by
another session costs a write its timeout and a decision its read deadline, then the breaker
answers at once; a server that is not there is a clear StoreUnavailable."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg
import pytest
from conftest import CONFIGS
from postgres_support import PostgresProcess, create_database, schema_url
from proxy_support import TcpProxy, close_all, run

import youthmode
from youthmode.ledger import Ledger, open_store
from youthmode.ledger.postgres_store import PostgresStore
from youthmode.ledger.store import StoreOutcomeUnknown, StoreUnavailable

NOW = "2026-11-27T12:30:00Z"  # Friday 20:30 in Shanghai
KID = {"id": "kid", "age": 12, "verified": True}
GAME = {"subject": KID, "action": "game.play"}
FIXED = datetime.fromisoformat(NOW)


@pytest.fixture
def store(postgres_url: str) -> Iterator[PostgresStore]:
    opened = open_store(schema_url(postgres_url), timeout=0.5, read_deadline=0.2)
    assert isinstance(opened, PostgresStore)
    yield opened
    opened.delete_all()


@pytest.fixture
def admin(postgres_url: str) -> Iterator[psycopg.Connection[Any]]:
    """Another session on the same database: the one that kills, locks and looks."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        yield conn


def kill(admin: psycopg.Connection[Any], tx: Any) -> None:
    """pg_terminate_backend on the connection running ``tx``, as a failover or an operator
    would: the server ends the session and rolls back what it had not committed."""
    pid = tx.conn.info.backend_pid
    assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)


def documents(admin: psycopg.Connection[Any], store: PostgresStore) -> list[Any]:
    return admin.execute(f'SELECT subject, key FROM "{store.schema}".docs').fetchall()


def test_a_connection_killed_before_the_commit_changes_nothing(
    store: PostgresStore, admin: psycopg.Connection[Any]
) -> None:
    def write(tx: Any) -> None:
        tx.put("a", 1)
        kill(admin, tx)
        tx.get("b")  # the next statement meets the ended session

    with pytest.raises(StoreUnavailable) as raised:
        store.atomic("kid", write)
    assert not isinstance(raised.value, StoreOutcomeUnknown)  # known: nothing was sent
    assert documents(admin, store) == []
    store.atomic("kid", lambda tx: tx.put("a", 2))  # the pool replaced the connection
    assert store.read("kid", lambda tx: tx.get("a")) == 2


def test_a_connection_killed_as_it_writes_changes_none_of_the_writes(
    store: PostgresStore, admin: psycopg.Connection[Any]
) -> None:
    """Killed after `fn`, as the writes and the COMMIT go out: StoreUnavailable (or
    StoreOutcomeUnknown, by when the client notices), and no document of three written."""

    def write(tx: Any) -> None:
        tx.put("a", 1)
        tx.put("b", 2)
        tx.delete("c")
        kill(admin, tx)

    with pytest.raises(StoreUnavailable):
        store.atomic("kid", write)
    assert documents(admin, store) == []


class CommitReplyLost(TcpProxy):
    """A TCP proxy in front of PostgreSQL that, once armed, passes the next COMMIT on and then
    drops the connection before its reply reaches the client: the write is applied, and the
    client cannot know it (a failover, a proxy timing out)."""

    def __init__(self, upstream_port: int) -> None:
        self.armed = False
        super().__init__(upstream_port)

    def joined(self, client: socket.socket, upstream: socket.socket) -> None:
        lost = threading.Event()
        run(self._up, client, upstream, lost)
        run(self._down, client, upstream, lost)

    def _up(self, client: socket.socket, upstream: socket.socket, lost: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                if self.armed and b"COMMIT\x00" in data:
                    self.armed = False
                    lost.set()
                upstream.sendall(data)
                if lost.is_set():
                    time.sleep(0.3)  # the server commits meanwhile
                    break
        close_all(client, upstream)

    def _down(self, client: socket.socket, upstream: socket.socket, lost: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while (data := upstream.recv(65536)) and not lost.is_set():
                client.sendall(data)


def test_a_purchase_whose_commit_reply_is_lost_is_counted_once_when_retried(
    engine: youthmode.Engine, postgres_url: str, admin: Any, freezer: Any
) -> None:
    freezer.move_to(NOW)
    proxy = CommitReplyLost(int(postgres_url.split(":")[2].split("/")[0]))
    database = postgres_url.rsplit("/", 1)[1]
    # No TLS or GSS encryption to the proxy: it reads the protocol to find the COMMIT.
    url = f"postgresql://postgres@127.0.0.1:{proxy.port}/{database}"
    store = open_store(f"{schema_url(url)}&sslmode=disable&gssencmode=disable")
    try:
        ledger = Ledger(engine, store)
        paid = {"subject_id": "kid", "id": "p1", "action": "game.purchase", "amount": "30.00"}
        proxy.armed = True
        with pytest.raises(StoreOutcomeUnknown):
            ledger.record_purchase(paid)
        assert len(documents(admin, store)) > 0  # it was applied, though nobody was told
        again = ledger.record_purchase(paid)  # the caller retries with the same id
        assert again["status"] == "duplicate"
        assert ledger.totals("kid")["spend"]["game_topup"]["month"] == "30.00"
    finally:
        store.delete_all()  # type: ignore[attr-defined]
        proxy.close()


def test_a_subject_locked_by_another_session_costs_a_write_its_timeout(
    store: PostgresStore, postgres_url: str
) -> None:
    store.atomic("kid", lambda tx: tx.put("a", 1))
    with psycopg.connect(postgres_url) as holder:  # a transaction holding the subject's row
        holder.execute(
            f"SELECT 1 FROM \"{store.schema}\".subjects WHERE subject = 'kid' FOR UPDATE"
        )
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="timeout"):
            store.atomic("kid", lambda tx: tx.put("a", 2))
        assert 0.4 < time.monotonic() - started < 1.5
        store.atomic("other", lambda tx: tx.put("a", 3))  # other subjects do not wait
        assert store.read("kid", lambda tx: tx.get("a")) == 1  # readers do not wait either
    store.atomic("kid", lambda tx: tx.put("a", 2))
    assert store.read("kid", lambda tx: tx.get("a")) == 2


def test_a_stalled_table_costs_a_decision_its_deadline_then_nothing(
    engine: youthmode.Engine, store: PostgresStore, postgres_url: str
) -> None:
    """A table locked whole (a migration, a VACUUM FULL): a decision waits at most the read
    deadline and fails closed; after three such, the breaker answers without waiting."""
    ledger = Ledger(engine, store, clock=lambda: FIXED)  # not frozen: the test times waits
    ledger.record_usage(
        "kid",
        [
            {
                "id": "1",
                "action": "app.use",
                "start": "2026-11-27T20:00:00+08:00",
                "end": "2026-11-27T20:10:00+08:00",
            }
        ],
    )
    with psycopg.connect(postgres_url) as holder:
        holder.execute(f'LOCK TABLE "{store.schema}".docs IN ACCESS EXCLUSIVE MODE')
        for _ in range(3):
            started = time.monotonic()
            decision = ledger.decide(GAME)
            assert 0.15 < time.monotonic() - started < 1.0
            assert not decision.allowed
            assert decision.reason_codes == ["store_unavailable"]
        started = time.monotonic()
        assert ledger.decide(GAME).reason_codes == ["store_unavailable"]
        assert time.monotonic() - started < 0.05  # the breaker is open: no waiting
    assert store.breaker.is_open


@pytest.fixture
def own_server() -> Iterator[PostgresProcess]:
    """A PostgreSQL of this test's own, to freeze (the shared one serves other tests)."""
    server = PostgresProcess()
    server.start()
    yield server
    server.resume()
    server.stop()


def test_a_frozen_server_costs_a_decision_its_deadline_then_nothing(
    own_server: PostgresProcess,
) -> None:
    """The server stopped whole (SIGSTOP: its sockets stay open, nothing answers, and its
    statement_timeout cannot fire): the client's own deadline ends each call."""
    url = create_database(own_server.port)
    store = open_store(url, timeout=0.5, read_deadline=0.2)
    engine = youthmode.Engine.from_path(CONFIGS, clock=lambda: FIXED)
    ledger = Ledger(engine, store, clock=lambda: FIXED)
    assert ledger.decide(GAME).allowed  # the pools are open and warm
    own_server.freeze()
    for _ in range(3):
        started = time.monotonic()
        assert ledger.decide(GAME).reason_codes == ["store_unavailable"]
        assert time.monotonic() - started < 0.6
    started = time.monotonic()
    assert ledger.decide(GAME).reason_codes == ["store_unavailable"]
    assert time.monotonic() - started < 0.05  # the breaker is open
    with pytest.raises(StoreUnavailable):
        store.atomic("kid", lambda tx: tx.put("a", 1))
    own_server.resume()
    store.breaker.succeeded()  # as the probe after the cooldown would
    assert ledger.decide(GAME).allowed  # a new connection, nothing to restart
    store.close()


def test_a_server_that_is_not_there_is_store_unavailable() -> None:
    from redis_support import free_port

    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="cannot prepare PostgreSQL store"):
        open_store(f"postgresql://postgres@127.0.0.1:{free_port()}/nothing", timeout=0.5)
    assert time.monotonic() - started < 5


def test_a_schema_name_that_is_not_plain_is_refused(postgres_url: str) -> None:
    with pytest.raises(ValueError, match="not a plain lowercase SQL name"):
        open_store(f"{postgres_url}?schema=x%22;drop")
    with pytest.raises(ValueError, match="`atomic` is `lock`"):
        open_store(f"{postgres_url}?atomic=optimistic")
