"""Server comparison: youthmode's app and a bare Flask app under each server, in turns.

    PYTHONPATH=. .venv/bin/python benchmarks/servers.py [--seconds 8] [--runs 3]
        [--kinds "youthmode serve" "gunicorn gthread 4 threads" "granian wsgi"] [--baseline COMMIT]

`make bench` runs `compare` with 2 runs of 5 s (benchmarks/run.py). The servers, each on an
ephemeral loopback port with 2 workers, started and stopped here by process id:

- `youthmode serve`: gunicorn with BufferedSyncWorker, its own HTTP/1.1 keep-alive path for
  ordinary requests (youthmode/server/http_fast.py) and the decision lane beneath Flask;
- gunicorn gthread (`--kinds`): YOUTHMODE_WORKER_CLASS=gthread, YOUTHMODE_THREADS=4;
- Granian WSGI: `granian --interface wsgi --workers 2` on granian_app.py (Granian's defaults);
- `--baseline COMMIT`: `youthmode serve` of that commit (its youthmode/ and configs/ taken
  with `git archive`), for before/after in the same run.

Each serves youthmode's app and bare_server.py's bare Flask app (the ceiling under the same
server). Load: wrk -t1 with post.lua (http_bench.wrk) on POST /v1/decisions with workload.py's
requests at 8, 64 and 256 connections; per connection count a 2 s warm-up of each, then
``--runs`` runs of ``--seconds`` taken in turn across the servers
(http_bench.measure_interleaved), median and spread (min-max). Answers are checked against the
library first (http_bench.check_answers; exit 2 on any wrong one). Then, per youthmode server,
50 sockets each send one header byte a second (as tests/faults/test_server_slow_clients.py)
while /healthz is probed every 0.25 s; worker memory is read at the end. Prints a markdown
table and the ratios; --json writes every run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
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

sys.path.insert(0, str(HERE.parent / "tests" / "faults"))
from test_server_slow_clients import SLOW_SOCKETS, Trickle  # noqa: E402

import youthmode  # noqa: E402

ROOT = HERE.parent
CONNECTIONS = (8, 64, 256)


LOGGED = "youthmode serve, decision log on"
UWSGI = "uwsgi http11-socket"
GRANIAN_TUNED = "granian wsgi, 1 thread, backpressure 8"
KINDS = (
    "youthmode serve",
    LOGGED,
    "gunicorn gthread 4 threads",
    "granian wsgi",
    GRANIAN_TUNED,
    UWSGI,
)
DEFAULT_KINDS = ("youthmode serve", LOGGED, "granian wsgi")


def baseline_tree(folder: Path, commit: str) -> Path:
    """``youthmode/`` and ``configs/`` of ``commit``, extracted to run its server beside ours,
    with its compiled stages built when it has any: without them a baseline would run its
    pure Python path and look slower than it was."""
    tree = folder / f"baseline-{commit}"
    tree.mkdir()
    paths = ["youthmode", "configs"]
    listed = subprocess.run(["git", "ls-tree", "--name-only", commit, "setup.py"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    paths += ["setup.py"] if listed.strip() else []
    archive = subprocess.run(["git", "archive", commit, *paths], cwd=ROOT,
                             capture_output=True, check=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    if any(tree.glob("youthmode/_*.c")):
        built = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace", "-q"],
                               cwd=tree, capture_output=True, text=True, check=False)  # fmt: skip
        if built.returncode != 0:  # said, not hidden: its figures are then the pure path's
            print(f"baseline {commit}: its compiled stages did not build; it runs pure Python")
    return tree


def servers(
    folder: Path, workers: int, kinds: Sequence[str] = DEFAULT_KINDS, baseline: str | None = None
) -> list[tuple[str, str, Server]]:
    """(server label, app label, Server) for youthmode's app and the bare Flask app under each
    kind of server (and under ``baseline``'s `youthmode serve`), not yet started."""
    bin_dir = Path(sys.executable).parent
    base = {
        **os.environ,
        "YOUTHMODE_DECISION_LOG": "off",
        "YOUTHMODE_POLICIES": "configs",
        "YOUTHMODE_WORKERS": str(workers),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("YOUTHMODE_KEYS_FILE", "YOUTHMODE_STORE", "YOUTHMODE_THREADS",
                 "YOUTHMODE_WORKER_CLASS", "YOUTHMODE_KEEPALIVE"):  # fmt: skip
        base.pop(name, None)  # development mode, loopback, the default SQLite ledger
    extras = {
        "youthmode serve": {},
        "gunicorn gthread 4 threads": {
            "YOUTHMODE_WORKER_CLASS": "gthread",
            "YOUTHMODE_THREADS": "4",
        },
    }
    chosen = [(kind, extras.get(kind, {}), None) for kind in kinds]
    if baseline:
        chosen.insert(
            0, (f"youthmode serve @{baseline} (before)", {}, baseline_tree(folder, baseline))
        )
    out: list[tuple[str, str, Server]] = []
    for index, (kind, extra, tree) in enumerate(chosen):
        for app in ("youthmode",) if kind == LOGGED else ("youthmode", "bare Flask"):
            state = folder / f"state-{index}-{app.split()[0]}"
            env = {**base, **extra, "YOUTHMODE_STATE_DIR": str(state)}
            if kind == LOGGED:  # the server's default is stdout; a file, as in production
                env["YOUTHMODE_DECISION_LOG"] = str(folder / "decisions.jsonl")
                env["YOUTHMODE_LOG_KEY"] = "bench"
            port = free_port()
            cwd = ROOT
            if kind.startswith("granian"):
                metrics = state / "prometheus"
                metrics.mkdir(parents=True, exist_ok=True)
                env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
                env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE)])
                target = "granian_app:app" if app == "youthmode" else "granian_app:bare"
                argv = [str(bin_dir / "granian"), "--interface", "wsgi", "--workers",
                        str(workers), "--host", "127.0.0.1", "--port", str(port),
                        "--no-ws", "--log-level", "warning", target]  # fmt: skip
                if kind == GRANIAN_TUNED:  # for 2 cores: no thread per connection
                    argv[1:1] = ["--blocking-threads", "1", "--runtime-threads", "1",
                                 "--backpressure", "8"]  # fmt: skip
            elif kind == UWSGI:  # `pip install uwsgi` (compiles; not in the bench extra)
                metrics = state / "prometheus"
                metrics.mkdir(parents=True, exist_ok=True)
                env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
                target = "granian_app:app" if app == "youthmode" else "granian_app:bare"
                argv = [str(bin_dir / "uwsgi"), "--http11-socket", f"127.0.0.1:{port}",
                        "--pythonpath", str(ROOT), "--pythonpath", str(HERE), "--module",
                        target, "--processes", str(workers), "--master", "--need-app",
                        "--lazy-apps", "--disable-logging"]  # fmt: skip
            elif tree is not None:  # the baseline's own code: its folder first on the path
                env["PYTHONPATH"] = str(tree)
                env["YOUTHMODE_POLICIES"] = str(tree / "configs")
                cwd = tree
                argv = ([sys.executable, "-m", "youthmode.cli", "serve", "--port", str(port),
                         "--policies", str(tree / "configs"), "--workers", str(workers)]
                        if app == "youthmode" else
                        [sys.executable, str(HERE / "bare_server.py"), "--port", str(port),
                         "--workers", str(workers)])  # fmt: skip
            elif app == "youthmode":
                argv = [str(bin_dir / "youthmode"), "serve", "--port", str(port),
                        "--policies", "configs", "--workers", str(workers)]  # fmt: skip
            else:
                argv = [sys.executable, str(HERE / "bare_server.py"), "--port", str(port),
                        "--workers", str(workers)]  # fmt: skip
            name = f"{kind.split()[0]}{index}-{app.split()[0]}"
            out.append((kind, app, Server(name, argv, env, port, cwd=cwd)))
    return out


