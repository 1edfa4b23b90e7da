"""Instructions a decision in a batch costs through the Flask app (`POST /v1/decisions/batch`,
100 requests a batch, the decision log off as `make bench`'s HTTP run has it), counted by
callgrind, so the figure does not move with the machine's load: a run of N batches minus a
run of none, divided by the decisions. What the batch target (50,000 decisions/s on two
workers) is made of, without the server and the load generator. Needs valgrind.

    .venv/bin/python benchmarks/batch_instructions.py [--batches 20]
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
BATCH = 100


def run(count: int, made: int) -> None:
    """In the child: ``count`` batches of the workload through the app's test client (of
    ``made`` batches made in both runs, so that making them is not counted)."""
    sys.path.insert(0, str(HERE))
    os.environ.update(
        {
            "YOUTHMODE_DECISION_LOG": "off",
            "YOUTHMODE_POLICIES": str(HERE.parent / "configs"),
            "YOUTHMODE_STATE_DIR": tempfile.mkdtemp(),
            "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(),
        }
    )
    from workload import workload

    from youthmode.api import create_app

    client = create_app().test_client()
    requests = workload(max(made, 2) * BATCH)
    bodies = [
        json.dumps({"requests": requests[i : i + BATCH]}).encode()
        for i in range(0, len(requests), BATCH)
    ]
    for body in bodies:  # warm: every module imported, every day and schedule memoised
        client.post("/v1/decisions/batch", data=body, content_type="application/json")
    for body in bodies[:count]:
        answer = client.post("/v1/decisions/batch", data=body, content_type="application/json")
        assert answer.status_code == 200, answer.data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--child", type=int, nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        run(*args.child)
        return
    made = str(args.batches)
    spent = callgrind.instructions(__file__, "--child", made, made)
    spent -= callgrind.instructions(__file__, "--child", "0", made)
    print(json.dumps({"instructions_per_decision": round(spent / (args.batches * BATCH))}))


if __name__ == "__main__":
    main()
