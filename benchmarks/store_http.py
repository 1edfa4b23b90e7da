"""Decisions/s over HTTP with a ledger: `youthmode serve --store URL` (2 workers, decision log
off) under wrk on loopback, c=8, for at most 5 s or 20,000 answers. The bodies are
store_costs.py's ledger requests (subject ids, no `usage`), so every decision reads the
subject's documents from the store. Uses http_bench.py's server and wrk driver."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from http_bench import ROOT, Server, free_port, post_json, write_bodies, wrk
from ledger_decisions import ledger_requests

CONNECTIONS, SECONDS, CAP = 8, 5.0, 20_000


def http_rate(
    url: str, requests_count: int = 2000, subjects: int = 200, connections: int = CONNECTIONS
) -> dict[str, Any]:
    """`http_rps` and latency percentiles (ms) of ledger-backed decisions on ``url``."""
    bodies = ledger_requests(requests_count, subjects)
    with tempfile.TemporaryDirectory(prefix="ym-store-http-") as tmp:
        folder = Path(tmp)
        port = free_port()
        env = {
            **os.environ,
            "YOUTHMODE_POLICIES": str(ROOT / "configs"),
            "YOUTHMODE_DECISION_LOG": "off",
            "YOUTHMODE_STATE_DIR": str(folder / "state"),
            "YOUTHMODE_WORKERS": "2",
            "YOUTHMODE_STORE": url,
        }
        env.pop("YOUTHMODE_KEYS_FILE", None)  # development mode: no auth on loopback
        argv = [sys.executable, "-m", "youthmode.cli", "serve", "--port", str(port)]
        with Server("store-http", argv, env, port) as server:
            status, answer = post_json(port, "/v1/decisions", bodies[0])
            if status != 200 or "store_unavailable" in str(answer):
                raise RuntimeError(f"the server's first decision: {status} {answer}")
            found = wrk(
                port,
                "/v1/decisions",
                write_bodies(folder, "ledger", bodies),
                cap=CAP,
                seconds=SECONDS,
                connections=connections,
                server=server,
            )
    return {
        "http_rps": found["rps"],
        "http_p50_ms": round(found["p50_ms"], 2),
        "http_p99_ms": round(found["p99_ms"], 2),
        "http_non200": found["non200"],
        "http_disturbed": found["disturbed"],
        # the workers' CPU per answer: what a decision costs the server, waiting included
        "http_worker_cpu_us": round(sum(found["worker_cpu_s"]) / max(found["completed"], 1) * 1e6),
    }
