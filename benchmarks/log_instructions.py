"""Instructions a single decision costs through the Flask app, with the decision log off and
writing to a file (docs/performance.md, "The decision log, fourth round"). Counted by callgrind,
so the figure does not move with the machine's load: a run of N decisions minus a run of none,
divided by N, for each setting. Needs valgrind.

    .venv/bin/python benchmarks/log_instructions.py [--decisions 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import callgrind

HERE = Path(__file__).resolve().parent


def run(count: int, target: str) -> None:
    """In the child: ``count`` decisions of the workload through the app's test client."""
    sys.path.insert(0, str(HERE))
    os.environ.update(
        {
            "YOUTHMODE_DECISION_LOG": target,
            "YOUTHMODE_LOG_KEY": "bench",
            "YOUTHMODE_POLICIES": str(HERE.parent / "configs"),
            "YOUTHMODE_STATE_DIR": tempfile.mkdtemp(),
            "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(),
        }
    )
    from workload import workload

    from youthmode.api import create_app

    client = create_app().test_client()
    bodies = [json.dumps(r).encode() for r in workload(max(count, 50))]
    for body in bodies[:50]:  # warm: every module imported, every cache filled
        client.post("/v1/decisions", data=body, content_type="application/json")
    for body in bodies[:count]:
        answer = client.post("/v1/decisions", data=body, content_type="application/json")
        assert answer.status_code == 200, answer.data


def instructions(count: int, target: str) -> int:
    return callgrind.instructions(__file__, "--child", str(count), target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run(int(args.child[0]), args.child[1])
        return
    with tempfile.TemporaryDirectory() as folder:
        log_file = str(Path(folder) / "decisions.jsonl")
        per = {}
        for label, target in (("log off", "off"), ("log to a file", log_file)):
            spent = instructions(args.decisions, target) - instructions(0, target)
            per[label] = round(spent / args.decisions)
    per["the log's own"] = per["log to a file"] - per["log off"]
    print(json.dumps(per))


if __name__ == "__main__":
    main()
