"""Shared pieces of the NPPA tests: a virtual clock both the client and the mock read, a
mock NPPA served on a loopback port, a mock that keeps each batch it took (the fault tests),
and an outbox filled directly."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from youthmode.engine import Clock
from youthmode.ledger.store import Store
from youthmode.nppa.mock import Answer, MockNppa
from youthmode.nppa.mock_http import MockServer, serve_mock
from youthmode.nppa.outbox import Outbox
from youthmode.nppa.sessions import guest_device
from youthmode.nppa.shards import ShardLayout

SECRET = "00112233445566778899aabbccddeeff"
APP_ID = "test-app-id"
BIZ_ID = "1101999999"


class VirtualClock:
    """A clock that moves only when told to; `sleep` moves it (no real waiting)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)

    sleep = advance


def mock_server(clock: VirtualClock) -> Iterator[MockServer]:
    """A mock NPPA on a loopback port, on ``clock``'s time, closed after (for fixtures)."""
    server = serve_mock(MockNppa(APP_ID, BIZ_ID, SECRET, clock=clock))
    yield server
    server.close()


class RecordingMock(MockNppa):
    """The mock, also keeping each `loginout` request's accepted records as one batch, and
    running ``after_accept(n)`` (n counts `loginout` calls from 1) once the mock took the n-th
    batch and before it answers: where a fault test holds the answer, kills the reporter or
    stalls its store."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(APP_ID, BIZ_ID, SECRET, clock=clock)
        self.batches: list[list[dict[str, Any]]] = []
        self.after_accept: Callable[[int], None] = lambda _n: None
        self._order = threading.Lock()  # one loginout taken at a time: batches stay whole

    def handle(
        self,
        api: str,
        method: str,
        headers: dict[str, str],
        query: dict[str, str],
        body: str,
        test_code: str | None = None,
    ) -> Answer:
        with self._order:
            before = len(self.accepted)
            answer = super().handle(api, method, headers, query, body, test_code)
            if api != "loginout":
                return answer
            self.batches.append(self.accepted[before:])
            calls = len(self.batches)
        self.after_accept(calls)
        return answer

    def ids(self) -> Counter[tuple[str, int]]:
        """How often each record, by its `si` and `bt`, was accepted."""
        return Counter((r["si"], r["bt"]) for r in self.accepted)


def queue_records(store: Store, count: int, now: int, layout: ShardLayout | None = None) -> None:
    """``count`` guest log-ins of as many subjects, spread over the shards as the subjects
    are, their `ot` a few seconds before ``now`` (one transaction per shard)."""
    layout = layout or ShardLayout()
    by_shard: dict[int, list[dict[str, Any]]] = {}
    for i in range(count):
        subject = f"kid-{i}"
        record = {"si": f"{i:032x}", "bt": 1, "ot": now - 5 + i % 3, "ct": 2,
                  "di": guest_device(subject), "subject": subject}  # fmt: skip
        by_shard.setdefault(layout.of(subject), []).append(record)
    for shard, records in by_shard.items():
        store.atomic(layout.space(shard), partial(Outbox.add, records=records))


def queued_ids(store: Store, layout: ShardLayout | None = None) -> set[tuple[str, int]]:
    """The records still in the outbox, by `si` and `bt`."""
    return {(r["si"], r["bt"]) for _, r in Outbox(store, layout).waiting()}
