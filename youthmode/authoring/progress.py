"""A small progress indicator on stderr for commands that take a while (diff, floor).

It draws only when the stream is a terminal and the work has lasted over a second, and it
erases itself when the work ends, so quick runs, pipes, CI logs and tests see nothing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

BAR_WIDTH = 24


class Progress:
    """``with Progress("diff", total) as p: ... p.advance()``; silent unless slow and a TTY."""

    def __init__(
        self,
        label: str,
        total: int,
        *,
        stream: TextIO | None = None,
        delay: float = 1.0,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total = max(total, 0)
        self.done = 0
        self.detail = ""
        self._stream = stream if stream is not None else sys.stderr
        self._delay = delay
        self._interval = interval
        self._clock = clock
        self._start = clock()
        self._last_draw = -1.0
        self._drawn = False
        self._tty = _is_tty(self._stream)

    def __enter__(self) -> Progress:
        self._start = self._clock()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def advance(self, step: int = 1, detail: str | None = None) -> None:
        self.done = min(self.done + step, self.total) if self.total else self.done + step
        if detail is not None:
            self.detail = detail
        if not self._tty:
            return
        now = self._clock()
        if now - self._start < self._delay or now - self._last_draw < self._interval:
            return
        self._last_draw = now
        self._draw(now - self._start)

    def close(self) -> None:
        """Erase the line if anything was drawn."""
        if self._drawn:
            self._stream.write("\r\x1b[2K")
            self._stream.flush()
            self._drawn = False

    def line(self, elapsed: float) -> str:
        """The text drawn: label, bar, count, elapsed time and the current item."""
        if self.total:
            filled = round(BAR_WIDTH * self.done / self.total)
            bar = "█" * filled + "░" * (BAR_WIDTH - filled)
            count = f"{self.done}/{self.total}"
        else:
            bar, count = "", str(self.done)
        text = f"{self.label} {bar} {count} {elapsed:.1f}s"
        if self.detail:
            text += f" {self.detail}"
        return text[:100]

    def _draw(self, elapsed: float) -> None:
        self._stream.write("\r\x1b[2K" + self.line(elapsed))
        self._stream.flush()
        self._drawn = True


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
