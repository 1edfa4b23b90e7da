"""A ledger-backed decision keeps its guardian merge by what the merge is made of (ledger/plain.py):
the stored text of the subject's settings and of the day's grants, as this decision read them,
and the caller's guardian facts. It is not a cache of the store: whatever another process
writes is different text, read by the next decision, so no cap a write tightens can be passed.

Here another process (and, over random histories, another ledger on the same store) tightens
and loosens a guardian's limit, grants time and records use between the decisions of one
ledger whose merges are kept; every decision must be the model route's (which keeps nothing),
and a cap reached must deny.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_backends import BACKENDS, backend_url

import youthmode
from youthmode.ledger import Ledger, deciding, open_store, plain
from youthmode.model import Decision

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
NOW = datetime(2026, 11, 25, 13, 17, tzinfo=UTC)  # a Wednesday, 21:17 in Shanghai
ASKED = {"subject": {"id": "kid", "age": 12}, "action": "app.use"}

# The other process: one write a line from stdin, answered "done" once committed.
WRITER = r"""
import json, sys
from datetime import datetime
import youthmode
from youthmode.ledger import Ledger, open_store

now = datetime.fromisoformat(sys.argv[2])
store = open_store(sys.argv[1])
ledger = Ledger(youthmode.Engine.from_path(sys.argv[3], clock=lambda: now), store,
                clock=lambda: now)
for line in sys.stdin:
    step = json.loads(line)
    if step["do"] == "guardian":
        ledger.update_guardian(step["subject"], step["changes"], "mum")
    elif step["do"] == "grant":
        ledger.grant_time(step["subject"], step["amount"], "mum")
    else:
        ledger.record_usage(step["subject"], [step["event"]])
    print("done", flush=True)
store.close()
"""


class Writer:
    """A process of its own writing to the store at ``url``, one step at a time."""

    def __init__(self, url: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", WRITER, url, NOW.isoformat(), str(CONFIGS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def write(self, **step: Any) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"subject": "kid", **step}) + "\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline() == "done\n"

    def close(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        self.process.stdout.close()
        assert self.process.wait(timeout=60) == 0


def use(start: str, end: str, n: int = 0) -> dict[str, Any]:
    """One use of the app on 2026-11-25 (Shanghai), from ``start`` to ``end``."""
    day = "2026-11-25T{}:00+08:00"
    return {"id": f"u-{start}-{n}", "action": "app.use", "start": day.format(start),
            "end": day.format(end)}  # fmt: skip


def model_route(engine: youthmode.Engine, ledger: Ledger, asked: dict[str, Any]) -> str:
    """The decision of the model route, which keeps no merge, as JSON without its id."""
    decided = deciding.decide(engine, ledger, engine.parse(asked)).decision
    return decided.model_dump_json(exclude={"decision_id"})


def shown(decision: Decision) -> str:
    return decision.model_dump_json(exclude={"decision_id"})


@pytest.fixture(scope="module")
def clocked_engine() -> youthmode.Engine:
    return youthmode.Engine.from_path(CONFIGS, clock=lambda: NOW).warm()


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    found = backend_url(request, tmp_path, prefix="ym-merges")
    yield found
    if request.param != "sqlite":
        store = open_store(found)
        store.delete_all()  # type: ignore[attr-defined]
        store.close()


def test_another_process_s_writes_reach_the_next_decision(
    clocked_engine: youthmode.Engine, url: str
) -> None:
    """Each write of the other process changes the very next decision of this one, whose
    merges are kept: a limit tightened to the use so far denies, a grant allows again."""
    engine = clocked_engine
    store = open_store(url)
    writer = Writer(url)
    ledger = Ledger(engine, store, clock=lambda: NOW)
    remaining: list[int | None] = []
    try:
        writer.write(do="use", event=use("20:00", "20:40"))
        for step in (
            {"do": "guardian", "changes": {"daily_limit": "60m"}},
            {"do": "guardian", "changes": {"daily_limit": "45m"}},
            {"do": "guardian", "changes": {"daily_limit": "40m"}},  # the cap: 40 minutes used
            {"do": "grant", "amount": "10m"},
            {"do": "guardian", "changes": {"daily_limit": "45m"}},
            {"do": "use", "event": use("20:40", "20:55")},  # the cap again: 55 of 45 + 10
        ):
            writer.write(**step)
            for _ in range(2):  # the second decision finds the merge kept
                decided = ledger.decide(ASKED)
                assert shown(decided) == model_route(engine, ledger, ASKED)
            remaining.append(decided.remaining_seconds if decided.allowed else None)
    finally:
        writer.close()
        store.close()
    assert remaining == [1200, 300, None, 600, 900, None]


def test_subjects_with_the_same_settings_keep_their_own_use(
    clocked_engine: youthmode.Engine, tmp_path: Path
) -> None:
    """Two subjects' settings of the same text share one merge; their use is each their own."""
    store = open_store(f"sqlite:///{tmp_path}/ledger.db")
    ledger = Ledger(clocked_engine, store, clock=lambda: NOW)
    for subject, minutes in (("kid", 10), ("kid-2", 40)):
        ledger.update_guardian(subject, {"daily_limit": "45m"}, "mum")
        event = use("20:00", f"20:{minutes}")
        ledger.record_usage(subject, [event])
    first = ledger.decide(ASKED)
    second = ledger.decide({**ASKED, "subject": {"id": "kid-2", "age": 12}})
    store.close()
    assert (first.remaining_seconds, second.remaining_seconds) == (2100, 300)


