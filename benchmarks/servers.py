"""Server comparison: the same WSGI apps under gunicorn (BufferedSyncWorker, gthread) and Granian.

    PYTHONPATH=. .venv/bin/python benchmarks/servers.py [--seconds 8] [--runs 3]

Six servers, started and stopped here by process id, each on an ephemeral loopback port:
youthmode's API and the bare Flask app of bare_server.py (the ceiling), each under

- gunicorn + BufferedSyncWorker: what `youthmode serve --workers 2` runs today;
- gunicorn gthread: `youthmode serve --workers 2` with YOUTHMODE_WORKER_CLASS=gthread and
  YOUTHMODE_THREADS=4;
- Granian WSGI: `granian --interface wsgi --workers 2` on granian_app.py (Granian's defaults
  otherwise).

Load: wrk -t1 with post.lua (http_bench.wrk) on POST /v1/decisions with workload.py's requests,
at 8, 64 and 256 connections; per server and connection count a 2 s warm-up, then ``--runs``
runs of ``--seconds`` taken in turn across the servers (http_bench.measure_interleaved), median
and spread (min-max) reported. Answers are checked against the library first
(http_bench.check_answers). Then, per youthmode server, a slow-client check: 50 sockets that each
send one header byte a second (as tests/faults/test_server_slow_clients.py) while /healthz is
probed every 0.25 s. Prints a markdown table; --json writes every run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from http_bench import (  # noqa: E402
    Server,
    check_answers,
    free_port,
    measure_interleaved,
    write_bodies,
)
from workload import workload  # noqa: E402

import youthmode  # noqa: E402

ROOT = HERE.parent
CONNECTIONS = (8, 64, 256)
SLOW_SOCKETS = 50
HEAD = b"GET /healthz HTTP/1.1\r\nHost: slow\r\nUser-Agent: " + b"s" * 200 + b"\r\n\r\n"


def servers(folder: Path, workers: int) -> list[tuple[str, str, Server]]:
    """(server label, app label, Server) for each of the six, not yet started."""
    bin_dir = Path(sys.executable).parent
    base = {
        **os.environ,
        "YOUTHMODE_DECISION_LOG": "off",
        "YOUTHMODE_POLICIES": "configs",
        "YOUTHMODE_WORKERS": str(workers),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("YOUTHMODE_KEYS_FILE", "YOUTHMODE_STORE", "YOUTHMODE_THREADS",
                 "YOUTHMODE_WORKER_CLASS"):  # fmt: skip
        base.pop(name, None)  # development mode, loopback, the default SQLite ledger
    out: list[tuple[str, str, Server]] = []
    kinds: list[tuple[str, dict[str, str]]] = [
        ("gunicorn BufferedSyncWorker", {}),
        (
            "gunicorn gthread 4 threads",
            {"YOUTHMODE_WORKER_CLASS": "gthread", "YOUTHMODE_THREADS": "4"},
        ),
        ("granian wsgi", {}),
    ]
    for index, (kind, extra) in enumerate(kinds):
        for app in ("youthmode", "bare Flask"):
            state = folder / f"state-{index}-{app.split()[0]}"
            env = {**base, **extra, "YOUTHMODE_STATE_DIR": str(state)}
            port = free_port()
            if kind.startswith("granian"):
                metrics = state / "prometheus"
                metrics.mkdir(parents=True, exist_ok=True)
                env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
                env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE)])
                target = "granian_app:app" if app == "youthmode" else "granian_app:bare"
                argv = [str(bin_dir / "granian"), "--interface", "wsgi", "--workers",
                        str(workers), "--host", "127.0.0.1", "--port", str(port),
                        "--no-ws", "--log-level", "warning", target]  # fmt: skip
            elif app == "youthmode":
                argv = [str(bin_dir / "youthmode"), "serve", "--port", str(port),
                        "--policies", "configs", "--workers", str(workers)]  # fmt: skip
            else:
                argv = [sys.executable, str(HERE / "bare_server.py"), "--port", str(port),
                        "--workers", str(workers)]  # fmt: skip
            out.append((kind, app, Server(f"{kind.split()[0]}-{app.split()[0]}", argv, env, port)))
    return out


def healthz(port: int) -> float | None:
    started = time.monotonic()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/healthz")
        ok = conn.getresponse().status == 200
        conn.close()
    except OSError:
        return None
    return time.monotonic() - started if ok else None


def slow_clients(port: int, seconds: float) -> dict[str, Any]:
    """50 sockets send a request head a byte a second while /healthz is probed every 0.25 s."""
    probes: list[float | None] = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.wait(0.25):
            probes.append(healthz(port))

    answers: list[bytes] = []
    closed_at: list[float] = []
    started = time.monotonic()
    open_ = [socket.create_connection(("127.0.0.1", port)) for _ in range(SLOW_SOCKETS)]
    thread = threading.Thread(target=probe)
    thread.start()

    def finish(conn: socket.socket) -> None:
        conn.settimeout(0.5)
        data = b""
        try:
            while chunk := conn.recv(65536):
                data += chunk
        except OSError:
            pass
        conn.close()
        answers.append(data)
        closed_at.append(round(time.monotonic() - started, 1))

    sent, next_byte = 0, started
    while time.monotonic() - started < seconds and sent < len(HEAD) and open_:
        if time.monotonic() >= next_byte:
            for conn in open_:
                try:
                    conn.send(HEAD[sent : sent + 1])
                except OSError:
                    pass
            sent, next_byte = sent + 1, next_byte + 1.0
        readable, _, _ = select.select(open_, [], [], max(next_byte - time.monotonic(), 0.0))
        for conn in readable:
            finish(conn)
            open_.remove(conn)
    still_open = len(open_)
    for conn in open_:
        conn.close()
    stop.set()
    thread.join()
    answered = [t for t in probes if t is not None]
    statuses: dict[str, int] = {}
    for data in answers:
        line = data.split(b"\r\n", 1)[0].decode("latin-1") or "(closed, no answer)"
        statuses[line] = statuses.get(line, 0) + 1
    return {
        "healthz_probes": len(probes),
        "healthz_failed": len(probes) - len(answered),
        "healthz_median_ms": round(statistics.median(answered) * 1e3, 1) if answered else None,
        "healthz_max_ms": round(max(answered) * 1e3, 1) if answered else None,
        "slow_sockets_closed_by_server": len(answers),
        "slow_sockets_open_at_end": still_open,
        "slow_socket_answers": statuses,
        "closed_at_s": sorted(set(closed_at)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, nargs="+", default=list(CONNECTIONS))
    parser.add_argument("--slow-seconds", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=12_000)
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    reqs = workload(args.requests)
    engine = youthmode.Engine.from_path(ROOT / "configs")
    sample = reqs[:100]
    expected = [engine.decide(r).effect for r in sample]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True, check=False).stdout.strip()  # fmt: skip
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True,
                                 check=False).stdout.split("\n")[0].strip()  # fmt: skip
    results: dict[str, Any] = {"commit": commit, "wrk": wrk_version, "runs": args.runs,
                               "seconds": args.seconds, "workers": args.workers,
                               "figures": {}, "checks": {}, "slow": {}}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="ym-servers-") as tmp:
        folder = Path(tmp)
        bodies = write_bodies(folder, "single", reqs)
        all_servers = servers(folder, args.workers)
        started: list[Server] = []
        try:
            for kind, app, server in all_servers:
                server.start()
                started.append(server)
                if app == "youthmode":
                    wrong = check_answers(server.port, sample, expected)
                    results["checks"][kind] = {"checked": 2 * len(sample), "wrong": wrong}
                    log(f"{kind}: {wrong} wrong answers of {2 * len(sample)} checked")
            for connections in args.connections:
                log(f"{connections} connections:")
                got = measure_interleaved(
                    [
                        (f"{kind} | {app}", server, "/v1/decisions", bodies, 0)
                        for kind, app, server in all_servers
                    ],
                    runs=args.runs,
                    seconds=args.seconds,
                    connections=connections,
                    warmup_seconds=2.0,
                    log=log,
                )
                for label, summary in got.items():
                    p99 = [r["p99_ms"] for r in summary["runs"]]
                    summary["p99_range"] = [min(p99), max(p99)]
                    results["figures"].setdefault(label, {})[connections] = summary
            for kind, app, server in all_servers:
                if app != "youthmode":
                    continue
                log(f"slow clients, {kind}:")
                results["slow"][kind] = found = slow_clients(server.port, args.slow_seconds)
                log("  " + json.dumps(found))
        finally:
            for server in started:
                server.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    print(table(results))


def table(results: dict[str, Any]) -> str:
    conns = sorted({c for f in results["figures"].values() for c in f})
    head = "| server | app | " + " | ".join(
        f"c={c} req/s (min-max) | c={c} p50 / p99 ms (p99 min-max)" for c in conns
    )
    lines = [head + " |", "|" + "---|" * (2 + 2 * len(conns))]
    for label, by_conn in results["figures"].items():
        kind, app = label.split(" | ")
        cells = []
        for c in conns:
            s = by_conn.get(c)
            if s is None:
                cells += ["not measured", "not measured"]
                continue
            lo, hi = s["rps_range"]
            plo, phi = s["p99_range"]
            bad = s["non200"] + s["socket_errors"]
            flag = f" ({bad} non-200/socket errors)" if bad else ""
            cells.append(f"{s['rps']:.0f} ({lo:.0f}-{hi:.0f}){flag}")
            cells.append(f"{s['p50_ms']:.1f} / {s['p99_ms']:.1f} ({plo:.1f}-{phi:.1f})")
        lines.append(f"| {kind} | {app} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "| server (youthmode app) | answers wrong / checked | /healthz median / max ms, "
        f"{SLOW_SOCKETS} slow sockets | probes failed | what the slow sockets got |"
    )
    lines.append("|---|---|---|---|---|")
    for kind, s in results["slow"].items():
        check = results["checks"].get(kind, {})
        got = "; ".join(f"{n}x {k}" for k, n in s["slow_socket_answers"].items())
        got += f"; {s['slow_sockets_open_at_end']} still open at the end"
        lines.append(
            f"| {kind} | {check.get('wrong')} / {check.get('checked')} | "
            f"{s['healthz_median_ms']} / {s['healthz_max_ms']} | "
            f"{s['healthz_failed']} of {s['healthz_probes']} | {got} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
