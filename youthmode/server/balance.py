"""How many connections each worker holds, shared between the workers of one server.

The workers share one listening socket and a kept-alive connection stays with the worker
that accepted it. Left alone, a burst of new connections (a client's pool starting) could all
go to whichever worker woke first, and the others idle while it queues (as gunicorn's gthread
worker did, docs/performance.md). So each worker publishes its count in a small table of
shared memory the master creates before forking, and a worker that holds more than the least
loaded live worker plus `SLACK` leaves new connections to the others for a moment.

The master gives each worker a slot before forking it and frees the slot when the worker
exits (`pre_fork`, `child_exit` in runner.py); each worker writes only its own slot. Counts
are read without locks: a stale count costs at most one connection's worth of balance.
"""

from __future__ import annotations

import mmap
from typing import Any

SLOTS = 64  # more workers than this share a slot: balance gets coarser, nothing breaks
SLACK = 2
FREE = -1


class ConnectionTable:
    """One signed 64-bit count per slot in anonymous shared memory (inherited by fork)."""

    def __init__(self, slots: int = SLOTS) -> None:
        self._memory = mmap.mmap(-1, 8 * slots)
        self._counts = memoryview(self._memory).cast("q")
        for slot in range(slots):
            self._counts[slot] = FREE
        self._owner: dict[int, Any] = {}  # master only: slot -> worker

    # The master's side.
    def assign(self, worker: Any) -> None:
        """Give ``worker`` a free slot (before it is forked)."""
        live = set(self._owner)
        slot = next((s for s in range(len(self._counts)) if s not in live), None)
        if slot is None:  # more live workers than slots: share the last one
            slot = len(self._counts) - 1
        self._owner[slot] = worker
        self._counts[slot] = 0
        worker.ym_slot = slot

    def release(self, worker: Any) -> None:
        slot = getattr(worker, "ym_slot", None)
        if slot is not None and self._owner.get(slot) is worker:
            del self._owner[slot]
            self._counts[slot] = FREE

    # A worker's side.
    def publish(self, slot: int, count: int) -> None:
        self._counts[slot] = count

    def may_accept(self, slot: int, count: int) -> bool:
        """Is this worker among the least loaded (within `SLACK`)?"""
        least = count
        for other in self._counts:
            if 0 <= other < least:
                least = other
        return count <= least + SLACK


TABLE: ConnectionTable | None = None  # created by the master of `youthmode serve`


def create_table() -> ConnectionTable:
    global TABLE
    if TABLE is None:
        TABLE = ConnectionTable()
    return TABLE
