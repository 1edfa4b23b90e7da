"""Fault suite, Redis: lost and late EXEC replies, a stalled server. A write whose reply is
lost is applied exactly once and answered as applied; a stalled Redis costs a decision at most
the read deadline, and nothing once the circuit breaker is open."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from proxy_support import TcpProxy, close_all, run
from redis_support import RedisProcess

import youthmode
from youthmode.ledger import Ledger
from youthmode.ledger.redis_store import RedisStore
from youthmode.ledger.store import StoreOutcomeUnknown, StoreUnavailable

NOW = "2026-11-27T12:30:00Z"  # Friday 20:30 in Shanghai


class FlakyProxy(TcpProxy):
    """A TCP proxy in front of Redis that loses the reply to the next EXEC (`drop_reply`), or
    holds the next EXEC back until the client has given up (`delay_exec`)."""

    def __init__(self, upstream_port: int) -> None:
        self.mode: str | None = None
        self.delay = 0.0
        self.then_die = False
        self.exec_seen = threading.Event()
        super().__init__(upstream_port)

    def arm(self, mode: str, delay: float = 0.0, then_die: bool = False) -> None:
        self.mode, self.delay, self.then_die = mode, delay, then_die
        self.exec_seen.clear()

    def joined(self, client: socket.socket, upstream: socket.socket) -> None:
        swallow = threading.Event()
        run(self._up, client, upstream, swallow)
        run(self._down, client, upstream, swallow)

    def _up(self, client: socket.socket, upstream: socket.socket, swallow: threading.Event) -> None:
        try:
            while data := client.recv(65536):
                mode = self.mode if b"EXEC\r\n" in data else None
                if mode is None:
                    upstream.sendall(data)
                    continue
                self.mode = None
                self.exec_seen.set()
                if mode == "drop_reply":
                    swallow.set()
                    upstream.sendall(data)
                else:  # delay_exec: the client times out first; then Redis gets the EXEC
                    time.sleep(self.delay)
                    upstream.sendall(data)
                    time.sleep(0.2)  # Redis answers before this connection closes
                    break
        except OSError:
            pass
        finally:
            close_all(client, upstream)

    def _down(
        self, client: socket.socket, upstream: socket.socket, swallow: threading.Event
    ) -> None:
        try:
            while data := upstream.recv(65536):
                if swallow.is_set():
                    if self.then_die:
                        self.close()
                    break  # the reply is lost: the client sees its connection drop
                client.sendall(data)
        except OSError:
            pass
        finally:
            close_all(client, upstream)


@pytest.fixture
def proxy(redis_process: RedisProcess) -> Iterator[FlakyProxy]:
    flaky = FlakyProxy(redis_process.port)
    yield flaky
    flaky.close()


def ledger_through(proxy: FlakyProxy, engine: youthmode.Engine, timeout: float = 2.0) -> Ledger:
    url = f"redis://127.0.0.1:{proxy.port}/0?prefix=ym-{uuid.uuid4().hex}:"
    return Ledger(engine, RedisStore(url, timeout=timeout))


def test_a_grant_whose_reply_is_lost_is_stored_once(
    proxy: FlakyProxy, engine: youthmode.Engine, freezer: Any
) -> None:
    freezer.move_to(NOW)
    ledger = ledger_through(proxy, engine)
    proxy.arm("drop_reply")
    view = ledger.grant_time("kid", "30m", actor="parent")
    assert proxy.exec_seen.is_set()
    assert [g["seconds"] for g in view["grants"]] == [1800]
    assert [g["seconds"] for g in ledger.guardian("kid")["grants"]] == [1800]
    assert [c["change"] for c in ledger.guardian_log("kid")] == ["time_grant"]


def test_a_first_purchase_whose_reply_is_lost_is_reported_recorded(
    proxy: FlakyProxy, engine: youthmode.Engine, freezer: Any
) -> None:
    freezer.move_to(NOW)
    ledger = ledger_through(proxy, engine)
    proxy.arm("drop_reply")
    body = {"subject_id": "kid", "id": "p1", "action": "game.purchase", "amount": "30.00"}
    answer = ledger.record_purchase(body)
    assert answer["status"] == "recorded"
    assert answer["totals"]["spend"]["game_topup"]["month"] == "30.00"
    assert ledger.record_purchase(body)["status"] == "duplicate"


def test_an_answer_whose_reply_is_lost_is_reported_applied(
    proxy: FlakyProxy, engine: youthmode.Engine, freezer: Any
) -> None:
    freezer.move_to(NOW)
    ledger = ledger_through(proxy, engine)
    request = ledger.ask_for_time("kid", 15, "homework")
    proxy.arm("drop_reply")
    answered = ledger.answer_request("kid", request["id"], "15m", actor="parent")
    assert answered["status"] == "approved"
    assert ledger.guardian("kid")["extra_seconds_today"] == 900


def test_a_late_exec_is_applied_once(
    proxy: FlakyProxy, engine: youthmode.Engine, freezer: Any
) -> None:
    freezer.move_to(NOW)
    ledger = ledger_through(proxy, engine, timeout=0.3)
    proxy.arm("delay_exec", delay=0.8)
    view = ledger.grant_time("kid", "10m", actor="parent")
    assert [g["seconds"] for g in view["grants"]] == [600]
    time.sleep(1.2)  # waiting for the proxy to deliver the held EXEC to Redis
    assert [g["seconds"] for g in ledger.guardian("kid")["grants"]] == [600]


def test_an_unknown_outcome_is_said_to_be_unknown(
    proxy: FlakyProxy, engine: youthmode.Engine, freezer: Any
) -> None:
    """The reply is lost and Redis cannot be reached again: the ledger cannot tell whether
    the write was applied, and says so (retry with the same id) rather than 'nothing changed'."""
    freezer.move_to(NOW)
    ledger = ledger_through(proxy, engine)
    body = {"subject_id": "kid", "id": "p1", "action": "game.purchase", "amount": "30.00"}
    proxy.arm("drop_reply", then_die=True)
    with pytest.raises(StoreOutcomeUnknown):
        ledger.record_purchase(body)


@pytest.mark.parametrize("polling", ["", "&spin_us=100"], ids=["blocking", "polling"])
def test_a_stalled_redis_costs_a_decision_the_deadline_then_nothing(
    redis_process: RedisProcess, engine: youthmode.Engine, freezer: Any, polling: str
) -> None:
    freezer.move_to(NOW)
    url = f"{redis_process.url}?prefix=ym-{uuid.uuid4().hex}:{polling}"
    store = RedisStore(url, read_deadline=0.2)
    ledger = Ledger(engine, store)
    kid = {"subject": {"id": "kid", "age": 12, "verified": True}, "action": "app.use"}
    assert ledger.decide(kid).allowed
    redis_process.stall()
    try:
        took = []
        for _ in range(10):
            started = real_seconds()  # time is frozen; the wait is real
            decision = ledger.decide(kid)
            took.append(real_seconds() - started)
            assert decision.reason_codes == ["store_unavailable"] and decision.degraded
        assert all(t < 1.0 for t in took[:3]), took  # the deadline, not the 2 s write timeout
        assert all(t < 0.05 for t in took[3:]), took  # the breaker is open: no wait at all
        assert store.breaker.is_open
        with pytest.raises(StoreUnavailable):
            ledger.grant_time("kid", "10m", actor="parent")  # writes fail fast too
    finally:
        redis_process.resume()
    freezer.tick(6)  # the cooldown: one probe goes through and closes the breaker
    assert ledger.decide(kid).allowed
    assert not store.breaker.is_open


def real_seconds() -> float:
    """The real clock, which freezegun leaves alone (it patches time.monotonic)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


