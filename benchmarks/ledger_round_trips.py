"""Store round trips per ledger-backed decision: SQLite statements and Redis commands sent.

The seeding and requests of ledger_decisions.py. SQLite: every statement the decisions run, by
the connection's trace callback. Redis: every send redis-py makes on a connection (a pipeline
is one send: one round trip), counted by wrapping `Connection.send_packed_command` during the
decisions only (the Redis on 127.0.0.1:6379, a key prefix of its own, deleted afterwards).

    PYTHONPATH=. .venv/bin/python benchmarks/ledger_round_trips.py [--decisions 1000]
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import redis.connection

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ledger_decisions import NOW, ledger_requests, seed  # noqa: E402

import youthmode  # noqa: E402
from youthmode.ledger import Ledger, open_store  # noqa: E402


def sqlite_statements(ledger: Ledger, requests: list[dict[str, Any]]) -> collections.Counter[str]:
    seen: collections.Counter[str] = collections.Counter()
    conn = ledger.store._conn()  # type: ignore[attr-defined]  # this thread's connection
    conn.set_trace_callback(lambda sql: seen.update([sql.split(" ", 1)[0].upper()]))
    try:
        for request in requests:
            ledger.decide(request)
    finally:
        conn.set_trace_callback(None)
    return seen


def redis_sends(ledger: Ledger, requests: list[dict[str, Any]]) -> collections.Counter[str]:
    seen: collections.Counter[str] = collections.Counter()
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(self: Any, command: Any, check_health: bool = True) -> None:
        first = command[0] if isinstance(command, list) else command
        name = bytes(first).split(b"\r\n")[2].decode().upper() if first else "?"
        seen.update([name])
        original(self, command, check_health)

    redis.connection.AbstractConnection.send_packed_command = counting  # type: ignore[method-assign]
    try:
        for request in requests:
            ledger.decide(request)
    finally:
        redis.connection.AbstractConnection.send_packed_command = original  # type: ignore[method-assign]
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=1000)
    args = parser.parse_args()
    engine = youthmode.Engine.from_path(HERE.parent / "configs", clock=lambda: NOW).warm()
    requests = ledger_requests(args.decisions, 200)
    with tempfile.TemporaryDirectory() as folder:
        for name, url, count in (
            ("sqlite", f"sqlite:///{folder}/ledger.db", sqlite_statements),
            ("redis", f"redis://127.0.0.1:6379/0?prefix=ym-trips-{uuid.uuid4().hex}:", redis_sends),
        ):
            store = open_store(url)
            try:
                ledger = Ledger(engine, store, clock=lambda: NOW)
                seed(ledger, 200)
                ledger.decide(requests[0])  # connections opened before counting
                seen = count(ledger, requests)
            finally:
                if name == "redis":
                    store.delete_all()  # type: ignore[attr-defined]
                store.close()
            per = sum(seen.values()) / len(requests)
            kinds = ", ".join(f"{k} {v / len(requests):.2f}" for k, v in sorted(seen.items()))
            print(f"{name}: {per:.2f} per decision ({kinds})")


if __name__ == "__main__":
    main()
