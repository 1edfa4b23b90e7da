"""A circuit breaker for the store: after a run of failures, stop asking for a while.

A stalled store (a Redis under SIGSTOP, a full network buffer) makes every call wait for its
whole timeout; with a few workers, a handful of such calls stall the whole API, requests that
never touch the store included. After `threshold` failures in a row the breaker opens: calls
fail at once (decisions then apply the action's `on_store_error`) until `cooldown` seconds have
passed, when one call is let through to probe; its success closes the breaker.
"""

from __future__ import annotations

import threading
import time


class CircuitBreaker:
    def __init__(self, threshold: int = 3, cooldown: float = 5.0) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    def allow(self) -> bool:
        """May a call go to the store now? While open, one probe after the cooldown."""
        with self._lock:
            if self._opened_at is None:
                return True
            if self._probing or time.monotonic() - self._opened_at < self.cooldown:
                return False
            self._probing = True
            return True

    def succeeded(self) -> None:
        with self._lock:
            self._failures, self._opened_at, self._probing = 0, None, False

    def failed(self) -> None:
        with self._lock:
            self._failures += 1
            if self._probing or self._failures >= self.threshold:
                self._opened_at = time.monotonic()
            self._probing = False
