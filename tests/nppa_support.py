"""Shared pieces of the NPPA tests: a virtual clock both the client and the mock read, and a
mock NPPA served on a loopback port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from youthmode.nppa.mock import MockNppa
from youthmode.nppa.mock_http import MockServer, serve_mock

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
