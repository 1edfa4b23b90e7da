"""Waiting for a nearby store's reply by polling rather than sleeping, when that is cheaper.

A decision's read from a Redis on the same machine or rack is answered in tens of
microseconds, but a thread that blocks in `recv` is put to sleep and woken when the reply
lands; on an idle virtual machine that sleep and wake-up is most of the round trip (on the
2-vCPU VM of docs/performance.md a PING took 85 µs blocking and 32 µs polled). So the reader
may first ask the socket, without blocking, whether the reply is there, for at most `budget`
seconds, and only then block as before. The reply is read by redis-py's own parser either way:
only when the thread waits changes, never what it reads.

Polling is not always cheaper. On a busy machine no CPU goes idle, a blocked thread is woken at
once, and polling only takes a CPU from other work; for a store far away the budget is spent
for nothing. So each thread keeps what a wait has cost it each way (a moving average of the
wait's time plus the CPU it held) and waits the cheaper way, trying the other way every
`EXPLORE` reads to keep its figure fresh.
"""

from __future__ import annotations

import select
import threading
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

T = TypeVar("T")

EXPLORE = 32  # every this many reads a thread waits the other way, to keep both figures fresh
WEIGHT = 0.125  # of a new timing in its moving average
MAX_BUDGET = 0.01  # polling longer than 10 ms is never wanted: a reply that slow is far away


class Pollable(Protocol):
    def fileno(self) -> int: ...


class SpinWait:
    """Polls for a reply for at most ``budget`` seconds (0: never) when, in this thread,
    polling has been the cheaper way to wait."""

    def __init__(self, budget: float) -> None:
        if not 0 <= budget <= MAX_BUDGET:  # NaN fails too: it would never end the polling
            raise ValueError(f"a polling budget is 0 to {MAX_BUDGET} seconds, not {budget!r}")
        self.budget = budget
        self.local = threading.local()

    def wait(self, sock: Pollable, read: Callable[[], T]) -> T:
        """``read()``'s answer (the reply on ``sock``), polled for first if that is cheaper.

        ``read`` blocks with its own deadline, as it would without this; what it raises is
        raised, and such a read is not timed."""
        if self.budget <= 0:
            return read()
        state = self.local.__dict__
        polled, blocked = state.get("polled", 0.0), state.get("blocked", 0.0)
        count = state["count"] = state.get("count", 0) + 1
        polling = (polled <= blocked) != (count % EXPLORE == 0)
        started, cpu = _now(), _cpu()
        if polling:
            _poll(sock, started + self.budget)
        answer = read()
        # The wait's cost: its time, plus the CPU it held, which on a busy machine is taken
        # from other work (this thread's own next steps included: the scheduler charges it).
        cost = _now() - started + _cpu() - cpu
        key, old = ("polled", polled) if polling else ("blocked", blocked)
        state[key] = cost if old == 0.0 else old + WEIGHT * (cost - old)
        return answer


def _poll(sock: Pollable, end: float) -> None:
    """Until ``sock`` is readable or the clock passes ``end``."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    while not poller.poll(0) and _now() < end:  # poll releases the GIL: other threads run
        pass


def _cpu() -> float:
    return time.thread_time()


def _now() -> float:
    # The real clock even under a test's frozen time (freezegun patches `perf_counter` and
    # `monotonic`, and a frozen clock would never end the budget).
    return time.clock_gettime(time.CLOCK_MONOTONIC)