DECISION = json.dumps({"subject": {"age": 12, "verified": True}, "action": "game.play"})


def healthz(port: int, decision: bool = False) -> float | None:
    """Seconds for one `/healthz` (or, with ``decision``, one decision) on a new connection."""
    started = time.monotonic()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        if decision:
            conn.request("POST", "/v1/decisions", DECISION, {"Content-Type": "application/json"})
        else:
            conn.request("GET", "/healthz")
        ok = conn.getresponse().status == 200
        conn.close()
    except OSError:
        return None
    return time.monotonic() - started if ok else None


def slow_clients(port: int, seconds: float) -> dict[str, Any]:
    """50 sockets send a request head a byte a second (the fault test's `Trickle`) while
    /healthz and a decision are probed every 0.25 s."""
    probes: list[float | None] = []
    decisions: list[float | None] = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.wait(0.25):
            probes.append(healthz(port))
            decisions.append(healthz(port, decision=True))

    trickle = Trickle(port, SLOW_SOCKETS, seconds)
    thread = threading.Thread(target=probe)
    thread.start()
    trickle.run()
    stop.set()
    thread.join()
    answered = [t for t in probes if t is not None]
    decided = [t for t in decisions if t is not None]
    statuses: dict[str, int] = {}
    for data in trickle.answers:
        line = data.split(b"\r\n", 1)[0].decode("latin-1")
        statuses[line] = statuses.get(line, 0) + 1
    return {
        "healthz_probes": len(probes),
        "healthz_failed": len(probes) - len(answered),
        "healthz_median_ms": round(statistics.median(answered) * 1e3, 1) if answered else None,
        "healthz_max_ms": round(max(answered) * 1e3, 1) if answered else None,
        "decisions": len(decisions),
        "decisions_failed": len(decisions) - len(decided),
        "decision_median_ms": round(statistics.median(decided) * 1e3, 1) if decided else None,
        "decision_max_ms": round(max(decided) * 1e3, 1) if decided else None,
        "slow_sockets_answered": len(trickle.answers),
        "slow_sockets_not_answered": SLOW_SOCKETS - len(trickle.answers),
        "slow_socket_answers": statuses,
        "closed_at_s": sorted({round(t, 1) for t in trickle.closed_at}),
    }


