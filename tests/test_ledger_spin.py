"""A Redis decision polls for its reply for a moment before it blocks (ledger/spin.py).

The polling may change only when the reading thread waits, never what it reads: a reply that
is late, or comes in pieces, is read whole by redis-py's parser as before. Each thread times
its reads both ways and waits the cheaper; the budget is set, checked, by `?spin_us=` (off by
default).
"""

from __future__ import annotations

import select
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from proxy_support import TcpProxy, close_all, run

import youthmode
from youthmode.ledger import Ledger, open_store, spin
from youthmode.ledger.redis_store import RedisStore
from youthmode.ledger.spin import SpinWait

NOW = "2026-11-27T12:30:00Z"  # Friday 20:30 in Shanghai


def real_seconds() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    reader, writer = socket.socketpair()
    yield reader, writer
    reader.close()
    writer.close()


@pytest.fixture
def polls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times `select.poll().poll` was called (one entry a call)."""
    calls: list[int] = []
    real = select.poll

    class Counting:
        def __init__(self) -> None:
            self.inner = real()

        def register(self, fd: Any, mask: int) -> None:
            self.inner.register(fd, mask)

        def poll(self, timeout: int) -> list[tuple[int, int]]:
            calls.append(1)
            return self.inner.poll(timeout)

    monkeypatch.setattr(select, "poll", Counting)
    return calls


def test_a_reply_already_there_is_read_whole(pair: tuple[socket.socket, socket.socket]) -> None:
    reader, writer = pair
    writer.sendall(b"+PONG\r\n")
    assert SpinWait(0.005).wait(reader, lambda: reader.recv(100)) == b"+PONG\r\n"


def test_a_late_reply_is_polled_for_the_budget_then_read_blocking(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    reader, writer = pair

    def read() -> bytes:
        writer.sendall(b"+OK\r\n")  # the reply comes once the polling has given up
        return reader.recv(100)

    started = real_seconds()
    assert SpinWait(0.002).wait(reader, read) == b"+OK\r\n"
    assert real_seconds() - started >= 0.002


def ways_taken(
    wait: SpinWait,
    pair: tuple[socket.socket, socket.socket],
    polls: list[int],
    clock: FakeClock,
    costs: dict[bool, tuple[float, float]],
    reads: int,
) -> list[bool]:
    """Whether each of ``reads`` waits polled, when a polled (True) or blocked (False) wait
    takes ``costs[polled]``: (seconds of time, seconds of CPU)."""
    reader, writer = pair
    before = [0]

    def read() -> bytes:
        took, cpu = costs[len(polls) > before[0]]
        clock.at += took
        clock.cpu += cpu
        return reader.recv(100)

    ways = []
    for _ in range(reads):
        writer.sendall(b"+OK\r\n")
        before[0] = len(polls)
        wait.wait(reader, read)
        ways.append(len(polls) > before[0])
    return ways


def test_a_thread_times_both_ways_then_waits_the_cheaper(
    pair: tuple[socket.socket, socket.socket], polls: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(monkeypatch)
    wait = SpinWait(0.0001)
    idle_vm = {True: (30e-6, 0.0), False: (90e-6, 0.0)}
    ways = ways_taken(wait, pair, polls, clock, idle_vm, 2 * spin.EXPLORE)
    assert ways[:2] == [True, False]  # first each way once
    # then polling, the cheaper, but for every EXPLORE-th read
    blocked = [i + 1 for i, polled in enumerate(ways) if not polled]
    assert blocked == [2, spin.EXPLORE, 2 * spin.EXPLORE]
    assert wait.local.polled == pytest.approx(30e-6, rel=0.1)
    assert wait.local.blocked == pytest.approx(90e-6, rel=0.1)


def test_the_cpu_a_polled_wait_holds_is_part_of_its_cost(
    pair: tuple[socket.socket, socket.socket], polls: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy machine: blocking is hardly slower, and polling holds the CPU all along."""
    clock = FakeClock(monkeypatch)
    wait = SpinWait(0.0001)
    busy = {True: (30e-6, 30e-6), False: (45e-6, 3e-6)}
    ways = ways_taken(wait, pair, polls, clock, busy, 2 * spin.EXPLORE)
    polled = [i + 1 for i, way in enumerate(ways) if way]
    assert polled == [1, spin.EXPLORE, 2 * spin.EXPLORE]  # the first, then only to explore
    assert wait.local.polled == pytest.approx(60e-6, rel=0.1)
    assert wait.local.blocked == pytest.approx(48e-6, rel=0.1)


def test_blocking_is_kept_when_it_is_the_faster(
    pair: tuple[socket.socket, socket.socket], polls: list[int]
) -> None:
    reader, writer = pair
    wait = SpinWait(0.0001)
    wait.local.__dict__.update(polled=300e-6, blocked=40e-6, count=0)
    for _ in range(spin.EXPLORE - 1):
        writer.sendall(b"+OK\r\n")
        wait.wait(reader, lambda: reader.recv(100))
    assert polls == []  # a busy machine: no CPU spent polling
    writer.sendall(b"+OK\r\n")
    wait.wait(reader, lambda: reader.recv(100))
    assert len(polls) >= 1  # the EXPLORE-th read tries polling again


def test_each_thread_keeps_its_own_figures(pair: tuple[socket.socket, socket.socket]) -> None:
    reader, writer = pair
    wait = SpinWait(0.0001)
    wait.local.__dict__.update(polled=300e-6, blocked=40e-6, count=5)

    def other() -> None:
        writer.sendall(b"+OK\r\n")
        wait.wait(reader, lambda: reader.recv(100))
        seen.append(dict(wait.local.__dict__))

    seen: list[dict[str, Any]] = []
    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert seen[0]["count"] == 1 and set(seen[0]) == {"count", "polled"}  # its first: polled
    assert wait.local.__dict__ == {"polled": 300e-6, "blocked": 40e-6, "count": 5}


