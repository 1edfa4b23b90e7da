"""A client connection before and beside the application: its deadlines, and the
problem+json answers the worker writes on it itself.

`DeadlineSocket` is what gunicorn reads a request from and writes its response to once
`BufferedSyncWorker` (worker.py) hands the connection over; `problem_http` is a whole response
for a connection the application never saw (408, 503, gunicorn's own refusals).
"""

from __future__ import annotations

import errno
import io
import json
import socket
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

PROBLEM_BASE = "urn:youthmode:problem:"
PROBLEM_TYPE = "application/problem+json"
TITLES = {
    400: "Bad request",
    403: "Forbidden",
    408: "Request timeout",
    413: "Content too large",
    414: "URI too long",
    417: "Expectation failed",
    431: "Request header fields too large",
    500: "Internal error",
    501: "Not implemented",
    503: "Service unavailable",
}


class ReadDeadline(Exception):
    """The request was not received in time. Not an OSError: gunicorn would log a traceback."""


def problem_body(status: int, detail: str) -> bytes:
    title = TITLES.get(status) or HTTPStatus(status).phrase.capitalize()
    body = {
        "type": PROBLEM_BASE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
    }
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def problem_http(status: int, detail: str, headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """A whole HTTP/1.1 problem+json response, for a connection the application never saw."""
    body = problem_body(status, detail)
    lines = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        "Connection: close",
        f"Content-Type: {PROBLEM_TYPE}",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def count_dropped(reason: str) -> None:
    from youthmode.server.metrics import connections_dropped

    connections_dropped().labels(reason).inc()


class DeadlineSocket:
    """A client socket that first replays the bytes already read, whose reads all end at one
    deadline, and whose response writes all end `send_seconds` after the first.

    Once gunicorn closes the connection, reads use the caller's own timeout: they only drain
    what the client still sends.
    """

    def __init__(
        self,
        sock: socket.socket,
        prefix: bytes,
        read_deadline: float,
        send_seconds: float,
        phase: str = "body",
    ) -> None:
        self._sock = sock
        self._prefix = memoryview(prefix)
        self._read_deadline = read_deadline
        self._send_seconds = send_seconds
        self._send_deadline: float | None = None
        self._timeout: float | None = None
        self._phase = phase
        self._closing = False
        self._late_counted = False

    def recv(self, size: int) -> bytes:
        if self._prefix:
            data = bytes(self._prefix[:size])
            self._prefix = self._prefix[len(data) :]
            return data
        if self._closing:
            self._sock.settimeout(self._timeout)
            return self._sock.recv(size)
        remaining = self._read_deadline - time.monotonic()
        if remaining <= 0:
            raise self._late()
        self._sock.settimeout(remaining if self._timeout is None else min(remaining, self._timeout))
        try:
            return self._sock.recv(size)
        except TimeoutError:
            if time.monotonic() >= self._read_deadline:
                raise self._late() from None
            raise

    def _late(self) -> ReadDeadline:
        if not self._late_counted:
            self._late_counted = True
            count_dropped(f"{self._phase}_timeout")
        return ReadDeadline(f"the request {self._phase} did not arrive in time")

    def _gave_up(self) -> OSError:
        # EPIPE: gunicorn then closes the connection quietly, as for a client that left.
        count_dropped("send_timeout")
        return BrokenPipeError(errno.EPIPE, "the client did not take the response in time")

    def _sending(self, seconds: float, call: Callable[[], Any]) -> Any:
        if seconds <= 0:
            raise self._gave_up()
        self._sock.settimeout(seconds)
        try:
            return call()
        except TimeoutError:
            raise self._gave_up() from None

    def _response_window(self) -> float:
        if self._send_deadline is None:
            self._send_deadline = time.monotonic() + self._send_seconds
        return self._send_deadline - time.monotonic()

    def sendall(self, data: bytes) -> None:
        self._sending(self._response_window(), lambda: self._sock.sendall(data))

    def send(self, data: bytes) -> int:
        # Only `100 Continue` is sent this way: it must not start the response's window.
        sent: int = self._sending(self._send_seconds, lambda: self._sock.send(data))
        return sent

    def sendfile(self, file: io.BufferedReader, offset: int = 0, count: int | None = None) -> int:
        def send_file() -> int:
            return self._sock.sendfile(file, offset, count)

        sent: int = self._sending(self._response_window(), send_file)
        return sent

    def settimeout(self, value: float | None) -> None:
        self._timeout = value

    def gettimeout(self) -> float | None:
        return self._timeout

    def shutdown(self, how: int) -> None:
        self._closing = True
        self._sock.shutdown(how)

    def close(self) -> None:
        self._sock.close()

    def fileno(self) -> int:
        return self._sock.fileno()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)
