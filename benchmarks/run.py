"""`make bench`: how fast youthmode decides, against Cedar, a hand-written floor and bare Flask.

One process, one run, in this order:

1. machine facts; policy load and compile time (in a fresh interpreter)
2. a fixed, seeded workload of cn-baseline requests (workload.py)
3. agreement: (a) Engine.decide, (b) cedarpy with cn-baseline.cedar and its glue, (c) the
   hand-written floor must give the same effect, and the same reasons (rule ids for Cedar, codes
   for the floor), on every request; otherwise nothing is timed and the exit status is 1
4. decisions per second of (a), (b), (c) (median of --repeats passes over the workload)
5. where engine.decide spends its time: phases, outcomes, cProfile top functions
6. HTTP (wrk on loopback): POST /v1/decisions and /v1/decisions/batch (100 per batch) under
   `youthmode serve --workers 2`, and a bare Flask endpoint under the same gunicorn setup;
   resident memory of the workers
7. a summary against the targets; everything also written as JSON (--out)

Exit status: 0 ok, 1 the implementations disagree (or a request failed), 2 the HTTP run failed
(wrong answers, non-200 responses, socket errors), 3 with --enforce-targets when a target is missed.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import floor  # noqa: E402
from cedar_cn import CedarCN, codes_of  # noqa: E402
from sysload import busy_seconds, wait_idle  # noqa: E402
from workload import describe, workload  # noqa: E402

import youthmode  # noqa: E402

TARGETS = {
    "decide_vs_cedar": 10.0,  # (a)/(b) at least
    "decide_vs_floor": 1 / 3,  # (a)/(c) at least: at most 3x slower than the floor
    "http_single_vs_bare": 0.70,
    "batch_decisions_per_s": 50_000,
    "serve_vs_before": 2.0,
    "load_compile_ms": 100.0,
}


def say(text: str = "") -> None:
    print(text, flush=True)


# -- machine --------------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        kib = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        mem_gib = round(kib / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    versions = {}
    for name in ("youthmode", "pydantic", "pydantic_core", "flask", "gunicorn", "cedarpy"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "youthmode", "configs"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        commit, dirty = "", ""
    return {
        "commit": (commit or "unknown") + (" (youthmode/ or configs/ modified)" if dirty else ""),
        "cpu": model,
        "cpus": os.cpu_count(),
        "memory_gib": mem_gib,
        "os": platform.platform(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "packages": versions,
        "loadavg_at_start": os.getloadavg(),
    }


# -- load and compile ---------------------------------------------------------------------------
LOAD_SCRIPT = r"""
import json, statistics, sys, time
t0 = time.perf_counter()
import youthmode
t1 = time.perf_counter()
engine = youthmode.Engine.from_path(sys.argv[1])
t2 = time.perf_counter()
engine.warm()
t2w = time.perf_counter()
engine.decide({"subject": {"age": 12, "verified": True}, "action": "game.play",
               "at": "2026-11-27T20:30:00+08:00"})
t3 = time.perf_counter()
warm = []
for _ in range(10):
    s = time.perf_counter()
    youthmode.Engine.from_path(sys.argv[1])
    warm.append(time.perf_counter() - s)
print(json.dumps({"import_ms": (t1 - t0) * 1e3, "first_load_ms": (t2 - t1) * 1e3,
                  "calendar_ms": (t2w - t2) * 1e3, "first_decision_ms": (t3 - t2w) * 1e3,
                  "warm_load_ms": statistics.median(warm) * 1e3}))