def test_a_failed_read_raises_and_is_not_timed(pair: tuple[socket.socket, socket.socket]) -> None:
    reader, _ = pair
    wait = SpinWait(0.0001)

    def fails() -> bytes:
        raise TimeoutError("no reply")

    with pytest.raises(TimeoutError, match="no reply"):
        wait.wait(reader, fails)
    assert wait.local.__dict__.get("polled", 0.0) == 0.0


def test_a_budget_of_nothing_never_polls(
    pair: tuple[socket.socket, socket.socket], polls: list[int]
) -> None:
    reader, writer = pair
    writer.sendall(b"+OK\r\n")
    assert SpinWait(0).wait(reader, lambda: reader.recv(100)) == b"+OK\r\n"
    assert polls == []


class FakeClock:
    """`spin._now` and `spin._cpu` for a test: they move when told (`at`, `cpu`), and the time
    by a microsecond a look too, so that polling for a budget ends."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.at, self.cpu = 1000.0, 0.0
        monkeypatch.setattr(spin, "_now", self)
        monkeypatch.setattr(spin, "_cpu", lambda: self.cpu)

    def __call__(self) -> float:
        self.at += 1e-6
        return self.at


@pytest.mark.parametrize("budget", [-1e-6, float("nan"), float("inf"), 0.0101])
def test_a_budget_out_of_range_is_refused(budget: float) -> None:
    with pytest.raises(ValueError, match="polling budget"):
        SpinWait(budget)


@pytest.mark.parametrize("text", ["abc", "-1", "nan", "inf", "1E+999999999", "10001"])
def test_a_bad_spin_us_is_a_clear_error(text: str) -> None:
    with pytest.raises(ValueError, match=r"\?spin_us= must be microseconds from 0 to 10000"):
        open_store(f"redis://127.0.0.1:1/0?spin_us={text}")


@pytest.mark.parametrize(("text", "budget"), [("0", 0.0), ("250", 0.00025), ("1e3", 0.001)])
def test_spin_us_sets_the_budget(text: str, budget: float) -> None:
    store = open_store(f"redis://127.0.0.1:1/0?spin_us={text}")
    assert isinstance(store, RedisStore)
    assert store.reads.spin.budget == pytest.approx(budget)
    store.close()


def test_by_default_a_decision_does_not_poll(
    redis_url: str, engine: youthmode.Engine, polls: list[int], freezer: Any
) -> None:
    freezer.move_to(NOW)  # Friday 20:30 in Shanghai: before the curfew
    store = open_store(f"{redis_url}?prefix=ym-spin-{uuid.uuid4().hex}:")
    assert isinstance(store, RedisStore) and store.reads.spin.budget == 0
    try:
        kid = {"subject": {"id": "kid", "age": 12, "verified": True}, "action": "app.use"}
        assert Ledger(engine, store).decide(kid).allowed
        assert polls == []
    finally:
        store.delete_all()
        store.close()


class SlowProxy(TcpProxy):
    """A TCP proxy in front of Redis that holds each reply back (`delay`), or sends its first
    byte at once and the rest later (`split`): a reply slower than any budget."""

    def __init__(self, upstream: str, mode: str, delay: float = 0.01) -> None:
        self.mode, self.delay = mode, delay
        super().__init__(int(upstream.removeprefix("redis://").split("/")[0].split(":")[1]))

    def joined(self, client: socket.socket, upstream: socket.socket) -> None:
        run(self._pipe, client, upstream, False)
        run(self._pipe, upstream, client, True)

    def _pipe(self, source: socket.socket, sink: socket.socket, replies: bool) -> None:
        try:
            while data := source.recv(65536):
                if not replies:
                    sink.sendall(data)
                elif self.mode == "split":
                    sink.sendall(data[:1])
                    time.sleep(self.delay)  # the fault: the rest of the reply is late
                    sink.sendall(data[1:])
                else:
                    time.sleep(self.delay)  # the fault: a reply slower than the budget
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            close_all(source, sink)


@pytest.mark.parametrize("mode", ["delay", "split"])
def test_slow_or_broken_replies_are_read_whole(
    redis_url: str, engine: youthmode.Engine, freezer: Any, mode: str
) -> None:
    freezer.move_to(NOW)
    proxy = SlowProxy(redis_url, mode)
    prefix = f"ym-spin-{uuid.uuid4().hex}:"
    store = RedisStore(
        f"redis://127.0.0.1:{proxy.port}/0?prefix={prefix}&spin_us=100", read_deadline=1.0
    )
    ledger = Ledger(engine, store)
    try:
        for minutes, subject in ((20, "a"), (35, "b")):
            use = {"id": "u", "action": "app.use", "start": "2026-11-27T19:00:00+08:00",
                   "end": f"2026-11-27T19:{minutes}:00+08:00"}  # fmt: skip
            ledger.record_usage(subject, [use])
            ledger.update_guardian(subject, {"daily_limit": "30m"}, actor="parent")
        seen = []
        for i in range(10):
            subject = "ab"[i % 2]
            decision = ledger.decide(
                {"subject": {"id": subject, "age": 12, "verified": True}, "action": "app.use"}
            )
            seen.append((decision.allowed, decision.facts.today_seconds))
        assert seen == [(True, 1200), (False, 2100)] * 5
        figures = store.reads.spin.local
        assert figures.polled > 0.005 and figures.blocked > 0.005  # timed both ways
    finally:
        store.delete_all()
        store.close()
        proxy.close()