@pytest.mark.parametrize("polling", ["", "&spin_us=100"], ids=["blocking", "polling"])
def test_a_late_reply_never_answers_the_next_decision(
    redis_process: RedisProcess, engine: youthmode.Engine, freezer: Any, polling: str
) -> None:
    """A decision that gave up on a stalled Redis leaves no reply behind for the next one: its
    connection is dropped, so the late answer (another subject's documents) is never read as
    the next decision's, which would let a subject over its cap through."""
    freezer.move_to(NOW)
    store = RedisStore(
        f"{redis_process.url}?prefix=ym-{uuid.uuid4().hex}:{polling}", read_deadline=0.2
    )
    ledger = Ledger(engine, store)
    use = {"id": "u", "action": "app.use", "start": "2026-11-27T19:00:00+08:00",
           "end": "2026-11-27T19:40:00+08:00"}  # fmt: skip
    ledger.record_usage("over", [use])
    for subject in ("over", "fresh"):
        ledger.update_guardian(subject, {"daily_limit": "30m"}, actor="parent")
    over = {"subject": {"id": "over", "age": 12, "verified": True}, "action": "app.use"}
    fresh = {**over, "subject": {**over["subject"], "id": "fresh"}}
    assert ledger.decide(fresh).allowed and ledger.decide(over).reason_codes == ["daily_limit"]
    redis_process.stall()
    try:
        assert ledger.decide(fresh).reason_codes == ["store_unavailable"]  # its HMGET waits
    finally:
        redis_process.resume()
    other = RedisStore(redis_process.url)
    other.ping()  # Redis is serving again: the stalled HMGET has been answered by now
    other.close()
    decision = ledger.decide(over)
    assert decision.reason_codes == ["daily_limit"] and decision.facts.today_seconds == 2400
    assert ledger.decide(fresh).allowed
    store.close()
