"""Decisions that take usage and guardian settings from the ledger, per backend (no HTTP).

What a production request with a subject id costs: `Ledger.decide` reads the subject's usage,
spend, holds, guardian settings and grants, then decides. The workload's requests get one of
200 subject ids and lose their `usage`; each subject first gets some recorded use and a guardian
limit. One thread, against a fresh SQLite file and the Redis on 127.0.0.1:6379 (own key prefix,
removed afterwards), and that Redis again with `?spin_us=100` (a reply polled for before the
thread blocks: ledger/spin.py). Prints microseconds per decision for each, and for the engine
alone.

    .venv/bin/python benchmarks/ledger_decisions.py [--requests 3000] [--subjects 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from workload import workload  # noqa: E402

import youthmode  # noqa: E402
from youthmode.ledger import Ledger, open_store  # noqa: E402

NOW = datetime(2026, 11, 27, 12, 30, tzinfo=UTC)  # Friday 20:30 in Shanghai


def per_decision(fn: Any, requests: list[dict[str, Any]], repeats: int = 3) -> float:
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        for request in requests:
            fn(request)
        runs.append((time.perf_counter() - started) / len(requests) * 1e6)
    return round(statistics.median(runs), 1)


def ledger_requests(count: int, subjects: int) -> list[dict[str, Any]]:
    """The workload's requests, without `usage`, each for one of ``subjects`` subject ids."""
    requests = []
    for i, request in enumerate(workload(count)):
        request = {k: v for k, v in request.items() if k != "usage"}
        request["subject"] = {**request.get("subject", {}), "id": f"s-{i % subjects}"}
        requests.append(request)
    return requests


def seed(ledger: Ledger, subjects: int) -> None:
    """Each subject: 25 minutes of use today and a guardian's daily limit."""
    for s in range(subjects):
        use = {"id": "u", "action": "app.use", "start": "2026-11-27T19:00:00+08:00",
               "end": "2026-11-27T19:25:00+08:00"}  # fmt: skip
        ledger.record_usage(f"s-{s}", [use])
        ledger.update_guardian(f"s-{s}", {"daily_limit": "50m"}, actor="parent")


def measure(requests_count: int, subjects: int) -> dict[str, Any]:
    """Microseconds per decision: the engine alone, then with a SQLite and a Redis ledger."""
    engine = youthmode.Engine.from_path(HERE.parent / "configs", clock=lambda: NOW).warm()
    requests = ledger_requests(requests_count, subjects)
    out: dict[str, Any] = {"engine_us": per_decision(engine.decide, requests)}
    with tempfile.TemporaryDirectory() as folder:
        urls = {
            "sqlite": f"sqlite:///{folder}/ledger.db",
            "redis": f"redis://127.0.0.1:6379/0?prefix=ym-bench-{uuid.uuid4().hex}:",
            # The same polling for the reply first (`?spin_us=`, ledger/spin.py; off by default)
            "redis_polling": f"redis://127.0.0.1:6379/0?prefix=ym-bench-{uuid.uuid4().hex}:"
            "&spin_us=100",
        }
        for name, url in urls.items():
            try:
                store = open_store(url)
            except Exception as err:  # no Redis on this machine: said, not failed
                out[f"{name}_us"] = None
                out[f"{name}_error"] = str(err)
                continue
            try:
                ledger = Ledger(engine, store, clock=lambda: NOW)
                seed(ledger, subjects)
                out[f"{name}_us"] = per_decision(ledger.decide, requests)
            except Exception as err:
                out[f"{name}_us"] = None
                out[f"{name}_error"] = str(err)
            finally:
                if name.startswith("redis"):
                    try:
                        store.delete_all()  # type: ignore[attr-defined]
                    except Exception:
                        pass
                store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--subjects", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    found = measure(args.requests, args.subjects)
    if args.json:
        print(json.dumps(found))
        return
    print(f"engine alone (requests as given): {found['engine_us']} us")
    for name in ("sqlite", "redis", "redis_polling"):
        shown = found[f"{name}_us"]
        print(f"{name}: {shown} us per decision" if shown else f"{name}: {found[name + '_error']}")


if __name__ == "__main__":
    main()
