"""The engine's own decisions per second with no compiled stage (YOUTHMODE_PURE=1), on the
`make bench` workload: what the compiled stages (youthmode/compiled.py) are measured against.
Run in its own process, since the stages are chosen at import.

    YOUTHMODE_PURE=1 .venv/bin/python benchmarks/pure_engine.py [--requests N] [--repeats R]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from workload import workload  # noqa: E402

import youthmode  # noqa: E402
from youthmode import compiled  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=12_000)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--policies", default=str(HERE.parent / "configs"))
    args = parser.parse_args()
    stages = [n for n in compiled.STAGES if compiled.load(n) is not None]
    engine = youthmode.Engine.from_path(args.policies).warm()
    reqs = workload(args.requests, args.seed)
    for req in reqs:  # warm: every memo filled, as make bench's agreement pass does
        engine.decide(req)
    passes = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for req in reqs:
            engine.decide(req)
        passes.append(time.perf_counter() - start)
    median = statistics.median(passes)
    print(
        json.dumps(
            {
                "compiled_stages": stages,
                "decisions_per_s": round(len(reqs) / median),
                "us_per_decision": round(median / len(reqs) * 1e6, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