"""


def load_times(policies: str) -> dict[str, float]:
    """Import, first and warm Engine.from_path, first decision: fresh interpreter, median of 3."""
    runs = []
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", LOAD_SCRIPT, policies],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(done.stdout))
    return {k: round(statistics.median(r[k] for r in runs), 1) for k in runs[0]}


# -- agreement ----------------------------------------------------------------------------------
def engine_answer(engine: youthmode.Engine, req: dict[str, Any]) -> dict[str, Any]:
    d = engine.decide(req)
    return {
        "effect": d.effect,
        "rules": [r.rule.split("/", 1)[1] for r in d.reasons],
        "codes": d.reason_codes,
        "next_allowed": d.next_allowed_at is not None,
    }


def agreement(
    engine: youthmode.Engine, cedar: CedarCN, reqs: Sequence[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, int]]:
    answers, problems = [], []
    counts = {"allow": 0, "deny": 0, "effect_mismatch": 0, "reason_mismatch": 0, "errors": 0}
    fired: dict[str, int] = {}
    for index, req in enumerate(reqs):
        try:
            a = engine_answer(engine, req)
            b_effect, b_rules = cedar.decide(req)
            c_effect, c_codes = floor.decide(req)
        except Exception as err:  # a request the implementations cannot all answer
            counts["errors"] += 1
            problems.append({"index": index, "request": req, "error": repr(err)})
            answers.append({"effect": "error", "codes": [], "rules": [], "next_allowed": False})
            continue
        answers.append(a)
        counts[a["effect"]] += 1
        for rule in a["rules"]:
            fired[rule] = fired.get(rule, 0) + 1
        if "engine_error" in a["codes"]:
            counts["errors"] += 1
        effects = {"engine": a["effect"], "cedar": b_effect, "floor": c_effect}
        if len(set(effects.values())) > 1:
            counts["effect_mismatch"] += 1
            problems.append({"index": index, "request": req, "effects": effects})
        elif a["rules"] != b_rules or a["codes"] != c_codes:
            counts["reason_mismatch"] += 1
            problems.append(
                {
                    "index": index,
                    "request": req,
                    "engine": a["rules"],
                    "cedar": b_rules,
                    "engine_codes": a["codes"],
                    "cedar_codes": codes_of(b_rules),
                    "floor_codes": c_codes,
                }
            )
    counts["denials_per_rule"] = fired  # type: ignore[assignment]
    return answers, problems, counts


# -- timing -------------------------------------------------------------------------------------
def one_pass(fn: Callable[[Any], Any], reqs: Sequence[Any]) -> float:
    start = time.perf_counter()
    for req in reqs:
        fn(req)
    return time.perf_counter() - start


def measured_pass(fn: Callable[[Any], Any], reqs: Sequence[Any]) -> tuple[float, float]:
    """(wall seconds, CPU seconds other processes used meanwhile)."""
    busy, own = busy_seconds(), time.process_time()
    wall = one_pass(fn, reqs)
    other = (busy_seconds() - busy) - (time.process_time() - own)
    return wall, max(0.0, other)


def throughput(
    impls: dict[str, Callable[[Any], Any]], reqs: Sequence[Any], repeats: int
) -> dict[str, dict[str, Any]]:
    """Decisions per second of each implementation: passes interleaved, median reported."""
    seconds: dict[str, list[float]] = {name: [] for name in impls}
    others: dict[str, list[float]] = {name: [] for name in impls}
    for _ in range(repeats):
        for name, fn in impls.items():
            wall, other = measured_pass(fn, reqs)
            seconds[name].append(wall)
            others[name].append(other)
    out = {}
    for name, runs in seconds.items():
        median = statistics.median(runs)
        out[name] = {
            "decisions_per_s": round(len(reqs) / median),
            "us_per_decision": round(median / len(reqs) * 1e6, 2),
            "passes_s": [round(s, 3) for s in runs],
            # CPU seconds other processes used per wall second (the machine has os.cpu_count())
            "other_cpu_per_s": [round(o / w, 2) for o, w in zip(others[name], runs, strict=True)],
        }
    return out


def compiled_stages() -> list[str]:
    """The engine's compiled stages loaded in this process (youthmode/compiled.py)."""
    from youthmode import compiled

    return [n for n in compiled.STAGES if compiled.load(n) is not None]


def pure_engine(args: argparse.Namespace, compiled_rate: float) -> dict[str, Any]:
    """benchmarks/pure_engine.py with YOUTHMODE_PURE=1: the same workload without the
    compiled stages, for the ratio they earn (the stages are chosen at import)."""
    command = [sys.executable, str(HERE / "pure_engine.py"), "--requests", str(args.requests)]
    command += ["--seed", str(args.seed), "--repeats", str(args.repeats)]
    command += ["--policies", str(args.policies)]
    env = {**os.environ, "YOUTHMODE_PURE": "1"}
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    found: dict[str, Any] = json.loads(done.stdout)
    assert not found["compiled_stages"], "YOUTHMODE_PURE=1 still loaded a compiled stage"
    found["compiled_vs_pure"] = round(compiled_rate / found["decisions_per_s"], 2)
    return found


