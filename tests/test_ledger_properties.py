"""Ledger invariants with hypothesis: however events arrive, the day's total is their union."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import youthmode
from youthmode.ledger import Ledger, open_store

SHANGHAI = ZoneInfo("Asia/Shanghai")
BASE = datetime(2026, 11, 27, 8, 0, tzinfo=SHANGHAI)
NOW = datetime(2026, 11, 27, 23, 0, tzinfo=SHANGHAI)
intervals = st.lists(
    st.tuples(st.integers(0, 12 * 3600), st.integers(1, 3 * 3600)), min_size=1, max_size=25
)


def union_seconds(spans: list[tuple[int, int]]) -> int:
    """Seconds covered by the spans: sort, sweep, add up each merged run."""
    covered = 0
    current_start = current_end = None
    for start, end in sorted(spans):
        if current_end is None or start > current_end:
            if current_end is not None:
                covered += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        covered += current_end - current_start
    return covered


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spans=intervals, batch=st.integers(1, 7), repeat=st.booleans(), data=st.randoms())
def test_total_is_the_union_however_events_arrive(
    engine: youthmode.Engine, spans: list[tuple[int, int]], batch: int, repeat: bool, data: object
) -> None:
    events = [
        {
            "id": f"e{i}",
            "action": "app.use",
            "start": (BASE + timedelta(seconds=s)).isoformat(),
            "end": (BASE + timedelta(seconds=s + d)).isoformat(),
        }
        for i, (s, d) in enumerate(spans)
    ]
    order = list(events) + (list(events) if repeat else [])
    data.shuffle(order)  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{folder}/ledger.db")
        ledger = Ledger(engine, store, clock=lambda: NOW)
        for i in range(0, len(order), batch):
            ledger.record_usage("kid", order[i : i + batch])
        today = ledger.totals("kid")["today_seconds"]
        store.close()
    # Everything ends before 23:00 local on the same day (08:00 + at most 15 h).
    assert today == union_seconds([(s, s + d) for s, d in spans])
