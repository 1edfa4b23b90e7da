"""The capacity model's measurements (docs/scaling.md): per ledger backend (SQLite, Redis, a
3-primary Redis Cluster, PostgreSQL: each a server of this script's own), what one decision
costs the store, and how many ledger-backed decisions one API instance serves; then 3 API
instances against a 3-primary Redis Cluster at once.

1. In process, one thread: microseconds per `Ledger.decide` and per `Ledger.record_usage`
   (a heartbeat's write), and for the Redis backends the store commands and bytes each costs
   (INFO deltas summed over every primary: one command is one round trip, none are pipelined
   on the decision path).
2. Over HTTP: one `youthmode serve` instance (2 workers) per backend under wrk, decisions whose
   usage comes from the ledger (subject ids, no `usage`).
3. Three `youthmode serve` instances (1 worker each) against the cluster, a wrk per instance at
   once: total decisions/s and each instance's latency.

Everything listens on loopback ports started and stopped here (servers by process id); every
wrk run is bounded by a response count and seconds. Needs redis-server, redis-cli, wrk and
PostgreSQL's binaries (initdb, pg_ctl).

    .venv/bin/python benchmarks/cluster_load.py [--seconds 8] [--json] [--backends postgresql ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from http_bench import Server, cpu_seconds, free_port, write_bodies, wrk  # noqa: E402
from postgres_support import PostgresProcess, create_database  # noqa: E402
from redis_cluster_support import RedisClusterProcess  # noqa: E402
from redis_support import RedisProcess  # noqa: E402
from workload import workload  # noqa: E402

import youthmode  # noqa: E402
from youthmode.ledger import Ledger, open_store  # noqa: E402
from youthmode.ledger.store import Store  # noqa: E402

SUBJECTS = 2000
RUNS = 3  # wrk runs per measurement; the median is kept
NOW = datetime(2026, 11, 27, 12, 30, tzinfo=UTC)  # Friday 20:30 in Shanghai
USE = {
    "action": "app.use",
    "start": "2026-11-27T19:00:00+08:00",
    "end": "2026-11-27T19:25:00+08:00",
}


def ledger_requests(count: int) -> list[dict[str, Any]]:
    """The workload's requests with a subject id and no `usage`: usage comes from the ledger."""
    requests = []
    for i, request in enumerate(workload(count)):
        request = {k: v for k, v in request.items() if k != "usage"}
        request["subject"] = {**request.get("subject", {}), "id": f"s-{i % SUBJECTS}"}
        requests.append(request)
    return requests


def seed(engine: youthmode.Engine, store: Store) -> None:
    ledger = Ledger(engine, store, clock=lambda: NOW)
    for s in range(SUBJECTS):
        ledger.record_usage(f"s-{s}", [{"id": "u", **USE}])
        ledger.update_guardian(f"s-{s}", {"daily_limit": "50m"}, actor="parent")


def redis_counters(store: Store) -> tuple[int, int]:
    """Commands processed and bytes in + out, summed over the store's Redis primaries."""
    client = getattr(store, "client", None)
    if client is None:
        return 0, 0
    nodes = (
        [client.get_redis_connection(n) for n in client.get_primaries()]
        if hasattr(client, "get_primaries")
        else [client]
    )
    commands = moved = 0
    for node in nodes:
        stats = node.info("stats")
        commands += int(stats["total_commands_processed"])
        moved += int(stats["total_net_input_bytes"]) + int(stats["total_net_output_bytes"])
    return commands, moved


Pids = list[int] | Callable[[], list[int]]  # a server's processes (PostgreSQL's: as they are now)


