"""What the ledger costs per store backend: a decision and a write, in time and on the wire.

For each backend in `BACKENDS` (a fresh, empty store each; removed afterwards), with the
workload of ledger_decisions.py (200 subjects with some use and a guardian limit):

- `decision_us`: microseconds per `Ledger.decide` in the library (one thread), median of 3;
- `write_us`: microseconds per `Ledger.record_usage` of one new event (a read-modify-write);
- `contended_writes_per_s`: 8 threads writing to one subject at once, 25 writes each;
- `decision_round_trips`, `decision_bytes`, `write_round_trips`, `write_bytes`: counted by a
  TCP proxy the store talks through (a round trip: the client sends after it has been
  answered); for SQLite, which has no wire, `*_statements` (its trace callback) instead;
- with `--http`: decisions/s and latency percentiles of `youthmode serve --store URL`
  (2 workers) under wrk on loopback, c=8, 5 s (benchmarks/http_bench.py's setup).

A new backend (e.g. Redis Cluster) is one more entry in `BACKENDS`: a function that returns a
fresh store URL and registers its removal. Results: one JSON object with --json.

    .venv/bin/python benchmarks/store_costs.py [--requests 2000] [--http] [--only postgresql]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ledger_decisions import NOW, ledger_requests, per_decision, seed  # noqa: E402

import youthmode  # noqa: E402
from youthmode.ledger import Ledger, open_store  # noqa: E402
from youthmode.ledger.store import Store  # noqa: E402

SUBJECTS = 200
COUNTED = 200  # decisions and writes sent through the counting proxy


def sqlite_url(stack: ExitStack) -> str:
    folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="ym-bench-"))
    return f"sqlite:///{folder}/ledger.db"


def redis_url(stack: ExitStack) -> str:
    url = f"redis://127.0.0.1:6379/0?prefix=ym-bench-{uuid.uuid4().hex}:"
    stack.callback(lambda: open_store(url).delete_all())  # type: ignore[attr-defined]
    return url


def postgresql_url(stack: ExitStack) -> str:
    """A database of the benchmark's own on 127.0.0.1:5432, dropped afterwards."""
    import psycopg

    name = f"ym_bench_{uuid.uuid4().hex[:12]}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    stack.callback(drop)
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


BACKENDS: dict[str, Callable[[ExitStack], str]] = {
    "sqlite": sqlite_url,
    "redis": redis_url,
    "postgresql": postgresql_url,
    # The same server, writes as SERIALIZABLE transactions retried on conflict instead of a
    # per-subject row lock: the comparison behind the default (docs/ledger.md).
    "postgresql-serializable": lambda stack: postgresql_url(stack) + "?atomic=serializable",
}


class CountingProxy:
    """A loopback TCP proxy that counts bytes each way and round trips (a client send that
    follows an answer, or opens the connection)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.sent = self.received = self.round_trips = 0
        self._lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def reset(self) -> None:
        with self._lock:
            self.sent = self.received = self.round_trips = 0

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            answered = [True]  # per connection: was the last thing seen an answer?
            threading.Thread(target=self._pump, args=(client, server, True, answered)).start()
            threading.Thread(target=self._pump, args=(server, client, False, answered)).start()

    def _pump(self, src: socket.socket, dst: socket.socket, up: bool, answered: list[bool]) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                with self._lock:
                    if up:
                        self.sent += len(data)
                        self.round_trips += answered[0]
                        answered[0] = False
                    else:
                        self.received += len(data)
                        answered[0] = True
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.listener.close()


def proxied(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    netloc[-1] = host
    return urlunsplit((parts.scheme, "@".join(netloc), parts.path, parts.query, ""))


def usage_event(i: int) -> list[dict[str, Any]]:
    minute = i % 50
    return [
        {
            "id": f"w-{i}",
            "action": "app.use",
            "start": f"2026-11-27T18:{minute:02d}:00+08:00",
            "end": f"2026-11-27T18:{minute:02d}:30+08:00",
        }
    ]


def per_write(ledger: Ledger, count: int, offset: int) -> float:
    started = time.perf_counter()
    for i in range(offset, offset + count):
        ledger.record_usage(f"s-{i % SUBJECTS}", usage_event(i))
    return round((time.perf_counter() - started) / count * 1e6, 1)


def contended_writes(ledger: Ledger, threads: int = 8, each: int = 25) -> float:
    """Writes/s with ``threads`` writers on one subject at once (a family's shared device)."""

    def writer(t: int) -> None:
        for i in range(each):
            ledger.record_usage("hot", usage_event(400_000 + t * each + i))

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(writer, range(threads)))
    return round(threads * each / (time.perf_counter() - started), 1)