steps = st.lists(
    st.one_of(
        st.tuples(st.just("guardian"), st.sampled_from([20, 30, 45, 60, 120])),
        st.tuples(st.just("grant"), st.sampled_from([5, 15])),
        st.tuples(st.just("use"), st.integers(1, 20)),
        st.tuples(st.just("decide"), st.sampled_from([None, 1500, 3000])),
    ),
    min_size=1,
    max_size=12,
)


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(history=steps)
def test_a_kept_merge_never_passes_a_cap_another_ledger_wrote(
    clocked_engine: youthmode.Engine,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    backend: str,
    history: list[tuple[str, int | None]],
) -> None:
    """Another ledger on the same store (its own connections, as another worker's) writes
    limits, grants and use; each decision of this ledger, whose merges are kept across every
    example, is the model route's, and denies once the day's use reaches the strictest limit
    plus the time granted."""
    engine = clocked_engine
    url = (
        f"sqlite:///{tmp_path_factory.mktemp('merges')}/ledger.db"
        if backend == "sqlite"
        else f"{request.getfixturevalue('redis_url')}?prefix=ym-merges-{uuid.uuid4().hex}:"
    )
    mine, theirs = open_store(url), open_store(url)
    ledger, other = (
        Ledger(engine, mine, clock=lambda: NOW),
        Ledger(engine, theirs, clock=lambda: NOW),
    )
    used, granted = 0, 0
    limit: int | None = None
    try:
        for n, (kind, value) in enumerate(history):
            minutes = value or 0
            if kind == "guardian":
                other.update_guardian("kid", {"daily_limit": f"{minutes}m"}, "mum")
                limit = minutes * 60
            elif kind == "grant":
                other.grant_time("kid", f"{minutes}m", "mum")
                granted += minutes * 60
            elif kind == "use":  # back to back from 20:00, up to the decision's 21:17
                if used + minutes * 60 > 77 * 60:
                    continue  # no use after the decision's instant
                start = NOW - timedelta(hours=1, minutes=17) + timedelta(seconds=used)
                end = start + timedelta(minutes=minutes)
                event = {"id": f"e-{n}", "action": "app.use", "start": start.isoformat(),
                         "end": end.isoformat()}  # fmt: skip
                other.record_usage("kid", [event])
                used += minutes * 60
            else:
                asked: dict[str, Any] = dict(ASKED)
                if value is not None:
                    asked["guardian"] = {"daily_limit_seconds": value}
                decided = ledger.decide(asked)
                assert shown(decided) == model_route(engine, ledger, asked)
                caps = [c for c in (limit, value) if c is not None]
                if caps and used >= min(caps) + granted:
                    assert not decided.allowed
    finally:
        if backend == "redis":
            mine.delete_all()  # type: ignore[attr-defined]
        mine.close()
        theirs.close()
    assert plain._MERGES  # the merges were kept
