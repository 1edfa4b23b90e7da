"""The API while its Redis is stalled (SIGSTOP): decisions per second and /healthz latency.

Starts a redis-server of its own on a spare port and `youthmode serve` (2 sync workers) with
that Redis as the ledger, then runs 8 client threads for --seconds: half ask for decisions
about subjects with an id (the ledger is read), half about anonymous subjects (it is not);
a ninth thread asks /healthz every 0.2 s. Redis is stalled for the middle third of the run.

    python benchmarks/stalled_store.py                 # this checkout
    python benchmarks/stalled_store.py --source DIR    # another checkout (e.g. a git worktree
                                                       # of an older commit), for before/after
Figures: docs/operations.md. Loopback only; bounded in time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from redis_support import RedisProcess, free_port  # noqa: E402

KID = {"subject": {"id": "kid-1", "age": 12, "verified": True}, "action": "app.use",
       "at": "2026-11-27T20:30:00+08:00"}  # fmt: skip
ANONYMOUS = {"subject": {"age": 12, "verified": True}, "action": "app.use",
             "at": "2026-11-27T20:30:00+08:00"}  # fmt: skip


def serve(source: Path, port: int, store: str, folder: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(source),
        "YOUTHMODE_STATE_DIR": str(folder / "state"),
        "YOUTHMODE_DECISION_LOG": "off",
        "YOUTHMODE_STORE": store,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "youthmode.cli", "serve", "--port", str(port),
         "--policies", str(ROOT / "configs"), "--workers", "2"],
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.05)  # waiting for the server to listen
    raise SystemExit("server did not start")


def run(source: Path, seconds: float) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="ym-stall-"))
    redis_server = RedisProcess(folder)
    redis_server.start()
    port = free_port()
    server = serve(source, port, redis_server.url + "?prefix=bench:", folder)
    phases = ("before", "stalled", "after")
    counts = {(p, kind): 0 for p in phases for kind in ("id", "anonymous")}
    health: dict[str, list[float]] = {p: [] for p in phases}
    phase = ["before"]
    stop = threading.Event()
    lock = threading.Lock()

    def client(body: dict[str, object], kind: str) -> None:
        payload = json.dumps(body)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while not stop.is_set():
            try:
                conn.request("POST", "/v1/decisions", payload, {"Content-Type": "application/json"})
                conn.getresponse().read()
            except OSError:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            with lock:
                counts[(phase[0], kind)] += 1

    def prober() -> None:
        while not stop.is_set():
            started = time.monotonic()
            current = phase[0]
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                health[current].append(time.monotonic() - started)
            except OSError:
                health[current].append(float("inf"))
            time.sleep(0.2)  # a probe every 0.2 s, as a load balancer would

    threads = [threading.Thread(target=client, args=(KID, "id")) for _ in range(4)]
    threads += [threading.Thread(target=client, args=(ANONYMOUS, "anonymous")) for _ in range(4)]
    threads.append(threading.Thread(target=prober))
    for thread in threads:
        thread.start()
    third = seconds / 3
    time.sleep(third)  # the run's first phase
    phase[0] = "stalled"
    redis_server.stall()
    time.sleep(third)
    redis_server.resume()
    phase[0] = "after"
    time.sleep(third)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)
    redis_server.stop()
    out: dict[str, object] = {}
    for p in phases:
        latencies = health[p] or [float("nan")]
        out[p] = {
            "decisions_per_s_with_id": round(counts[(p, "id")] / third, 1),
            "decisions_per_s_anonymous": round(counts[(p, "anonymous")] / third, 1),
            "healthz_median_s": round(statistics.median(latencies), 3),
            "healthz_max_s": round(max(latencies), 3),
            "healthz_probes": len(health[p]),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT, help="checkout to serve")
    parser.add_argument("--seconds", type=float, default=15.0, help="whole run (3 phases)")
    args = parser.parse_args()
    print(json.dumps(run(args.source.resolve(), args.seconds), indent=2))


if __name__ == "__main__":
    main()