def wire_costs(
    url: str, engine: youthmode.Engine, requests: list[dict[str, Any]]
) -> dict[str, Any]:
    """Round trips and bytes per decision and per write, through a counting proxy."""
    parts = urlsplit(url)
    proxy = CountingProxy((parts.hostname or "127.0.0.1", parts.port or 0))
    store = open_store(proxied(url, proxy.port))
    try:
        ledger = Ledger(engine, store, clock=lambda: NOW)
        for request in requests[:20]:  # warm: connections open, statements prepared
            ledger.decide(request)
        per_write(ledger, 20, 100_000)
        time.sleep(0.2)  # let the pools finish opening their connections
        out: dict[str, Any] = {}
        for what, run in (
            ("decision", lambda: [ledger.decide(r) for r in requests[:COUNTED]]),
            ("write", lambda: per_write(ledger, COUNTED, 200_000)),
        ):
            proxy.reset()
            run()
            out[f"{what}_round_trips"] = round(proxy.round_trips / COUNTED, 2)
            out[f"{what}_bytes"] = round((proxy.sent + proxy.received) / COUNTED)
        return out
    finally:
        store.close()
        proxy.close()


def statement_costs(store: Store, ledger: Ledger, requests: list[dict[str, Any]]) -> dict[str, Any]:
    """SQLite: statements per decision and per write (its trace callback)."""
    statements: list[str] = []
    conn = store._conn()  # type: ignore[attr-defined]  # this thread's connection
    conn.set_trace_callback(statements.append)
    try:
        out: dict[str, Any] = {}
        for request in requests[:COUNTED]:
            ledger.decide(request)
        out["decision_statements"] = round(len(statements) / COUNTED, 2)
        statements.clear()
        per_write(ledger, COUNTED, 300_000)
        out["write_statements"] = round(len(statements) / COUNTED, 2)
        return out
    finally:
        conn.set_trace_callback(None)


def measure_backend(
    name: str, url: str, engine: youthmode.Engine, requests: list[dict[str, Any]]
) -> dict[str, Any]:
    store = open_store(url)
    try:
        ledger = Ledger(engine, store, clock=lambda: NOW)
        seed(ledger, SUBJECTS)
        found: dict[str, Any] = {
            "decision_us": per_decision(ledger.decide, requests),
            "write_us": per_write(ledger, 500, 0),
            "contended_writes_per_s": contended_writes(ledger),
        }
        if name.startswith("sqlite"):
            found.update(statement_costs(store, ledger, requests))
        else:
            found.update(wire_costs(url, engine, requests))
        return found
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--only", action="append", choices=sorted(BACKENDS))
    parser.add_argument("--http", action="store_true", help="decisions/s under youthmode serve")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    engine = youthmode.Engine.from_path(HERE.parent / "configs", clock=lambda: NOW).warm()
    requests = ledger_requests(args.requests, SUBJECTS)
    results: dict[str, Any] = {"engine_us": per_decision(engine.decide, requests)}
    for name in args.only or BACKENDS:
        with ExitStack() as stack:
            try:
                url = BACKENDS[name](stack)
                results[name] = measure_backend(name, url, engine, requests)
                if args.http:
                    from store_http import http_rate

                    results[name].update(http_rate(url))
            except Exception as err:  # a backend not running here: said, not fatal
                results[name] = {"error": f"{type(err).__name__}: {err}"}
        if not args.json:
            print(f"{name}: {json.dumps(results[name])}", flush=True)
    if args.json:
        print(json.dumps(results))
    else:
        print(f"engine alone: {results['engine_us']} us per decision")


if __name__ == "__main__":
    main()
