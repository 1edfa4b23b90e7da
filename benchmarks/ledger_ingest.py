"""Usage ingestion throughput of the ledger, per backend (issue: ledger and guardian controls).

Posts batches of active-use events straight to `Ledger.record_usage` (no HTTP), with a few
threads, against a fresh SQLite file and against the Redis on 127.0.0.1:6379 (own key prefix,
removed afterwards). Prints events per second for each.

    .venv/bin/python benchmarks/ledger_ingest.py [--events 20000] [--batch 50] [--threads 4]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import youthmode
from youthmode.ledger import Ledger, open_store

ROOT = Path(__file__).resolve().parent.parent


def batches(total: int, size: int, subjects: int) -> list[tuple[str, list[dict[str, str]]]]:
    start = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    out = []
    for b in range(total // size):
        subject = f"s-{b % subjects}"
        events = []
        for i in range(size):
            n = b * size + i
            begin = start + timedelta(seconds=(n * 37) % 40000)
            events.append(
                {
                    "id": f"e-{n}",
                    "action": "app.use",
                    "start": begin.isoformat(),
                    "end": (begin + timedelta(seconds=60 + n % 600)).isoformat(),
                }
            )
        out.append((subject, events))
    return out


def measure(url: str, work: list[tuple[str, list[dict[str, str]]]], threads: int) -> float:
    engine = youthmode.Engine.from_path(ROOT / "configs")
    store = open_store(url)
    ledger = Ledger(engine, store, clock=lambda: datetime(2026, 11, 27, 15, 0, tzinfo=UTC))
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda item: ledger.record_usage(item[0], item[1]), work))
    elapsed = time.perf_counter() - began
    if hasattr(store, "delete_all"):
        store.delete_all()
    store.close()
    return sum(len(events) for _, events in work) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--subjects", type=int, default=200)
    args = parser.parse_args()
    work = batches(args.events, args.batch, args.subjects)
    with tempfile.TemporaryDirectory() as folder:
        sqlite = measure(f"sqlite:///{folder}/ledger.db", work, args.threads)
    redis = measure(
        f"redis://127.0.0.1:6379/0?prefix=ym-bench-{uuid.uuid4().hex}:", work, args.threads
    )
    print(
        f"ledger ingestion, {args.events} events in batches of {args.batch}, "
        f"{args.subjects} subjects, {args.threads} threads:"
    )
    print(f"  sqlite: {sqlite:,.0f} events/s")
    print(f"  redis:  {redis:,.0f} events/s")


if __name__ == "__main__":
    main()
