"""Instructions per ledger-backed decision, counted by callgrind (load-independent).

The same seeding and requests as ledger_decisions.py (200 subjects with recorded use and a
guardian limit); one run with no timed decisions and one with ``--decisions``, each under
`valgrind --tool=callgrind`; the difference divided by the number of decisions is what one
`Ledger.decide` costs. The Redis run uses 127.0.0.1:6379 with a key prefix of its own, deleted
afterwards. Needs valgrind; takes a few minutes per backend.

    PYTHONPATH=. .venv/bin/python benchmarks/ledger_instructions.py [--backend sqlite redis]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path

import callgrind

HERE = Path(__file__).resolve().parent
WARM_UP = 200  # decisions before the counted ones: caches and lazy imports filled


def run(backend: str, decisions: int, generated: int) -> None:
    """Seed a ledger on ``backend``, warm up, then make ``decisions`` decisions. ``generated``
    requests are made in every run, counted or not: making one costs about 109,000
    instructions, which a run generating only the requests it decides on counted as part of
    each decision (figures before 2026-12-02's sixth round)."""
    sys.path.insert(0, str(HERE))
    from ledger_decisions import NOW, ledger_requests, seed

    import youthmode
    from youthmode.ledger import Ledger, open_store

    engine = youthmode.Engine.from_path(HERE.parent / "configs", clock=lambda: NOW).warm()
    requests = ledger_requests(max(generated, WARM_UP), 200)
    with tempfile.TemporaryDirectory() as folder:
        url = (
            f"sqlite:///{folder}/ledger.db"
            if backend == "sqlite"
            else f"redis://127.0.0.1:6379/0?prefix=ym-instr-{uuid.uuid4().hex}:"
        )
        store = open_store(url)
        try:
            ledger = Ledger(engine, store, clock=lambda: NOW)
            seed(ledger, 200)
            for request in requests[:WARM_UP]:
                ledger.decide(request)
            for request in requests[:decisions]:
                ledger.decide(request)
        finally:
            if backend == "redis":
                store.delete_all()  # type: ignore[attr-defined]
            store.close()


def counted(backend: str, decisions: int, generated: int) -> int:
    """Instructions of a whole run of ``run(backend, decisions, generated)`` under callgrind."""
    return callgrind.instructions(__file__, "--run", backend, str(decisions), str(generated))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", nargs="+", default=["sqlite", "redis"])
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--run", nargs=3, help=argparse.SUPPRESS)  # the run under callgrind
    args = parser.parse_args()
    if args.run:
        run(args.run[0], int(args.run[1]), int(args.run[2]))
        return
    n = args.decisions
    for backend in args.backend:
        per = (counted(backend, n, n) - counted(backend, 0, n)) / n
        print(f"{backend}: {per:,.0f} instructions per decision")


if __name__ == "__main__":
    main()
