"""Instructions `Engine.decide` costs per decision on the `make bench` workload (the 12,000
seeded cn-baseline request dicts of benchmarks/workload.py), counted by callgrind so the figure
does not move with the machine's load (docs/performance.md, "decide, fifth round"): a run of
N decisions minus a run of none, divided by N. Both runs first decide the whole workload once,
as `make bench` does before it times anything, so every memo is filled. Needs valgrind.

    PYTHONPATH=. .venv/bin/python benchmarks/decide_instructions.py [--decisions 12000]
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import callgrind

HERE = Path(__file__).resolve().parent


def run(count: int, requests: int) -> None:
    """In the child: warm on the whole workload, then ``count`` decisions of it."""
    sys.path.insert(0, str(HERE))
    from workload import workload

    import youthmode

    engine = youthmode.Engine.from_path(HERE.parent / "configs").warm()
    reqs = workload(requests)
    for req in reqs:  # warm: every module imported, every memo filled
        engine.decide(req)
    for i in range(count):
        engine.decide(reqs[i % requests])


def instructions(count: int, requests: int) -> int:
    return callgrind.instructions(__file__, "--child", str(count), str(requests))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--decisions", type=int, default=12_000)
    parser.add_argument("--requests", type=int, default=12_000, help="workload size")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run(int(args.child[0]), int(args.child[1]))
        return
    # The two runs are independent: side by side, they take half the time on 2 cores.
    with ThreadPoolExecutor(2) as pool:
        full, empty = pool.map(instructions, (args.decisions, 0), (args.requests,) * 2)
    spent = full - empty
    print(json.dumps({"decisions": args.decisions, "per_decision": round(spent / args.decisions)}))


if __name__ == "__main__":
    main()