def cedar_batch_rate(cedar: CedarCN, reqs: Sequence[dict[str, Any]], repeats: int) -> float:
    """Supplementary: cedarpy's is_authorized_batch, 100 requests a call."""
    chunks = [reqs[i : i + 100] for i in range(0, len(reqs), 100)]
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for chunk in chunks:
            cedar.decide_batch(chunk)
        runs.append(time.perf_counter() - start)
    return round(len(reqs) / statistics.median(runs))


# -- where the engine spends its time -------------------------------------------------------------
def _short(path: str) -> str:
    for prefix in (str(ROOT) + "/", "site-packages/"):
        if prefix in path:
            return path.split(prefix, 1)[1]
    return path


def phases(
    engine: youthmode.Engine, reqs: Sequence[dict[str, Any]], answers: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Per-decision cost of reading, deciding and serialising, and of each kind of outcome."""
    from datetime import UTC, datetime

    from youthmode.request import read_plain

    now = datetime.now(UTC)
    parsed = [engine.parse(r) for r in reqs]
    decisions = [engine.decide(r) for r in reqs]
    n = len(reqs)
    out: dict[str, Any] = {
        "read_us": round(
            one_pass(lambda r: read_plain(r, engine.policies, engine.default_policy, now), reqs)
            / n
            * 1e6,
            2,
        ),
        "decide_us": round(one_pass(engine.decide, reqs) / n * 1e6, 2),
        "parse_us": round(one_pass(engine.parse, reqs) / n * 1e6, 2),
        "decide_parsed_us": round(one_pass(engine.decide, parsed) / n * 1e6, 2),
        "model_dump_json_us": round(
            one_pass(lambda d: d.model_dump_json(), decisions) / n * 1e6, 2
        ),
    }
    groups: dict[str, list[Any]] = {"allow": [], "deny, next_allowed_at set": [], "deny, null": []}
    for req, ans in zip(reqs, answers, strict=True):
        if ans["effect"] == "allow":
            groups["allow"].append(req)
        elif ans["next_allowed"]:
            groups["deny, next_allowed_at set"].append(req)
        else:
            groups["deny, null"].append(req)
    spent = {name: one_pass(engine.decide, group) for name, group in groups.items() if group}
    total = sum(spent.values())
    outcomes = {}
    for name, seconds in spent.items():
        outcomes[name] = {
            "requests": len(groups[name]),
            "us_per_decision": round(seconds / len(groups[name]) * 1e6, 1),
            "share_of_time": round(seconds / total, 3),
        }
    out["by_outcome"] = outcomes
    out["without_timeline_search_us"] = without_search(engine, reqs)
    return out


def without_search(engine: youthmode.Engine, reqs: Sequence[Any]) -> float | None:
    """decide() with the timeline search stubbed out (answers then lack remaining_seconds and
    next_allowed_at): an estimate of what the search costs, on the pure path's Timeline and
    the fast path's Walk alike. Best effort: None if the engine's internals have moved."""
    try:
        from youthmode.schedule import Walk
        from youthmode.timeline import Timeline
    except ImportError:
        return None
    stubs: list[tuple[type, str, Callable[..., Any]]] = [
        (Timeline, "next_allowed", lambda self, start: None),
        (Timeline, "remaining_seconds", lambda self, start: None),
        (Walk, "first", lambda self, *args: None),
    ]
    saved = [(cls, name, getattr(cls, name, None)) for cls, name, _ in stubs]
    if any(fn is None for _, _, fn in saved):
        return None
    try:
        for cls, name, stub in stubs:
            setattr(cls, name, stub)
        return round(one_pass(engine.decide, reqs) / len(reqs) * 1e6, 2)
    except Exception:
        return None
    finally:
        for cls, name, fn in saved:
            setattr(cls, name, fn)


def profile(engine: youthmode.Engine, reqs: Sequence[dict[str, Any]], top: int) -> dict[str, Any]:
    """cProfile of one pass of engine.decide; cumulative and own time as % of the pass."""

    def decide_all() -> None:
        for req in reqs:
            engine.decide(req)

    prof = cProfile.Profile()
    prof.enable()
    decide_all()
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = next(v[3] for k, v in stats.items() if k[2] == "decide_all")
    rows = []
    for (path, line, name), (_cc, ncalls, tottime, cumtime, _callers) in stats.items():
        if name == "decide_all" or "_lsprof" in name:
            continue
        label = name if path == "~" else f"{_short(path)}:{line}({name})"
        rows.append(
            {
                "function": label,
                "calls": ncalls,
                "calls_per_decision": round(ncalls / len(reqs), 2),
                "cum_pct": round(cumtime / total * 100, 1),
                "own_pct": round(tottime / total * 100, 1),
            }
        )
    return {
        "profiled_seconds": round(total, 3),
        "decisions": len(reqs),
        "by_cumulative": sorted(rows, key=lambda r: -r["cum_pct"])[:top],
        "by_own_time": sorted(rows, key=lambda r: -r["own_pct"])[:top],
    }


# -- report ---------------------------------------------------------------------------------------
def verdict(value: float, target: float, higher_is_better: bool = True) -> str:
    ok = value >= target if higher_is_better else value <= target
    return "met" if ok else "NOT met"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--policies", default="configs")
    parser.add_argument("--requests", type=int, default=12_000)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per implementation")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP benchmark")
    parser.add_argument(
        "--no-profile", action="store_true", help="skip the engine and worker profiles"
    )
    parser.add_argument("--check-only", action="store_true", help="agreement check only")
    parser.add_argument("--http-runs", type=int, default=5, help="wrk runs per HTTP target")
    parser.add_argument(
        "--http-cap", type=int, default=20_000, help="single/bare: requests a run (about 2 s)"
    )
    # About 2 s a run at today's speed: 80 batches (0.2 s) measured start-up more than
    # throughput (26,000 decisions/s against 43,000-47,000 in 10 s runs of the same server).
    parser.add_argument("--batch-cap", type=int, default=1000, help="batch: batches of 100 a run")
    parser.add_argument("--http-seconds", type=float, default=10.0, help="max seconds a run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--store", help="YOUTHMODE_STORE for the server (default: its own)")
    parser.add_argument("--top", type=int, default=20, help="profile rows")
    parser.add_argument("--out", default=str(ROOT / "var" / "bench" / "results.json"))
    parser.add_argument("--enforce-targets", action="store_true")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="S",
        help="before each timed part, wait up to S seconds for other processes to go quiet",
    )
    parser.add_argument(
        "--no-servers", action="store_true", help="skip the server comparison (servers.py)"
    )
    parser.add_argument(
        "--no-ledger", action="store_true", help="skip ledger-backed decisions (SQLite, Redis)"
    )
    parser.add_argument("--server-runs", type=int, default=2, help="server comparison: runs")
    parser.add_argument("--server-seconds", type=float, default=5.0, help="... seconds a run")
    parser.add_argument(
        "--baseline",
        metavar="COMMIT",
        help="also serve this commit's youthmode in the server comparison (before/after)",
    )
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    started = time.monotonic()
    results: dict[str, Any] = {"command": "make bench", "argv": sys.argv[1:]}

    results["machine"] = m = machine()
    say(f"machine: {m['cpu']}, {m['cpus']} CPUs, {m['memory_gib']} GiB, {m['os']}")
    say(f"commit: {m['commit']}")
    say(f"python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()))

    if not args.check_only:
        results["load"] = lt = load_times(args.policies)
        say(
            f"load: import youthmode {lt['import_ms']} ms; Engine.from_path first "
            f"{lt['first_load_ms']} ms, warm {lt['warm_load_ms']} ms; calendar (Engine.warm: "
            f"holiday data import and this year's table) {lt['calendar_ms']} ms; first decision "
            f"{lt['first_decision_ms']} ms"
        )

    reqs = workload(args.requests, args.seed)
    results["workload"] = describe(reqs) | {"seed": args.seed}
    say(f"workload: {json.dumps(results['workload'], ensure_ascii=False)}")

    engine = youthmode.Engine.from_path(args.policies)
    cedar = CedarCN()
    answers, problems, counts = agreement(engine, cedar, reqs)
    results["agreement"] = counts | {"examples": problems[:10]}
    fired = counts["denials_per_rule"]
    say("denials per rule: " + ", ".join(f"{k} {v}" for k, v in fired.items()))
    say(
        f"agreement: {counts['allow']} allow, {counts['deny']} deny; effect mismatches "
        f"{counts['effect_mismatch']}, reason mismatches {counts['reason_mismatch']}, "
        f"errors {counts['errors']}"
    )
    if problems:
        for problem in problems[:5]:
            say("  " + json.dumps(problem, ensure_ascii=False, default=str))
        write(results, args.out)
        say("FAIL: the implementations disagree; nothing was timed")
        return 1
    if args.check_only:
        return 0

    if args.wait_idle:
        wait_idle(args.wait_idle, log=say)
    say(f"timing {args.repeats} passes of {len(reqs)} decisions each ...")
    rates = throughput(
        {"engine": engine.decide, "cedarpy": cedar.decide, "floor": floor.decide},
        reqs,
        args.repeats,
    )
    rates["cedarpy_batch100"] = {"decisions_per_s": cedar_batch_rate(cedar, reqs, args.repeats)}
    a, b, c = (rates[k]["decisions_per_s"] for k in ("engine", "cedarpy", "floor"))
    results["library"] = rates | {
        "engine_vs_cedarpy": round(a / b, 3),
        "engine_vs_floor": round(a / c, 4),
    }
    for name in ("engine", "cedarpy", "floor"):
        r = rates[name]
        say(
            f"  {name:8} {r['decisions_per_s']:>9,} decisions/s  ({r['us_per_decision']} us each; "
            f"other processes' CPU per second: {r['other_cpu_per_s']})"
        )
    batch_rate = rates["cedarpy_batch100"]["decisions_per_s"]
    say(f"  cedarpy is_authorized_batch (100 a call): {batch_rate:,}/s")
    say(
        f"  (a)/(b) engine/cedarpy = {a / b:.3f}   (a)/(c) engine/floor = {a / c:.4f} "
        f"(the floor is {c / a:.1f}x faster)"
    )

    results["library"]["pure_python"] = pure = pure_engine(args, a)
    say(
        f"  engine with no compiled stage (YOUTHMODE_PURE=1, its own process): "
        f"{pure['decisions_per_s']:,}/s ({pure['us_per_decision']} us); compiled stages in use "
        f"here: {', '.join(compiled_stages()) or 'none'}; compiled/pure = "
        f"{pure['compiled_vs_pure']}"
    )

    results["phases"] = ph = phases(engine, reqs, answers)
    say(
        f"engine phases (us/decision): decide(dict) {ph['decide_us']}, of which the request "
        f"reader {ph['read_us']}; decide(dict) with the timeline search stubbed out "
        f"{ph['without_timeline_search_us']}; model_dump_json {ph['model_dump_json_us']}; "
        f"the typed path: parse (pydantic) {ph['parse_us']}, decide(DecisionRequest) "
        f"{ph['decide_parsed_us']}"
    )
    for name, row in ph["by_outcome"].items():
        say(
            f"  {name:26} {row['requests']:>6} requests  {row['us_per_decision']:>8} us each  "
            f"{row['share_of_time'] * 100:5.1f}% of the time"
        )
    if not args.no_profile:
        results["profile"] = prof = profile(engine, reqs, args.top)
        say(
            f"cProfile of engine.decide ({prof['profiled_seconds']} s under the profiler), "
            "by cumulative time:"
        )
        for row in prof["by_cumulative"]:
            say(
                f"  {row['cum_pct']:5.1f}% cum {row['own_pct']:5.1f}% own "
                f"{row['calls_per_decision']:>7}/decision  {row['function']}"
            )

    status = 0
    if not args.no_http:
        from http_bench import run_http

        say("HTTP (wrk, loopback):")
        try:
            results["http"] = h = run_http(
                reqs,
                [x["effect"] for x in answers],
                connections=args.connections,
                runs=args.http_runs,
                single_cap=args.http_cap,
                batch_cap=args.batch_cap,
                seconds=args.http_seconds,
                store=args.store,
                wait_idle=(lambda: wait_idle(args.wait_idle, log=say)) if args.wait_idle else None,
                log=say,
                worker_profile=not args.no_profile,
            )
        except RuntimeError as err:
            say(f"FAIL: HTTP benchmark: {err}")
            results["http"] = {"error": str(err)}
            status = 2
        else:
            runs = (h["single"], h["batch"], h["bare"])
            bad = h["answers_wrong"] + sum(r["non200"] + r["socket_errors"] for r in runs)
            if bad:
                say(f"FAIL: {bad} wrong answers, non-200 responses or socket errors")
                status = 2
            for name in ("single", "batch", "bare"):
                r = h[name]
                say(
                    f"  {name:6} median of {args.http_runs}: {r['rps']:,.1f} req/s "
                    f"(range {r['rps_range'][0]:,.0f}-{r['rps_range'][1]:,.0f}), "
                    f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms; worker CPU "
                    f"{r['worker_cpu_ms_per_request']} ms/request; busier worker's share "
                    f"{r['busier_worker_share']}"
                )
            ym = [w["rss_mib"] for w in h["youthmode_memory"]["workers"]]
            bare = [w["rss_mib"] for w in h["bare_memory"]["workers"]]
            say(
                f"  single/bare = {h['single_vs_bare']:.3f} by throughput (round by round: "
                f"{', '.join(f'{r:.2f}' for r in h['single_vs_bare_by_round'])}), "
                f"{h['single_vs_bare_by_cpu']:.3f} by worker CPU per request; batch "
                f"{h['batch']['decisions_per_s']:,} decisions/s; worker RSS {ym} MiB "
                f"(bare Flask {bare} MiB)"
            )

    if not args.no_http and not args.no_servers:
        status = max(status, compare_servers(args, reqs, results))
    if not args.no_ledger:
        results["ledger"] = ledger_costs(args.baseline)

    threshold = 0.1 * (os.cpu_count() or 1)
    disturbed = [
        name
        for name, r in (results.get("library") or {}).items()
        if isinstance(r, dict) and max(r.get("other_cpu_per_s") or [0]) > threshold
    ]
    http = results.get("http") or {}
    disturbed += [
        f"http {k}"
        for k in ("single", "batch", "bare")
        if (http.get(k) or {}).get("disturbed_runs")
    ]
    results["disturbed"] = disturbed
    if disturbed:
        say(
            "WARNING: other processes used the CPU during: " + ", ".join(disturbed) + "; "
            "those figures are low. Rerun on an idle machine."
        )
    results["targets"] = t = targets(results)
    say("targets:")
    for name, row in t.items():
        say(f"  {name:24} {row['value']!s:>10}  target {row['target']}  {row['verdict']}")
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    results["machine"]["loadavg_at_end"] = os.getloadavg()
    write(results, args.out)
    say(f"done in {results['elapsed_s']} s; results in {args.out}")
    if status == 0 and args.enforce_targets and any(r["verdict"] != "met" for r in t.values()):
        return 3
    return status


def ledger_costs(baseline: str | None) -> dict[str, Any]:
    """ledger_decisions.py in a fresh interpreter: this checkout, and the baseline's code."""
    import tempfile

    from servers import baseline_tree

    def run(pythonpath: Path, cwd: Path) -> dict[str, Any]:
        env = {**os.environ, "PYTHONPATH": str(pythonpath)}
        # The script in the tree: it loads that tree's configs/ (a baseline's code may not
        # read today's packs).
        script = pythonpath / "benchmarks" / "ledger_decisions.py"
        done = subprocess.run(
            [sys.executable, str(script), "--requests", "2000", "--json"],
            env=env, cwd=cwd, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            return {"error": done.stderr.strip().splitlines()[-1:]}
        found: dict[str, Any] = json.loads(done.stdout)
        return found

    # Taken in turns, twice each, keeping each figure's lower value: the machine's drift
    # hits both alike, and the lower of two runs is the nearer to the code's own cost.
    with tempfile.TemporaryDirectory(prefix="ym-ledger-") as tmp:
        sources = {"now": (ROOT, ROOT)}
        if baseline:
            tree = baseline_tree(Path(tmp), baseline)
            # Today's script and workload, run on the baseline's code and its own configs/
            for name in ("ledger_decisions.py", "workload.py", "cn_calendar.py"):
                (tree / "benchmarks").mkdir(exist_ok=True)
                shutil.copyfile(HERE / name, tree / "benchmarks" / name)
            sources["before"] = (tree, tree)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in sources}
        for _ in range(2):
            for name, (path, cwd) in sources.items():
                runs[name].append(run(path, cwd))
    out = {name: _lower(found) for name, found in runs.items()}
    for name, found in out.items():
        say(
            f"ledger-backed decisions ({name}), us per decision: engine alone "
            f"{found.get('engine_us')}, SQLite {found.get('sqlite_us')}, "
            f"Redis {found.get('redis_us')} (polling: {found.get('redis_polling_us')})"
            + (f" ({found['error']})" if "error" in found else "")
        )
    return out


def _lower(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's lowest value over ``runs`` (an error, if any run had one)."""
    out: dict[str, Any] = {}
    for found in runs:
        for key, value in found.items():
            if isinstance(value, int | float) and isinstance(out.get(key), int | float):
                out[key] = min(out[key], value)
            else:
                out.setdefault(key, value)
    return out


def compare_servers(args: argparse.Namespace, reqs: Sequence[Any], results: dict[str, Any]) -> int:
    """servers.py's comparison: youthmode and bare Flask under `youthmode serve` and Granian
    (and the baseline commit's server), 8/64/256 connections, slow clients. 2 on wrong answers."""
    from servers import compare
    from servers import table as server_table

    say("server comparison (servers.py; wrk at 8, 64 and 256 connections, in turns):")
    try:
        results["servers"] = found = compare(
            reqs,
            baseline=args.baseline,
            runs=args.server_runs,
            seconds=args.server_seconds,
            log=lambda text: say("  " + text),
        )
    except (RuntimeError, subprocess.CalledProcessError) as err:
        say(f"FAIL: server comparison: {err}")
        results["servers"] = {"error": str(err)}
        return 2
    for line in server_table(found).splitlines():
        say(line)
    wrong = sum(check["wrong"] for check in found["checks"].values())
    if wrong:
        say(f"FAIL: {wrong} wrong answers in the server comparison")
        return 2
    return 0


def targets(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    lib = results.get("library")
    if lib:
        out["decide >= 10x cedarpy"] = {
            "value": lib["engine_vs_cedarpy"],
            "target": ">= 10",
            "verdict": verdict(lib["engine_vs_cedarpy"], TARGETS["decide_vs_cedar"]),
        }
        out["decide <= 3x the floor"] = {
            "value": round(1 / lib["engine_vs_floor"], 1),
            "target": "<= 3 (floor/engine)",
            "verdict": verdict(lib["engine_vs_floor"], TARGETS["decide_vs_floor"]),
        }
    http = results.get("http") or {}
    if "single_vs_bare" in http:
        out["HTTP single >= 70% bare"] = {
            "value": http["single_vs_bare"],
            "target": ">= 0.70",
            "verdict": verdict(http["single_vs_bare"], TARGETS["http_single_vs_bare"]),
        }
        out["batch >= 50,000/s"] = {
            "value": http["batch"]["decisions_per_s"],
            "target": ">= 50000",
            "verdict": verdict(http["batch"]["decisions_per_s"], TARGETS["batch_decisions_per_s"]),
        }
    found = (results.get("servers") or {}).get("ratios") or {}
    for c, value in sorted((found.get("youthmode serve: youthmode / bare Flask") or {}).items()):
        out[f"serve c={c} >= 70% bare"] = {
            "value": value,
            "target": ">= 0.70 (same server)",
            "verdict": verdict(value, TARGETS["http_single_vs_bare"]),
        }
    for c, value in sorted((found.get("youthmode serve now / before") or {}).items()):
        out[f"serve c={c} >= 2x before"] = {
            "value": value,
            "target": ">= 2 (--baseline)",
            "verdict": verdict(value, TARGETS["serve_vs_before"]),
        }
    load = results.get("load")
    if load:
        out["load+compile < 100 ms"] = {
            "value": load["first_load_ms"],
            "target": "< 100 (first load; the calendar's first use is reported apart)",
            "verdict": verdict(load["first_load_ms"], TARGETS["load_compile_ms"], False),
        }
    return out


def write(results: dict[str, Any], path: str) -> None:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n")


if __name__ == "__main__":
    sys.exit(main())
