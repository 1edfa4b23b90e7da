"""A Redis decision polls for its reply for a moment before it blocks (ledger/spin.py).

The polling may change only when the reading thread waits, never what it reads: a reply that
is late, or comes in pieces, is read whole by redis-py's parser as before. A thread whose
replies keep coming later than its budget stops polling for a while, and the budget is set,
checked, by `?spin_us=`.
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


def test_a_reply_already_there_is_seen_at_once(pair: tuple[socket.socket, socket.socket]) -> None:
    reader, writer = pair
    writer.sendall(b"+PONG\r\n")
    wait = SpinWait(0.005)
    assert wait.ready(reader)
    assert reader.recv(100) == b"+PONG\r\n"  # polling reads nothing: the parser gets it all


def test_a_late_reply_is_waited_for_the_budget_then_left_to_the_caller(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    reader, _ = pair
    wait = SpinWait(0.002)
    started = real_seconds()
    assert not wait.ready(reader)
    assert real_seconds() - started >= 0.002
    assert wait.local.misses == 1


def test_a_thread_whose_replies_are_late_stops_polling_then_tries_again(
    pair: tuple[socket.socket, socket.socket], polls: list[int]
) -> None:
    reader, writer = pair
    wait = SpinWait(0.0002)
    for _ in range(spin.MISSES):
        assert not wait.ready(reader)
    polled = len(polls)
    assert polled >= spin.MISSES
    for _ in range(spin.REST):
        assert not wait.ready(reader)
    assert len(polls) == polled  # resting: not one poll
    writer.sendall(b"+OK\r\n")
    assert wait.ready(reader)  # the rest is over: it polls, and a reply that is there is seen
    assert len(polls) == polled + 1 and wait.local.misses == 0


def test_each_thread_keeps_its_own_count(
    pair: tuple[socket.socket, socket.socket], polls: list[int]
) -> None:
    reader, _ = pair
    wait = SpinWait(0.0002)
    for _ in range(spin.MISSES):
        wait.ready(reader)
    before = len(polls)
    other = threading.Thread(target=wait.ready, args=(reader,))
    other.start()
    other.join()
    assert len(polls) > before  # another thread still polls while this one rests
    wait.ready(reader)
    assert wait.local.misses == spin.MISSES + 1


def test_a_budget_of_nothing_never_polls(
    pair: tuple[socket.socket, socket.socket], polls: list[int]
) -> None:
    reader, writer = pair
    writer.sendall(b"+OK\r\n")
    assert not SpinWait(0).ready(reader)
    assert polls == []


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


def test_the_default_budget_polls(redis_url: str) -> None:
    store = open_store(redis_url)
    assert isinstance(store, RedisStore)
    assert store.reads.spin.budget == pytest.approx(100e-6)
    store.close()


class SlowProxy:
    """A TCP proxy in front of Redis that holds each reply back (`delay`), or sends its first
    byte at once and the rest later (`split`): a reply slower than any budget."""

    def __init__(self, upstream: str, mode: str, delay: float = 0.01) -> None:
        host, port = upstream.removeprefix("redis://").split("/")[0].split(":")
        self.upstream = (host, int(port))
        self.mode, self.delay = mode, delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()

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
            source.close()
            sink.close()

    def close(self) -> None:
        self.listener.close()


@pytest.mark.parametrize("mode", ["delay", "split"])
def test_slow_or_broken_replies_are_read_whole(
    redis_url: str, engine: youthmode.Engine, freezer: Any, mode: str
) -> None:
    freezer.move_to(NOW)
    proxy = SlowProxy(redis_url, mode)
    prefix = f"ym-spin-{uuid.uuid4().hex}:"
    store = RedisStore(f"redis://127.0.0.1:{proxy.port}/0?prefix={prefix}", read_deadline=1.0)
    ledger = Ledger(engine, store)
    try:
        for minutes, subject in ((20, "a"), (35, "b")):
            use = {"id": "u", "action": "app.use", "start": "2026-11-27T19:00:00+08:00",
                   "end": f"2026-11-27T19:{minutes}:00+08:00"}  # fmt: skip
            ledger.record_usage(subject, [use])
            ledger.update_guardian(subject, {"daily_limit": "30m"}, actor="parent")
        seen = []
        for i in range(spin.MISSES + 2):
            subject = "ab"[i % 2]
            decision = ledger.decide(
                {"subject": {"id": subject, "age": 12, "verified": True}, "action": "app.use"}
            )
            seen.append((decision.allowed, decision.facts.today_seconds))
        assert seen == [(True, 1200), (False, 2100)] * (spin.MISSES // 2 + 1)
        if mode == "delay":  # every reply was later than the budget: this thread rests
            assert store.reads.spin.local.misses > spin.MISSES
    finally:
        store.delete_all()
        store.close()
        proxy.close()
