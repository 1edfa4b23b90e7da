"""Behaviour reporting end to end: sessions derived from usage, the outbox in the ledger's
store (SQLite and Redis), the reporter sending to the mock NPPA over loopback, in virtual
time. Every acknowledged session reaches the mock exactly once and fresh; a 60 s outage
drains fresh afterwards; a 300 s outage dead-letters what went stale and counts it; the mock
never sees a rate limit exceeded."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import CONFIGS
from nppa_support import APP_ID, BIZ_ID, SECRET, VirtualClock, mock_server
from store_backends import open_backend

from youthmode.api import create_app
from youthmode.ledger import open_store
from youthmode.ledger.store import Store
from youthmode.nppa.config import Endpoints, NppaSettings
from youthmode.nppa.mock_http import MockServer
from youthmode.nppa.outbox import Outbox
from youthmode.nppa.service import NppaService
from youthmode.server.config import ServerConfig

GAP, DELAY, BEAT = 60, 5.0, 30  # session gap, reporter period, heartbeat (seconds)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def mock(clock: VirtualClock) -> Iterator[MockServer]:
    yield from mock_server(clock)


@pytest.fixture(params=["sqlite", "redis"])  # every backend: test_nppa_shards.py
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from open_backend(request, tmp_path, prefix="ym-nppa")


def service_for(store: Store, mock: MockServer, clock: VirtualClock) -> NppaService:
    settings = NppaSettings(
        APP_ID, BIZ_ID, SECRET, endpoints=Endpoints.for_base(mock.url),
        session_gap=GAP, batch_delay=DELAY,
    )  # fmt: skip
    return NppaService(settings, store, clock=clock, sleep=clock.sleep)


@dataclass
class Plan:
    """Subjects playing sessions of ``length`` s with ``pause`` s between, starts staggered;
    each sends a heartbeat interval every BEAT seconds while playing."""

    subjects: int
    length: int = 600
    pause: int = 900

    def playing(self, subject: int, t: int) -> bool:
        phase = (t + subject * 7) % (self.length + self.pause)
        return 0 < phase <= self.length


def run(
    service: NppaService,
    clock: VirtualClock,
    plan: Plan,
    seconds: int,
    outage: tuple[int, int] | None = None,
    mock: MockServer | None = None,
) -> Counter[str]:
    """Drive ``plan`` for ``seconds`` of virtual time, then let every session close; the
    sessions started per subject (each must reach the mock as one log-in and one log-out)."""
    start = int(clock().timestamp())
    sessions: Counter[str] = Counter()
    beating: set[int] = set()  # subjects that sent a heartbeat at the previous tick
    last_round = 0.0
    for tick in range(0, seconds + GAP * 3, BEAT):
        if outage is not None and mock is not None and tick == outage[0]:
            mock.mock.outage(outage[1])
        now = start + tick
        while clock().timestamp() < now:  # the reporter's own waits may have moved it on
            step = min(1.0, now - clock().timestamp())
            clock.advance(step)
            if clock().timestamp() - last_round >= DELAY:
                service.reporter.run_once()
                last_round = clock().timestamp()
        now_beating = set()
        for subject in range(plan.subjects):
            if tick < seconds and plan.playing(subject, tick):
                if subject not in beating:
                    sessions[f"s{subject}"] += 1
                now_beating.add(subject)
                service.on_usage(f"s{subject}", [(now - BEAT, now)])
        beating = now_beating
    return sessions


def check_exactly_once(mock: MockServer, sessions: Counter[str]) -> None:
    accepted = mock.mock.accepted
    pairs = Counter((r["si"], r["bt"]) for r in accepted)
    assert all(n == 1 for n in pairs.values()), "a record reached the mock twice"
    si_in = {si for si, bt in pairs if bt == 1}
    si_out = {si for si, bt in pairs if bt == 0}
    assert si_in == si_out and len(si_in) == sum(sessions.values())
    assert all(r["received"] - r["ot"] * 1000 < 180_000 for r in accepted)


def test_every_session_reaches_the_mock_once_and_fresh(
    store: Store, mock: MockServer, clock: VirtualClock
) -> None:
    service = service_for(store, mock, clock)
    sessions = run(service, clock, Plan(subjects=120), seconds=3600)
    check_exactly_once(mock, sessions)
    assert service.outbox.backlog() == 0 and service.outbox.dead_letters() == []
    assert not mock.mock.stats.over_rate and mock.mock.stats.peak_per_second["loginout"] <= 10
    guests = {r["ct"] for r in mock.mock.accepted}
    assert guests == {2} and all(len(r["di"]) == 32 for r in mock.mock.accepted)
    assert "subject" not in mock.mock.accepted[0]  # our own bookkeeping is never sent


def test_a_60_second_outage_drains_fresh_afterwards(
    store: Store, mock: MockServer, clock: VirtualClock
) -> None:
    service = service_for(store, mock, clock)
    sessions = run(service, clock, Plan(subjects=60), 2400, outage=(1200, 60), mock=mock)
    assert mock.mock.stats.during_outage > 0  # the reporter did try during it
    check_exactly_once(mock, sessions)
    assert service.outbox.dead_letters() == [] and service.outbox.backlog() == 0
    assert not mock.mock.stats.over_rate


def test_a_300_second_outage_dead_letters_the_stale_and_counts_them(
    store: Store, mock: MockServer, clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    service = service_for(store, mock, clock)
    sessions = run(service, clock, Plan(subjects=60), 2400, outage=(1200, 300), mock=mock)
    dead = service.outbox.dead_letters()
    assert dead and {d["reason"] for d in dead} == {"stale"}
    counted = service.metrics.dead.labels("stale")._value.get()
    assert counted == len(dead)
    alerts = [r for r in caplog.records if "dead-lettered" in r.getMessage()]
    assert len(alerts) == len(dead) and {r.levelno for r in alerts} == {logging.ERROR}
    assert SECRET not in caplog.text
    # Nothing silently lost: each record produced was either acknowledged once or buried.
    accepted = Counter((r["si"], r["bt"]) for r in mock.mock.accepted)
    buried = Counter((d["si"], d["bt"]) for d in dead)
    assert not set(accepted) & set(buried) and max(accepted.values()) == 1
    assert len(accepted) + len(buried) == 2 * sum(sessions.values())
    assert service.outbox.backlog() == 0 and not mock.mock.stats.over_rate


def test_usage_posted_to_the_api_is_reported(
    tmp_path: Path, mock: MockServer, clock: VirtualClock
) -> None:
    settings = NppaSettings(
        APP_ID,
        BIZ_ID,
        SECRET,
        endpoints=Endpoints.for_base(mock.url),
        session_gap=GAP,
        batch_delay=DELAY,
    )
    config = ServerConfig(policies=str(CONFIGS), state_dir=str(tmp_path), decision_log="off")
    app = create_app(config, clock=clock, nppa=settings)
    service: NppaService = app.extensions["youthmode_nppa"]
    client = app.test_client()
    now = clock()
    event = {
        "id": "e1",
        "action": "app.use",
        "start": (now.timestamp() - 30),
        "end": now.timestamp(),
    }
    body = {
        "subject_id": "kid-1",
        "events": [{**event, "start": _iso(now, -30), "end": _iso(now, 0)}],
    }
    assert client.post("/v1/usage", json=body).status_code == 200
    assert client.post("/v1/usage", json=body).status_code == 200  # a retry adds nothing
    assert [r["bt"] for _, r in service.outbox.waiting()] == [1]
    clock.advance(GAP + 1)
    service.reporter.run_once()
    assert [(r["bt"], r["ot"]) for r in mock.mock.accepted] == [
        (1, int(now.timestamp()) - 30),
        (0, int(now.timestamp())),
    ]


def _iso(at: object, offset: int) -> str:
    from datetime import datetime, timedelta

    assert isinstance(at, datetime)
    return (at + timedelta(seconds=offset)).isoformat()


def test_verified_subjects_report_with_their_pi(
    store: Store, mock: MockServer, clock: VirtualClock
) -> None:
    service = service_for(store, mock, clock)
    mock.mock.register("110101201205011234", "张小明")
    service.realname.submit("kid-1", "张小明", "110101201205011234")
    now = int(clock().timestamp())
    service.on_usage("kid-1", [(now - 30, now)])
    clock.advance(GAP + 1)
    service.reporter.run_once()
    assert {(r["ct"], len(r["pi"])) for r in mock.mock.accepted} == {(0, 38)}


def test_the_identity_is_read_when_a_session_starts_not_at_every_heartbeat(
    store: Store, mock: MockServer, clock: VirtualClock
) -> None:
    """A heartbeat that extends the open session needs no identity (the session keeps the one
    it started with): one store read per session, not one per heartbeat. A subject verified
    in the middle of a guest session reports that session as a guest, the next with its pi."""
    service = service_for(store, mock, clock)
    reads: list[str] = []
    read_identity = service.tracker.identity_of
    service.tracker.identity_of = lambda subject: reads.append(subject) or read_identity(subject)
    mock.mock.register("110101201205011234", "张小明")
    start = int(clock().timestamp())
    for beat in range(1, 11):  # 300 s of play: one session
        service.on_usage("kid-1", [(start + (beat - 1) * BEAT, start + beat * BEAT)])
        if beat == 5:
            service.realname.submit("kid-1", "张小明", "110101201205011234")
        clock.advance(BEAT)
        service.reporter.run_once()
    assert reads == ["kid-1"]
    clock.advance(GAP + BEAT)  # a break as long as the gap: the next use starts a new session
    later = int(clock().timestamp())
    service.on_usage("kid-1", [(later - BEAT, later)])
    assert reads == ["kid-1", "kid-1"]
    clock.advance(GAP + 1)
    service.reporter.run_once()
    by_session: dict[str, set[int]] = {}
    for record in mock.mock.accepted:
        by_session.setdefault(record["si"], set()).add(record["ct"])
    assert sorted(map(sorted, by_session.values())) == [[0], [2]]
    assert len(mock.mock.accepted) == 4  # a log-in and a log-out each


def test_records_refused_for_good_are_dead_lettered_with_their_code(
    store: Store, mock: MockServer, clock: VirtualClock
) -> None:
    service = service_for(store, mock, clock)
    now = int(clock().timestamp())
    bad = {"si": "a" * 32, "bt": 1, "ot": now - 5, "ct": 0, "pi": "short", "subject": "x"}
    good = {**bad, "si": "b" * 32, "ct": 2, "di": "d" * 32}
    del good["pi"]
    service.outbox.atomic(lambda tx: Outbox.add(tx, [bad, good]))
    done = service.reporter.run_once()
    assert (done.sent, done.acknowledged, done.dead, done.codes) == (2, 1, 1, {3010: 1})
    assert [d["reason"] for d in service.outbox.dead_letters()] == ["rejected:3010"]
    assert service.metrics.rejected.labels("3010")._value.get() == 1


def test_sustained_throughput_against_the_10_qps_x_128_ceiling(
    tmp_path: Path, mock: MockServer, clock: VirtualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'ledger.db'}")
    service = service_for(store, mock, clock)
    now = int(clock().timestamp())
    count = 12_800
    records = [
        {"si": f"{i:032x}", "bt": 1, "ot": now - 1, "ct": 2, "di": "d" * 32, "subject": f"s{i}"}
        for i in range(count)
    ]
    service.outbox.atomic(lambda tx: Outbox.add(tx, records))
    started, wall = clock().timestamp(), time.perf_counter()
    done = service.reporter.run_once()
    virtual = clock().timestamp() - started
    wall = time.perf_counter() - wall
    assert done.acknowledged == count and not mock.mock.stats.over_rate
    rate = count / virtual
    assert 1100 <= rate <= 1280  # 9.5 requests/s x 128: the ceiling less our 5 % margin
    with capsys.disabled():
        print(
            f"\nNPPA reporting: {count} records in {virtual:.1f} s virtual "
            f"({rate:.0f} records/s, ceiling 1280); {count / wall:.0f} records/s of our own "
            f"work (wall {wall:.2f} s)"
        )
    store.close()


def test_a_usage_write_whose_tracking_failed_is_retried_into_one_session(
    tmp_path: Path, mock: MockServer, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger took the usage but the outbox write failed: the caller gets a 503, retries
    with the same event ids, and the session is queued once."""
    from youthmode.ledger.store import StoreUnavailable

    settings = NppaSettings(APP_ID, BIZ_ID, SECRET, endpoints=Endpoints.for_base(mock.url),
                            session_gap=GAP, batch_delay=DELAY)  # fmt: skip
    config = ServerConfig(policies=str(CONFIGS), state_dir=str(tmp_path), decision_log="off")
    app = create_app(config, clock=clock, nppa=settings)
    service: NppaService = app.extensions["youthmode_nppa"]
    real_track = service.tracker.track
    calls = {"n": 0}

    def failing_once(subject: str, spans: list[tuple[int, int]]) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            raise StoreUnavailable("the outbox write failed")
        return real_track(subject, spans)

    monkeypatch.setattr(service.tracker, "track", failing_once)
    body = {"subject_id": "kid-1",
            "events": [{"id": "e1", "action": "app.use", "start": _iso(clock(), -30),
                        "end": _iso(clock(), 0)}]}  # fmt: skip
    client = app.test_client()
    assert client.post("/v1/usage", json=body).status_code == 503
    retried = client.post("/v1/usage", json=body)
    assert retried.status_code == 200
    assert retried.get_json()["results"][0]["status"] == "duplicate"
    assert [r["bt"] for _, r in service.outbox.waiting()] == [1]


def test_a_late_retry_of_a_closed_session_queues_nothing(
    store: Store, mock: MockServer, clock: VirtualClock
) -> None:
    service = service_for(store, mock, clock)
    now = int(clock().timestamp())
    service.on_usage("kid-1", [(now - 30, now)])
    clock.advance(GAP + 1)
    service.reporter.run_once()  # closes and sends the session
    service.on_usage("kid-1", [(now - 30, now)])  # the same interval again, after the close
    assert service.outbox.backlog() == 0 and len(mock.mock.accepted) == 2
