"""`decide` against the hand-written floor, timed in turns in one process.

`make bench` times the engine, cedarpy and the floor one after another; the floor's pass is
short (about 2 µs a decision), so a drift of the machine between the passes moves the ratio
by tenths. Here the engine's and the floor's passes over the workload alternate, 15 of each,
and each keeps its fastest: both meet the same machine.

    PYTHONPATH=. .venv/bin/python benchmarks/floor_ratio.py [--passes 15]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import floor  # noqa: E402
from workload import workload  # noqa: E402

import youthmode  # noqa: E402


def fastest(fn: Callable[[Any], Any], requests: list[Any], best: float) -> float:
    started = time.perf_counter()
    for request in requests:
        fn(request)
    return min(best, (time.perf_counter() - started) / len(requests) * 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passes", type=int, default=15)
    args = parser.parse_args()
    engine = youthmode.Engine.from_path(HERE.parent / "configs").warm()
    requests = workload(12000)
    for request in requests:  # warm: every memo filled, every module imported
        engine.decide(request)
        floor.decide(request)
    engine_us = floor_us = float("inf")
    for _ in range(args.passes):
        engine_us = fastest(engine.decide, requests, engine_us)
        floor_us = fastest(floor.decide, requests, floor_us)
    found = {"engine_us": round(engine_us, 2), "floor_us": round(floor_us, 2),
             "engine_per_floor": round(engine_us / floor_us, 2)}  # fmt: skip
    print(json.dumps(found))


if __name__ == "__main__":
    main()