def per_call(store: Store, fn: Callable[[int], Any], count: int, server: Pids) -> dict[str, Any]:
    """Microseconds per call; for Redis, store commands, bytes and server CPU per call."""
    commands, moved = redis_counters(store)
    pids = server() if callable(server) else server
    cpu = sum(cpu_seconds(pid) for pid in pids)
    started = time.perf_counter()
    for i in range(count):
        fn(i)
    spent = time.perf_counter() - started
    after_commands, after_moved = redis_counters(store)
    found: dict[str, Any] = {"us": round(spent / count * 1e6, 1)}
    if pids:
        found["store_cpu_us"] = round((sum(map(cpu_seconds, pids)) - cpu) / count * 1e6, 1)
    if after_commands:
        # the INFO calls themselves are one command each per node: negligible over `count`
        found["commands"] = round((after_commands - commands) / count, 2)
        found["bytes"] = round((after_moved - moved) / count)
    return found


def in_process(
    engine: youthmode.Engine, url: str, requests: list[dict[str, Any]], pids: Pids
) -> dict[str, Any]:
    store = open_store(url)
    try:
        seed(engine, store)
        ledger = Ledger(engine, store, clock=lambda: NOW)
        decide = per_call(store, lambda i: ledger.decide(requests[i % len(requests)]), 3000, pids)
        beats = per_call(
            store,
            lambda i: ledger.record_usage(f"s-{i % SUBJECTS}", [{"id": f"h{i}", **USE}]),
            1000,
            pids,
        )
        return {"decide": decide, "record_usage": beats}
    finally:
        if hasattr(store, "delete_all"):
            store.delete_all()
        store.close()


def serve_argv(port: int, workers: int) -> list[str]:
    bin_dir = Path(sys.executable).parent
    return [str(bin_dir / "youthmode"), "serve", "--port", str(port), "--policies", "configs",
            "--workers", str(workers)]  # fmt: skip


