"""HTTP benchmark: youthmode's API and a bare Flask endpoint under the same gunicorn setup.

Servers listen on ephemeral loopback ports (127.0.0.1 only) and are started and stopped here, by
process id. The load generator is wrk (Debian package `wrk`) with post.lua: closed loop, fixed
connections, bounded by a request count and a duration, whichever comes first.
"""

from __future__ import annotations

import http.client
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sysload import busy_seconds
from worker_profile import profile_worker

from youthmode.server.config import ServerConfig

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LUA = HERE / "post.lua"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_kib(pid: int, path: str, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/{path}", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory(pid: int) -> dict[str, float | None]:
    """Resident set size and proportional set size (shared pages split) in MiB."""
    rss = read_kib(pid, "status", "VmRSS")
    pss = read_kib(pid, "smaps_rollup", "Pss")
    return {
        "rss_mib": round(rss / 1024, 1) if rss else None,
        "pss_mib": round(pss / 1024, 1) if pss else None,
    }


class Server:
    """A gunicorn server we start, wait for, measure and stop (by its pid only)."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str],
        port: int,
        cwd: Path = ROOT,
    ) -> None:
        self.name, self.argv, self.env, self.port, self.cwd = name, list(argv), env, port, cwd
        self.log = tempfile.NamedTemporaryFile(
            prefix=f"ym-bench-{name}-", suffix=".log", delete=False
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; log: {self.log.name}")
            if self._healthy() and len(self.workers()) >= int(self.env["YOUTHMODE_WORKERS"]):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not healthy after {timeout:.0f}s; log: {self.log.name}")

    def _healthy(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/healthz")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def workers(self) -> list[int]:
        assert self.proc is not None
        pid = self.proc.pid
        try:
            text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def memory(self) -> dict[str, Any]:
        assert self.proc is not None
        return {
            "master": memory(self.proc.pid),
            "workers": [memory(pid) for pid in self.workers()],
        }

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # gunicorn: graceful stop of every worker
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def post_json(port: int, path: str, body: Any) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def wrk(
    port: int,
    path: str,
    bodies_file: Path,
    *,
    cap: int,
    seconds: float,
    connections: int,
    server: Server | None = None,
) -> dict[str, Any]:
    """One wrk run: stops after ``cap`` responses or ``seconds``, whichever comes first.

    With ``server``, also the CPU seconds each worker and the load generator used meanwhile.
    """
    pids = server.workers() if server else []
    master = [server.proc.pid] if server and server.proc else []
    before = [cpu_seconds(pid) for pid in pids]
    before_master = sum(cpu_seconds(pid) for pid in master)
    busy, own = busy_seconds(), time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    argv = [
        "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
        "-s", str(LUA), f"http://127.0.0.1:{port}{path}", "--", str(bodies_file), str(cap),
    ]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    result: dict[str, Any] | None = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("ym-cap-reached"):
            proc.send_signal(signal.SIGINT)  # wrk would otherwise sleep out -d
        elif line.startswith("ym-result "):
            result = json.loads(line[len("ym-result ") :])
    stderr = proc.stderr.read() if proc.stderr else ""
    proc.wait()
    if result is None:
        raise RuntimeError(f"wrk gave no result (exit {proc.returncode}): {stderr.strip()}")
    result["cap"], result["time_cap_s"], result["connections"] = cap, seconds, connections
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    result["generator_cpu_s"] = round(
        used.ru_utime + used.ru_stime - children.ru_utime - children.ru_stime, 2
    )
    ours = result["generator_cpu_s"] + time.process_time() - own
    if server:
        result["worker_cpu_s"] = [
            round(cpu_seconds(pid) - b, 2) for pid, b in zip(pids, before, strict=True)
        ]
        ours += sum(result["worker_cpu_s"]) + sum(cpu_seconds(p) for p in master) - before_master
    # Someone else's CPU while this ran, per second of the run (wrk's -d sleep included).
    result["other_cpu_s"] = round(max(0.0, busy_seconds() - busy - ours), 2)
    # Disturbed: other processes took more than a tenth of the machine during the run.
    span = max(result["span_s"], 1e-9)
    result["disturbed"] = result["other_cpu_s"] / span > 0.1 * (os.cpu_count() or 1)
    result["rps"] = round(result["completed"] / result["span_s"], 1) if result["span_s"] else 0.0
    return result


def write_bodies(folder: Path, name: str, bodies: Sequence[Any]) -> Path:
    path = folder / f"{name}.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for body in bodies:
            handle.write(json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n")
    return path


def check_answers(port: int, requests: Sequence[dict[str, Any]], expected: Sequence[str]) -> int:
    """POST some requests one by one and in a batch; count effects that differ from the library."""
    wrong = 0
    for req, effect in zip(requests, expected, strict=True):
        status, body = post_json(port, "/v1/decisions", req)
        wrong += status != 200 or body.get("effect") != effect
    status, body = post_json(port, "/v1/decisions/batch", {"requests": list(requests)})
    got = [d.get("effect") for d in body.get("decisions", [])] if status == 200 else []
    wrong += sum(a != b for a, b in zip(got, expected, strict=False)) + abs(
        len(got) - len(expected)
    )
    return wrong


def measure(
    server: Server,
    path: str,
    bodies: Path,
    *,
    cap: int,
    label: str,
    **common: Any,
) -> dict[str, Any]:
    """One target alone: see `measure_interleaved`."""
    return measure_interleaved([(label, server, path, bodies, cap)], **common)[label]


Target = tuple[str, Server, str, Path, int]  # label, server, path, bodies, cap


def measure_interleaved(
    targets: Sequence[Target],
    *,
    runs: int,
    seconds: float,
    connections: int,
    warmup_seconds: float,
    log: Any,
    wait_idle: Any = None,
) -> dict[str, dict[str, Any]]:
    """A warm-up of each target, then ``runs`` rounds of one wrk run per target, in turn.

    Taking turns puts the targets' runs side by side in time, so a slow drift of the machine
    (a VM's neighbours) hits them alike, as the library passes are interleaved. Several runs
    because one alone is a coin toss: each starts with fresh connections, and how they spread
    over the workers varies.
    """
    for _, server, path, bodies, _ in targets:
        if wait_idle is not None:
            wait_idle()
        wrk(server.port, path, bodies, cap=0, seconds=warmup_seconds, connections=connections)
    every: dict[str, list[dict[str, Any]]] = {label: [] for label, *_ in targets}
    for index in range(runs):
        for label, server, path, bodies, cap in targets:
            if wait_idle is not None and (index or len(targets) > 1):
                wait_idle()
            r = wrk(
                server.port, path, bodies, cap=cap, seconds=seconds, connections=connections,
                server=server,
            )  # fmt: skip
            every[label].append(r)
            log(f"  {label} run {index + 1}: {_line(r)}")
    return {label: _summary(runs_of) for label, runs_of in every.items()}


def _summary(every: list[dict[str, Any]]) -> dict[str, Any]:
    cpu = sum(sum(r["worker_cpu_s"]) for r in every)
    done = sum(r["completed"] for r in every)
    return {
        "rps": round(statistics.median(r["rps"] for r in every), 1),
        # Server CPU per request, whatever the split between workers: the capacity figure.
        "worker_cpu_ms_per_request": round(cpu / done * 1e3, 3) if done else None,
        # Share of the work the busier worker did, per run (0.5 = even, 1.0 = one worker idle).
        "busier_worker_share": [
            round(max(r["worker_cpu_s"]) / sum(r["worker_cpu_s"]), 2)
            if sum(r["worker_cpu_s"])
            else None
            for r in every
        ],
        "p50_ms": round(statistics.median(r["p50_ms"] for r in every), 2),
        "p99_ms": round(statistics.median(r["p99_ms"] for r in every), 2),
        "rps_range": [min(r["rps"] for r in every), max(r["rps"] for r in every)],
        "disturbed_runs": sum(r["disturbed"] for r in every),
        "non200": sum(r["non200"] for r in every),
        "socket_errors": sum(
            r["errors"][k] for r in every for k in ("connect", "read", "write", "timeout")
        ),
        "runs": every,
    }


def run_http(
    requests: Sequence[dict[str, Any]],
    expected_effects: Sequence[str],
    *,
    workers: int = 2,
    connections: int = 8,
    runs: int = 5,
    single_cap: int = 5_000,
    batch_cap: int = 80,
    seconds: float = 10.0,
    warmup_seconds: float = 2.0,
    store: str | None = None,
    wait_idle: Any = None,
    log: Any = print,
    worker_profile: bool = True,
) -> dict[str, Any]:
    """Single decisions, batches of 100, and the bare Flask baseline; throughput and latency.

    With ``worker_profile``, after the timed runs, py-spy samples one worker of each server
    under the same load (worker_profile.py): where a request's time goes.
    """
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (Debian/Ubuntu: apt-get install -y wrk)")
    bin_dir = Path(sys.executable).parent
    version = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    out: dict[str, Any] = {
        "workers": workers,
        "threads": ServerConfig.from_env().threads,
        "worker_class": ServerConfig.from_env().worker_class,
        "connections": connections,
        "runs": runs,
        "caps": {"single": single_cap, "batch": batch_cap, "bare": single_cap, "seconds": seconds},
        "generator": (version.stdout.split("\n")[0].strip() or "wrk") + " -t1, post.lua",
    }
    common = {
        "runs": runs, "seconds": seconds, "connections": connections,
        "warmup_seconds": warmup_seconds, "log": log, "wait_idle": wait_idle,
    }  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="ym-bench-") as tmp:
        folder = Path(tmp)
        single = write_bodies(folder, "single", requests)
        batches = [
            {"requests": list(requests[i : i + 100])} for i in range(0, len(requests) - 99, 100)
        ]
        batch = write_bodies(folder, "batch", batches)
        env = {
            **os.environ,
            "YOUTHMODE_DECISION_LOG": "off",
            "YOUTHMODE_STATE_DIR": str(folder / "state"),
            "YOUTHMODE_WORKERS": str(workers),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("YOUTHMODE_KEYS_FILE", None)  # development mode: no auth on loopback
        env.pop("YOUTHMODE_STORE", None)
        if store is not None:
            env["YOUTHMODE_STORE"] = store  # default: SQLite ledger in the temporary state dir
        out["store"] = store or "server default (SQLite ledger in the temporary state dir)"

        port = free_port()
        argv = [str(bin_dir / "youthmode"), "serve", "--port", str(port), "--policies", "configs",
                "--workers", str(workers)]  # fmt: skip
        bare_port = free_port()
        bare_argv = [sys.executable, str(HERE / "bare_server.py"), "--port", str(bare_port),
                     "--workers", str(workers)]  # fmt: skip
        with (
            Server("youthmode", argv, env, port) as server,
            Server("bare-flask", bare_argv, env, bare_port) as bare_server,
        ):
            wrong = check_answers(port, requests[:100], expected_effects[:100])
            out["answers_checked"], out["answers_wrong"] = 200, wrong
            log(f"  youthmode serve on 127.0.0.1:{port}: {wrong} wrong answers of 200 checked")
            # Single decisions and the bare baseline take turns, run by run.
            pair = measure_interleaved(
                [
                    ("single", server, "/v1/decisions", single, single_cap),
                    ("bare Flask", bare_server, "/v1/decisions", single, single_cap),
                ],
                **common,
            )
            out["single"], out["bare"] = pair["single"], pair["bare Flask"]
            out["single"]["decisions_per_s"] = out["single"]["rps"]
            out["batch"] = measure(
                server, "/v1/decisions/batch", batch, cap=batch_cap, label="batch", **common
            )
            out["batch"]["batch_size"] = 100
            out["batch"]["decisions_per_s"] = round(out["batch"]["rps"] * 100)
            out["youthmode_memory"] = server.memory()
            out["bare_memory"] = bare_server.memory()
            if worker_profile:
                out["single_profile"] = _profile(server, single, connections, log)
                out["bare_profile"] = _profile(bare_server, single, connections, log)

    bare = out["bare"]["rps"] or float("nan")
    out["single_vs_bare"] = round(out["single"]["rps"] / bare, 3)
    out["batch_requests_vs_bare"] = round(out["batch"]["rps"] / bare, 3)
    # The same comparison by server CPU per request: immune to how connections were split.
    out["single_vs_bare_by_cpu"] = round(
        out["bare"]["worker_cpu_ms_per_request"] / out["single"]["worker_cpu_ms_per_request"], 3
    )
    # Each round's two runs were taken back to back: their ratio is the least drift-prone.
    rounds = [
        a["rps"] / b["rps"]
        for a, b in zip(out["single"]["runs"], out["bare"]["runs"], strict=True)
        if b["rps"]
    ]
    out["single_vs_bare_by_round"] = [round(r, 3) for r in rounds]
    return out


def _profile(server: Server, bodies: Path, connections: int, log: Any) -> dict[str, Any]:
    def load(seconds: float) -> None:
        wrk(server.port, "/v1/decisions", bodies, cap=0, seconds=seconds, connections=connections)

    found = profile_worker(server.workers()[0], load)
    if "skipped" in found:
        log(f"  {server.name} worker profile skipped: {found['skipped']}")
        return found
    log(f"  {server.name} worker profile (py-spy, {found['samples']} samples; share of the time):")
    for label, share in found["shares"].items():
        log(f"    {share * 100:5.1f}%  {label}")
    return found


def _line(r: dict[str, Any]) -> str:
    return (
        f"{r['completed']} in {r['span_s']:.2f}s = {r['rps']:.0f} req/s, "
        f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, non-200 {r['non200']}; "
        f"CPU s: workers {r.get('worker_cpu_s')}, wrk {r.get('generator_cpu_s')}, "
        f"others {r.get('other_cpu_s')}" + (" DISTURBED" if r.get("disturbed") else "")
    )
