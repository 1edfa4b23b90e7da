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


apps_spans = st.lists(
    st.tuples(st.integers(0, 12 * 3600), st.integers(1, 3 * 3600), st.sampled_from("abc")),
    min_size=1,
    max_size=20,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spans=apps_spans, batch=st.integers(1, 5), data=st.randoms())
def test_each_app_is_its_own_union_and_the_week_holds_the_day(
    engine: youthmode.Engine, spans: list[tuple[int, int, str]], batch: int, data: object
) -> None:
    """Per app, the union of that app's events; the total, the union of all; on a Friday with
    no earlier use this week, the week is the day; a decision for an app reads its union."""
    events = [
        {
            "id": f"e{i}",
            "action": "app.use",
            "app": f"app.{app}",
            "start": (BASE + timedelta(seconds=s)).isoformat(),
            "end": (BASE + timedelta(seconds=s + d)).isoformat(),
        }
        for i, (s, d, app) in enumerate(spans)
    ]
    data.shuffle(events)  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{folder}/ledger.db")
        ledger = Ledger(engine, store, clock=lambda: NOW)
        for i in range(0, len(events), batch):
            ledger.record_usage("kid", events[i : i + batch])
        totals = ledger.totals("kid")
        request = {"subject": {"id": "kid", "age": 12}, "action": "app.use",
                   "resource": {"app": "app.a"}}  # fmt: skip
        prepared, _ = ledger.prepare(engine.parse(request))
        store.close()
    expected = {
        f"app.{app}": union_seconds([(s, s + d) for s, d, a in spans if a == app]) for app in "abc"
    }
    assert totals["apps"] == {k: v for k, v in expected.items() if v}
    assert totals["today_seconds"] == union_seconds([(s, s + d) for s, d, _ in spans])
    assert totals["week_seconds"] == totals["today_seconds"]
    assert prepared.usage is not None and prepared.usage.app_today_seconds == expected["app.a"]
