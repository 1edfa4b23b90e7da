"""Waiting for a nearby store's reply by polling rather than sleeping, for a moment.

A decision's read from a Redis on the same machine or rack is answered in tens of
microseconds, but a thread that blocks in `recv` is put to sleep and woken when the reply
lands; on a virtual machine that sleep and wake-up is most of the round trip (on the 2-vCPU
VM of docs/performance.md a PING took 115 µs blocking and 35 µs polling). So the reader asks
the socket, without blocking, whether the reply is there, for at most `budget` seconds, and
only then blocks as before: the reply is read by redis-py's own parser either way, so only
when the thread waits changes, never what it reads.

Polling holds a CPU that a busy server could give another request, and it buys nothing when
the store is far away. So between polls the thread yields its CPU to whatever else is ready to
run there (an idle CPU has nothing else, and stays awake), and each thread keeps count: after
`MISSES` waits in a row whose reply came later than the budget, it stops polling, and tries
again only after `REST` more reads.
"""

from __future__ import annotations

import os
import select
import threading
import time
from typing import Protocol

MISSES = 8  # replies in a row later than the budget before a thread stops polling
REST = 256  # reads a thread then waits in the ordinary way before it polls again
MAX_BUDGET = 0.01  # polling longer than 10 ms is never wanted: a reply that slow is far away


class Pollable(Protocol):
    def fileno(self) -> int: ...


class SpinWait:
    """Polls for a reply for at most ``budget`` seconds (0: never), per thread adaptively."""

    def __init__(self, budget: float) -> None:
        if not 0 <= budget <= MAX_BUDGET:  # NaN fails too: it would never end the polling
            raise ValueError(f"a polling budget is 0 to {MAX_BUDGET} seconds, not {budget!r}")
        self.budget = budget
        self.local = threading.local()

    def ready(self, sock: Pollable) -> bool:
        """Whether ``sock`` became readable within the budget; False also means "not tried".

        A False answer is not an error: the caller then blocks, with its own deadline, as it
        would without this."""
        if self.budget <= 0:
            return False
        state = self.local.__dict__
        misses = state.get("misses", 0)
        if misses >= MISSES:
            # `REST` reads, then one more chance: a reply in time resets the count
            state["misses"] = misses + 1 if misses + 1 < MISSES + REST else MISSES - 1
            return False
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        end = _now() + self.budget
        while True:
            if poller.poll(0):  # releases the GIL: other threads run between polls
                state["misses"] = 0
                return True
            if _now() >= end:
                state["misses"] = misses + 1
                return False
            os.sched_yield()  # a busy CPU runs what waits for it; an idle one stays awake


def _now() -> float:
    # The real clock even under a test's frozen time (freezegun patches `perf_counter` and
    # `monotonic`, and a frozen clock would never end the budget).
    return time.clock_gettime(time.CLOCK_MONOTONIC)
