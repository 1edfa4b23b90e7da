"""Rate limits on our side: one token bucket per NPPA API, and the back-off after error 1006.

The NPPA throttles an app for one minute once it exceeds an API's rate (check 100/s, query
300/s, loginout 10/s). Both pieces read an injected clock, so tests run minutes of traffic in
virtual time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

Clock = Callable[[], datetime]
BACKOFF_SECONDS = 60.0  # the NPPA's own throttle period after error 1006


class TokenBucket:
    """``rate`` tokens a second, at most ``rate`` held: never more than ``rate`` calls in any
    one-second window, so the NPPA's per-second count is never exceeded."""

    def __init__(self, rate: float, clock: Clock, *, capacity: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("a token bucket needs a positive rate")
        self.rate = rate
        self.capacity = capacity if capacity is not None else rate
        self.clock = clock
        self._tokens = self.capacity
        self._stamp = self._now()
        self._lock = threading.Lock()

    def _now(self) -> float:
        return self.clock().timestamp()

    def take(self) -> float:
        """Take a token: 0.0 when taken, else the seconds until one is due (none taken)."""
        with self._lock:
            now = self._now()
            elapsed = max(0.0, now - self._stamp)
            self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
            self._stamp = max(self._stamp, now)
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate


class Backoff:
    """After a 1006 the API is not called again until the throttle has passed."""

    def __init__(self, clock: Clock, seconds: float = BACKOFF_SECONDS) -> None:
        self.clock, self.seconds = clock, seconds
        self._until = 0.0

    def trip(self) -> None:
        self._until = self.clock().timestamp() + self.seconds

    def remaining(self) -> float:
        return max(0.0, self._until - self.clock().timestamp())
