"""Fault suite, every store backend: two API processes, each with its own Ledger and its own
connections to one store, reserve against one monthly cap at once. Together they can never
hold more than the cap (CONTRACT section 4, `POST /v1/purchases/reserve`)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIGS, ROOT
from store_backends import BACKENDS, open_backend

import youthmode
from youthmode.ledger import Ledger
from youthmode.ledger.store import Store

NOW = "2026-11-27T12:30:00Z"  # Friday 20:30 in Shanghai: inside the game window
ORDERS_EACH = 12  # per process; 10.00 each, with 150.00 of 200.00 spent: 5 fit in all
# One API process: its own store connection, threads reserving at once once `go` appears.
WORKER = f"""
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
import youthmode
from youthmode.ledger import Ledger, open_store

url, configs, name, folder, count = sys.argv[1:6]
folder = Path(folder)
fixed = datetime.fromisoformat("{NOW}".replace("Z", "+00:00"))
ledger = Ledger(youthmode.Engine.from_path(configs), open_store(url), clock=lambda: fixed)
ledger.totals("kid")  # connected and warm before the start
(folder / f"{{name}}.ready").touch()
deadline = time.monotonic() + 30
while not (folder / "go").exists() and time.monotonic() < deadline:
    time.sleep(0.001)  # waiting for the other process, not for time to pass

def reserve(i):
    decision, held = ledger.reserve({{
        "subject_id": "kid", "order_id": f"{{name}}-{{i}}", "action": "game.purchase",
        "amount": "10.00", "currency": "CNY", "subject": {{"age": 12, "verified": True}},
    }})
    return decision.allowed, [r.code for r in decision.reasons]

with ThreadPoolExecutor(max_workers=4) as pool:
    print(json.dumps(list(pool.map(reserve, range(int(count))))))
"""


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh store on each backend (store_backends.py)."""
    yield from open_backend(request, tmp_path, "ym-fault")


def start_worker(url: str, name: str, folder: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-c", WORKER, url, str(CONFIGS), name, str(folder)]
    return subprocess.Popen(
        [*command, str(ORDERS_EACH)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def test_two_api_processes_never_hold_more_than_the_cap(
    engine: youthmode.Engine, store: Store, tmp_path: Path, freezer: Any
) -> None:
    freezer.move_to(NOW)
    ledger = Ledger(engine, store)
    paid = {"subject_id": "kid", "id": "p0", "action": "game.purchase", "amount": "150.00"}
    assert ledger.record_purchase(paid)["status"] == "recorded"
    workers = [start_worker(store.url, name, tmp_path) for name in ("a", "b")]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"{n}.ready").exists() for n in ("a", "b")):
        assert all(w.poll() is None for w in workers), [w.communicate() for w in workers]
        assert time.monotonic() < deadline, "the API processes did not start"
        time.sleep(0.01)  # waiting for the other processes, not for time to pass
    (tmp_path / "go").touch()
    answers: list[Any] = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        answers += json.loads(out)
    allowed = [a for a in answers if a[0]]
    assert len(allowed) == 5, answers
    assert all(codes == ["monthly_cap"] for ok, codes in answers if not ok)
    spend = ledger.totals("kid")["spend"]["game_topup"]
    assert Decimal(spend["month"]) + Decimal(spend["held_month"]) == Decimal("200.00")