def compare(
    reqs: Sequence[dict[str, Any]],
    *,
    kinds: Sequence[str] = DEFAULT_KINDS,
    baseline: str | None = None,
    connections: Sequence[int] = CONNECTIONS,
    runs: int = 3,
    seconds: float = 8.0,
    workers: int = 2,
    slow_seconds: float = 10.0,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Start every server, check its answers, measure it at each connection count in turns
    with the others, then its slow-client behaviour; every figure in a dict."""
    engine = youthmode.Engine.from_path(ROOT / "configs")
    sample = list(reqs[:100])
    expected = [engine.decide(r).effect for r in sample]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True, check=False).stdout.strip()  # fmt: skip
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True,
                                 check=False).stdout.split("\n")[0].strip()  # fmt: skip
    results: dict[str, Any] = {"commit": commit, "baseline": baseline, "wrk": wrk_version,
                               "runs": runs, "seconds": seconds, "workers": workers,
                               "figures": {}, "checks": {}, "slow": {}, "memory": {}}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="ym-servers-") as tmp:
        folder = Path(tmp)
        bodies = write_bodies(folder, "single", reqs)
        for kind, program in (("granian wsgi", "granian"), (GRANIAN_TUNED, "granian"),
                              (UWSGI, "uwsgi")):  # fmt: skip
            if kind in kinds and not (Path(sys.executable).parent / program).exists():
                log(f"{program} is not installed: not compared")
                kinds = [k for k in kinds if k != kind]
        all_servers = servers(folder, workers, kinds, baseline)
        started: list[Server] = []
        try:
            for kind, app, server in all_servers:
                server.start()
                started.append(server)
                if app == "youthmode":
                    wrong = check_answers(server.port, sample, expected)
                    results["checks"][kind] = {"checked": 2 * len(sample), "wrong": wrong}
                    log(f"{kind}: {wrong} wrong answers of {2 * len(sample)} checked")
            for count in connections:
                log(f"{count} connections:")
                got = measure_interleaved(
                    [
                        (f"{kind} | {app}", server, "/v1/decisions", bodies, 0)
                        for kind, app, server in all_servers
                    ],
                    runs=runs,
                    seconds=seconds,
                    connections=count,
                    warmup_seconds=2.0,
                    log=log,
                )
                for label, summary in got.items():
                    p99 = [r["p99_ms"] for r in summary["runs"]]
                    summary["p99_range"] = [min(p99), max(p99)]
                    results["figures"].setdefault(label, {})[count] = summary
            for kind, app, server in all_servers:
                results["memory"][f"{kind} | {app}"] = server.memory()
                if app != "youthmode":
                    continue
                log(f"slow clients, {kind}:")
                results["slow"][kind] = found = slow_clients(server.port, slow_seconds)
                log("  " + json.dumps(found))
        finally:
            for server in started:
                server.stop()
    results["ratios"] = ratios(results)
    return results


def ratios(results: dict[str, Any]) -> dict[str, dict[int, float]]:
    """youthmode against bare Flask under the same server, and now against the baseline."""
    figures = results["figures"]
    out: dict[str, dict[int, float]] = {}
    kinds = sorted({label.split(" | ")[0] for label in figures})
    for kind in kinds:
        ym = figures.get(f"{kind} | youthmode", {})
        bare = figures.get(f"{'youthmode serve' if kind == LOGGED else kind} | bare Flask", {})
        out[f"{kind}: youthmode / bare Flask"] = {
            c: round(ym[c]["rps"] / bare[c]["rps"], 3) for c in ym if c in bare and bare[c]["rps"]
        }
    before = next((k for k in kinds if k.endswith("(before)")), None)
    if before is not None:
        old, new = figures[f"{before} | youthmode"], figures.get("youthmode serve | youthmode", {})
        out["youthmode serve now / before"] = {
            c: round(new[c]["rps"] / old[c]["rps"], 3) for c in new if c in old and old[c]["rps"]
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, nargs="+", default=list(CONNECTIONS))
    parser.add_argument("--slow-seconds", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=12_000)
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(DEFAULT_KINDS))
    parser.add_argument("--baseline", help="also run `youthmode serve` of this git commit")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    results = compare(
        workload(args.requests),
        kinds=args.kinds,
        baseline=args.baseline,
        connections=args.connections,
        runs=args.runs,
        seconds=args.seconds,
        workers=args.workers,
        slow_seconds=args.slow_seconds,
        log=log,
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    print(table(results))
    wrong = sum(c["wrong"] for c in results["checks"].values())
    sys.exit(2 if wrong else 0)


def table(results: dict[str, Any]) -> str:
    conns = sorted({c for f in results["figures"].values() for c in f})
    head = "| server | app | " + " | ".join(
        f"c={c} req/s (min-max) | c={c} p50 / p99 ms (p99 min-max) | c={c} served at once"
        for c in conns
    )
    lines = [head + " |", "|" + "---|" * (2 + 3 * len(conns))]
    for label, by_conn in results["figures"].items():
        kind, app = label.split(" | ")
        cells = []
        for c in conns:
            s = by_conn.get(c)
            if s is None:
                cells += ["not measured", "not measured", ""]
                continue
            lo, hi = s["rps_range"]
            plo, phi = s["p99_range"]
            bad = s["non200"] + s["socket_errors"]
            flag = f" ({bad} non-200/socket errors)" if bad else ""
            cells.append(f"{s['rps']:.0f} ({lo:.0f}-{hi:.0f}){flag}")
            cells.append(f"{s['p50_ms']:.1f} / {s['p99_ms']:.1f} ({plo:.1f}-{phi:.1f})")
            # Little's law: requests in flight = throughput x mean latency. Near c when every
            # connection is served; far below it when some connections wait unanswered.
            in_flight = statistics.median(r["rps"] * r["mean_ms"] / 1000 for r in s["runs"])
            cells.append(f"{in_flight:.0f} of {c}")
        lines.append(f"| {kind} | {app} | " + " | ".join(cells) + " |")
    lines.append("")
    for label, found in results.get("memory", {}).items():
        rss = [w["rss_mib"] for w in found["workers"]]
        pss = [w["pss_mib"] for w in found["workers"]]
        lines.append(f"- memory, {label}: workers RSS {rss} MiB, PSS {pss} MiB")
    for name, by_conn in results.get("ratios", {}).items():
        shown = ", ".join(f"c={c}: {r:.2f}" for c, r in sorted(by_conn.items()))
        lines.append(f"- {name}: {shown}")
    lines.append("")
    lines.append(
        "| server (youthmode app) | answers wrong / checked | /healthz median / max ms, "
        f"{SLOW_SOCKETS} slow sockets | probes failed | decision median / max ms | "
        "what the slow sockets got |"
    )
    lines.append("|---|---|---|---|---|---|")
    for kind, s in results["slow"].items():
        check = results["checks"].get(kind, {})
        got = "; ".join(f"{n}x {k}" for k, n in s["slow_socket_answers"].items())
        got += f"; {s['slow_sockets_not_answered']} not answered within the run"
        lines.append(
            f"| {kind} | {check.get('wrong')} / {check.get('checked')} | "
            f"{s['healthz_median_ms']} / {s['healthz_max_ms']} | "
            f"{s['healthz_failed']} of {s['healthz_probes']} | "
            f"{s['decision_median_ms']} / {s['decision_max_ms']} "
            f"({s['decisions_failed']} of {s['decisions']} failed) | {got} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