def server_env(folder: Path, store: str, workers: int) -> dict[str, str]:
    env = {
        **os.environ,
        "YOUTHMODE_DECISION_LOG": "off",
        "YOUTHMODE_STATE_DIR": str(folder),
        "YOUTHMODE_WORKERS": str(workers),
        "YOUTHMODE_STORE": store,
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("YOUTHMODE_KEYS_FILE", None)  # development mode: no auth on loopback
    return env


def usage_bodies(count: int, run: int) -> list[dict[str, Any]]:
    """Heartbeats as a client sends them: one minute of use, a fresh event id each, ending
    a few minutes before now (the server's clock is the real one)."""
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
    start = end - timedelta(minutes=1)
    stamp = {"start": start.isoformat(), "end": end.isoformat()}
    return [
        {
            "subject_id": f"s-{i % SUBJECTS}",
            "events": [{"id": f"hb{run}-{i}", "action": "app.use", **stamp}],
        }
        for i in range(count)
    ]


def one_instance(
    url: str,
    bodies: list[Path],
    folder: Path,
    seconds: float,
    path: str = "/v1/decisions",
    cap: int = 200_000,
) -> dict[str, Any]:
    port = free_port()
    with Server("youthmode", serve_argv(port, 2), server_env(folder, url, 2), port) as server:
        if path == "/v1/decisions":
            wrk(server.port, path, bodies[0], cap=0, seconds=2, connections=8)  # warm-up
        runs = [
            wrk(server.port, path, body, cap=cap, seconds=seconds, connections=8, server=server)
            for body in bodies
        ]
    return _median(runs)


def three_instances(url: str, bodies: Path, folder: Path, seconds: float) -> dict[str, Any]:
    """Three instances of one worker each, a wrk per instance, all at once (threads)."""
    from concurrent.futures import ThreadPoolExecutor

    with ExitStack() as stack:
        servers = []
        for n in range(3):
            port = free_port()
            env = server_env(folder / f"i{n}", url, 1)
            servers.append(stack.enter_context(Server(f"i{n}", serve_argv(port, 1), env, port)))
        for server in servers:
            wrk(server.port, "/v1/decisions", bodies, cap=0, seconds=2, connections=4)
        rounds = []
        for _ in range(RUNS):
            with ThreadPoolExecutor(3) as pool:
                rounds.append(list(pool.map(lambda s: _decisions(s, bodies, seconds), servers)))
    middle = sorted(rounds, key=lambda runs: sum(r["rps"] for r in runs))[len(rounds) // 2]
    return {
        "total_rps": round(sum(r["rps"] for r in middle), 1),
        "instances": [_brief(r) for r in middle],
        "total_rps_each_round": [round(sum(r["rps"] for r in runs), 1) for runs in rounds],
    }


def _decisions(server: Server, bodies: Path, seconds: float) -> dict[str, Any]:
    return wrk(
        server.port, "/v1/decisions", bodies, cap=200_000, seconds=seconds, connections=4,
        server=server,
    )  # fmt: skip


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median throughput (others on this shared machine disturb some runs)."""
    middle = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
    return _brief(middle) | {"rps_each_run": [r["rps"] for r in runs]}


def _brief(r: dict[str, Any]) -> dict[str, Any]:
    keep = ("rps", "p50_ms", "p99_ms", "non200", "completed", "other_cpu_s", "disturbed")
    return {k: r[k] for k in keep if k in r}


@contextmanager
def stores() -> Iterator[dict[str, tuple[str, Pids]]]:
    """A store URL per backend: a SQLite file, a redis-server, a 3-primary cluster and a
    PostgreSQL server of ours (fsync off, as the tests' own: its CPU, not its disk, is measured;
    its processes are read when measured, since each connection is a process of its own)."""
    with tempfile.TemporaryDirectory(prefix="ym-scale-") as tmp:
        single = RedisProcess(Path(tmp) / "redis")
        single.folder.mkdir()
        cluster = RedisClusterProcess(Path(tmp) / "cluster")
        postgres = PostgresProcess()
        try:
            single.start()
            cluster.start()
            postgres.start()
            prefix = f"?prefix=ym-scale-{uuid.uuid4().hex}:"
            assert single.proc is not None
            yield {
                "sqlite": (f"sqlite:///{tmp}/ledger.db", []),
                "redis": (single.url + prefix, [single.proc.pid]),
                "redis-cluster": (cluster.url + prefix, [n.proc.pid for n in cluster.nodes]),
                "redis-cluster-wait1": (cluster.url + prefix + "&wait=1", []),
                "postgresql": (create_database(postgres.port), postgres.pids),
            }
        finally:
            single.stop()
            cluster.stop()
            postgres.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--backends", nargs="+", help="only these (default: all)")
    args = parser.parse_args()
    engine = youthmode.Engine.from_path(HERE.parent / "configs", clock=lambda: NOW).warm()
    requests = ledger_requests(6000)
    out: dict[str, Any] = {"cores": os.cpu_count(), "subjects": SUBJECTS}
    with stores() as urls, tempfile.TemporaryDirectory(prefix="ym-scale-http-") as tmp:
        folder = Path(tmp)
        bodies = write_bodies(folder, "ledger", requests)
        usage = [  # fresh event ids in every run: each heartbeat is a real write
            write_bodies(folder, f"usage{run}", usage_bodies(6000, run)) for run in range(RUNS)
        ]
        for name, (url, pids) in urls.items():
            if args.backends and name not in args.backends:
                continue
            out[name] = in_process(engine, url, requests, pids)
            if name.endswith("wait1"):  # in process only: what ?wait=1 adds to a write
                print(name, json.dumps(out[name]), file=sys.stderr)
                continue
            seed(engine, open_store(url))  # the servers read the same subjects
            out[name]["http_one_instance"] = one_instance(
                url, [bodies] * RUNS, folder / name, args.seconds
            )
            out[name]["http_usage_one_instance"] = one_instance(
                url, usage, folder / f"{name}-usage", args.seconds, path="/v1/usage", cap=5000
            )
            print(name, json.dumps(out[name]), file=sys.stderr)
        if args.backends and "redis-cluster" not in args.backends:
            print(json.dumps(out, indent=None if args.json else 2))
            return
        out["three_instances_cluster"] = three_instances(
            urls["redis-cluster"][0], bodies, folder / "three", args.seconds
        )
        print("three instances", json.dumps(out["three_instances_cluster"]), file=sys.stderr)
    print(json.dumps(out, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
