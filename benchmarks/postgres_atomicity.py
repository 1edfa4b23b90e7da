"""The PostgreSQL store's two ways to make a write atomic, side by side: a row lock per subject
(`?atomic=lock`, the default) and SERIALIZABLE transactions retried on conflict
(`?atomic=serializable`). 8 threads, 40 read-modify-writes each (read three documents, write
two), first all on one subject, then spread over 100; each mode twice, in turns. Prints
writes/s, how many times `fn` ran again (retries), how many writes failed, and, for one
subject, the final counter (it must equal the writes: nothing lost, nothing applied twice).
A database of its own on 127.0.0.1:5432, dropped afterwards (docs/ledger.md#postgresql).

    .venv/bin/python benchmarks/postgres_atomicity.py
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg

from youthmode.ledger import open_store

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
THREADS, EACH = 8, 40


def run(url: str, mode: str, subjects: int) -> dict[str, Any]:
    store = open_store(f"{url}?schema=ym_{mode}_{subjects}&atomic={mode}&pool_size={THREADS}")
    calls, lock = [0], threading.Lock()

    def step(tx: Any) -> int:
        with lock:
            calls[0] += 1
        tx.prefetch(["u", "e", "idem"])
        count: int = tx.get("u") or 0
        tx.put("u", count + 1)
        tx.put("e", {"ids": list(range(20))})
        return count

    def writer(t: int) -> int:
        failed = 0
        for i in range(EACH):
            try:
                store.atomic(f"s{(t * EACH + i) % subjects}", step)
            except Exception:
                failed += 1
        return failed

    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        failed = sum(pool.map(writer, range(THREADS)))
    elapsed = time.perf_counter() - started
    done = THREADS * EACH - failed
    found = {"writes_per_s": round(THREADS * EACH / elapsed, 1), "retries": calls[0] - done}
    found["failed"] = failed
    if subjects == 1:
        found["counter"] = store.read("s0", lambda tx: tx.get("u"))
    store.delete_all()  # type: ignore[attr-defined]
    return found


def main() -> None:
    name = f"ym_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        for subjects in (1, 100):
            for _ in range(2):
                for mode in ("lock", "serializable"):
                    found = run(url, mode, subjects)
                    load = os.getloadavg()[0]
                    print(f"{subjects:>3} subject(s) {mode:<12} {found} load {load:.1f}")
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
