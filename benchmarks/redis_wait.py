"""Polling for Redis's reply (`?spin_us=`, ledger/spin.py) against blocking for it alone.

Two measures, each taken in turns (polling, then not) so the machine's drift hits both:
- one thread's ledger-backed decisions (ledger_decisions.py's requests and seeding), µs each,
  wall and CPU;
- `youthmode serve --store redis://...` (2 workers, decision log off) under wrk at 1, 8, 64 and
  256 connections (store_http.py): requests/s, p50 and p99, and the workers' CPU per answer.

Needs the Redis on 127.0.0.1:6379 and wrk. Run on a quiet machine: a busy one never lets a CPU
go idle, and then blocking costs little.

    PYTHONPATH=. .venv/bin/python benchmarks/redis_wait.py [--rounds 2] [--spin-us 100]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ledger_decisions import NOW, ledger_requests, seed  # noqa: E402
from store_http import http_rate  # noqa: E402

import youthmode  # noqa: E402
from youthmode.ledger import Ledger, open_store  # noqa: E402


def url(spin_us: int) -> str:
    return f"redis://127.0.0.1:6379/0?prefix=ym-wait-{uuid.uuid4().hex}:&spin_us={spin_us}"


def one_thread(engine: youthmode.Engine, spin_us: int, requests: list[Any]) -> tuple[float, float]:
    """(wall, CPU) µs per ledger-backed decision on one thread."""
    store = open_store(url(spin_us))
    try:
        ledger = Ledger(engine, store, clock=lambda: NOW)
        seed(ledger, 200)
        for request in requests[:300]:  # warm: the connection, the memos
            ledger.decide(request)
        cpu, wall = time.process_time(), time.perf_counter()
        for request in requests:
            ledger.decide(request)
        took = time.perf_counter() - wall, time.process_time() - cpu
        return round(took[0] / len(requests) * 1e6, 1), round(took[1] / len(requests) * 1e6, 1)
    finally:
        store.delete_all()  # type: ignore[attr-defined]
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--spin-us", type=int, default=100)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 8, 64, 256])
    args = parser.parse_args()
    engine = youthmode.Engine.from_path(HERE.parent / "configs", clock=lambda: NOW).warm()
    requests = ledger_requests(3000, 200)
    modes = {"polling": args.spin_us, "blocking": 0}
    threads: dict[str, list[tuple[float, float]]] = {m: [] for m in modes}
    http: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for _ in range(args.rounds):
        for mode, spin in modes.items():
            threads[mode].append(one_thread(engine, spin, requests))
        for connections in args.connections:
            for mode, spin in modes.items():
                found = http_rate(url(spin), connections=connections)
                http.setdefault((mode, connections), []).append(found)
    out: dict[str, Any] = {"spin_us": args.spin_us}
    for mode, runs in threads.items():
        out[f"one_thread_{mode}_us"] = statistics.median(r[0] for r in runs)
        out[f"one_thread_{mode}_cpu_us"] = statistics.median(r[1] for r in runs)
        print(f"one thread, {mode}: wall {[r[0] for r in runs]} µs, CPU {[r[1] for r in runs]} µs")
    for (mode, connections), runs in http.items():
        keys = ("http_rps", "http_p50_ms", "http_p99_ms", "http_worker_cpu_us")
        row = {k: statistics.median(r[k] for r in runs) for k in keys}
        out[f"http_{mode}_c{connections}"] = row
        print(f"c={connections:<3} {mode:8} " + "  ".join(f"{k[5:]} {v}" for k, v in row.items()))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
