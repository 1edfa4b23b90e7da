"""Replay throughput: a generated day of traffic re-decided against the same and an edited set.

Writes a decision log of N decisions (benchmarks/workload.py requests, decided by the shipped
cn-baseline and written by the real `DecisionLog` writer), then runs `youthmode replay` on it in
a fresh process, once against configs/ and once against a copy whose curfew starts at 21:00,
and prints decisions per second and the replay process's peak memory. Run it at two sizes to
see that memory does not grow with the log.

    .venv/bin/python benchmarks/replay.py [--decisions 200000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from workload import make_request  # noqa: E402

import youthmode  # noqa: E402
from youthmode.server.decision_log import DecisionLog  # noqa: E402

CURFEW = 'between = ["22:00", "06:00"]'


def write_log(path: Path, count: int, seed: int = 20261201) -> float:
    """N logged decisions; the seconds taken to decide and log them."""
    engine = youthmode.Engine.from_path(ROOT / "configs").warm()
    log = DecisionLog(str(path), b"k" * 32)
    rng = random.Random(seed)
    started, done = time.perf_counter(), 0
    while done < count:
        request = make_request(rng)
        log.record(engine.parse(request), engine.decide(request), 0.001)
        done += 1
    return time.perf_counter() - started


def edited_policies(folder: Path) -> Path:
    shutil.copytree(ROOT / "configs", folder, ignore=shutil.ignore_patterns("examples"))
    pack = folder / "cn-baseline.toml"
    pack.write_text(pack.read_text().replace(CURFEW, 'between = ["21:00", "06:00"]'))
    return folder


# The command in a fresh process that reports its own peak memory (KB) on its last stderr line.
RUN_REPORTING_PEAK = (
    "import resource, sys; from youthmode.cli.parser import main; code = main(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(code)"
)


def measure(log: Path, policies: Path) -> dict[str, Any]:
    """`youthmode replay --json` in a fresh process: wall time and its peak memory."""
    command = [sys.executable, "-c", RUN_REPORTING_PEAK, "replay", str(log), "--json"]
    started = time.perf_counter()
    done = subprocess.run([*command, "--policies", str(policies)], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr)
    report = json.loads(done.stdout)
    peak_kb = int(done.stderr.split()[-1])
    return {
        "decisions": report["total"],
        "seconds": round(seconds, 2),
        "per_second": round(report["total"] / seconds),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "flipped": report["flipped"],
        "changes": report["changes"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=200_000)
    parser.add_argument("--keep", type=Path, help="write the log and policies here")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="ym-replay-"))
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "decisions.jsonl"
    log.unlink(missing_ok=True)
    written = write_log(log, args.decisions)
    print(f"log: {args.decisions:,} decisions, {log.stat().st_size / 1e6:.0f} MB, {written:.1f} s")
    edited = folder / "edited"
    shutil.rmtree(edited, ignore_errors=True)
    for name, policies in (("same", ROOT / "configs"), ("edited", edited_policies(edited))):
        print(name, json.dumps(measure(log, policies)))
    if args.keep is None:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
