"""Workers of `youthmode serve` open the same fresh SQLite ledger at the same moment. Switching a
new database to WAL can answer `database is locked` at once, without waiting for the busy
timeout, when another connection is switching it too; a worker that gave up there failed to
boot and took the server down (seen in CI). Every opener must succeed."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from youthmode.ledger.sqlite_store import SqliteStore

OPENERS = 8


def open_at_once(path: str, barrier: object, results: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    try:
        store = SqliteStore(f"sqlite:///{path}")
        store.ping()
        store.close()
        results.put("ok")  # type: ignore[attr-defined]
    except Exception as err:  # the failure is the finding: report it, don't crash the child
        results.put(f"{type(err).__name__}: {err}")  # type: ignore[attr-defined]


def test_workers_opening_a_fresh_ledger_at_once_all_succeed(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    for attempt in range(6):
        path = str(tmp_path / f"ledger-{attempt}.db")
        barrier, results = context.Barrier(OPENERS), context.Queue()
        procs = [
            context.Process(target=open_at_once, args=(path, barrier, results))
            for _ in range(OPENERS)
        ]
        for proc in procs:
            proc.start()
        outcomes = [results.get(timeout=30) for _ in procs]
        for proc in procs:
            proc.join(timeout=30)
        assert outcomes == ["ok"] * OPENERS, outcomes
