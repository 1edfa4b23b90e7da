"""The gunicorn worker `youthmode serve` runs: gunicorn's sync worker, minus slow clients.

A sync worker serves one connection at a time. A client that sends its request one byte a
second held a whole worker until gunicorn's 30 s timeout killed it, and two such clients
stalled a two-worker server (docs/operations.md, "Slow clients").

Here a connection reaches the application only once its request has arrived: the head, and
the body too when its length is declared and within `max_body_bytes`. Until then it waits in
a buffer beside the listening sockets and is read as its bytes come, so a slow client costs a
file descriptor and a few kilobytes, never a worker. A request that does not arrive within
`header_timeout` (head) and then `body_timeout` (body) seconds is answered 408 and closed.
Bodies that cannot be buffered first (chunked, `Expect: 100-continue`, too large) are read by
the application through a socket whose every read ends at the same deadline, and every
response must be taken by the client within `send_timeout` seconds.

gunicorn's own refusals (an over-long URI or header, a malformed request) are problem+json,
like every other error of the API.
"""

from __future__ import annotations

import errno
import io
import json
import os
import selectors
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from gunicorn import util  # type: ignore[import-untyped]  # gunicorn ships no type hints
from gunicorn.workers.sync import SyncWorker  # type: ignore[import-untyped]

from youthmode.server.config import ServerConfig

PROBLEM_BASE = "urn:youthmode:problem:"
PROBLEM_TYPE = "application/problem+json"
HEAD_END = b"\r\n\r\n"
# A head longer than this is handed to gunicorn's parser as it is: its limits (4094-byte
# request line, 100 fields of 8190 bytes) answer 414 or 431.
HEAD_BUFFER = 64 * 1024
# Per worker: waiting connections, and bytes buffered for them. Past either, the oldest
# waiting connection is answered 503, so a flood costs its senders, not the newest caller.
MAX_WAITING = 256
MAX_BUFFERED = 32 * 1024 * 1024
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


@dataclass(frozen=True)
class Limits:
    header_timeout: float
    body_timeout: float
    send_timeout: float
    max_body_bytes: int

    @classmethod
    def of(cls, config: ServerConfig) -> Limits:
        return cls(
            config.header_timeout,
            config.body_timeout,
            config.send_timeout,
            config.max_body_bytes,
        )


def body_length(head: bytes) -> int | None:
    """The body size the head declares, or None when gunicorn's parser must decide it.

    Only decides how long to buffer: gunicorn parses the request itself, so a head this
    misjudges is read from the socket, within the deadline, and refused by the parser.
    """
    length: int | None = None
    for line in head.split(b"\r\n")[1:]:
        name, colon, value = line.partition(b":")
        name = name.strip().lower()
        if not colon or name in (b"transfer-encoding", b"expect"):
            return None
        if name == b"content-length":
            if length is not None or not value.strip().isdigit():
                return None
            length = int(value)
    return length or 0


@dataclass(eq=False)
class Waiting:
    """An accepted connection whose request has not all arrived."""

    sock: socket.socket
    addr: Any
    listener: Any
    deadline: float
    fd: int = -1
    data: bytearray = field(default_factory=bytearray)
    head_end: int | None = None  # where the head ends, once it has arrived
    want: int | None = None  # head plus body, when the body can be buffered

    @property
    def phase(self) -> str:
        return "head" if self.head_end is None else "body"


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


class _Captured:
    """Stands in for the client while gunicorn writes its HTML error page, to learn the status."""

    def __init__(self) -> None:
        self.data = b""

    def gettimeout(self) -> float:
        return 0.0  # "non-blocking": gunicorn then writes with sendall, as is

    def sendall(self, data: bytes) -> None:
        self.data += data


class BufferedSyncWorker(SyncWorker):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn's sync worker that hands a connection to the application only once its
    request has arrived (the name ends in SyncWorker, so `threads` > 1 still means gthread)."""

    limits: Limits
    waiting: dict[int, Waiting]
    buffered: int
    selector: selectors.BaseSelector

    def init_process(self) -> None:
        config = getattr(self.app, "ym_config", None) or ServerConfig.from_env()
        self.limits = Limits.of(config)
        self.waiting = {}
        self.buffered = 0
        super().init_process()  # runs the worker: must come last

    def run(self) -> None:
        if self.cfg.is_ssl or getattr(self.cfg, "protocol", "http") != "http":
            super().run()  # the bytes on the socket are not plain HTTP/1: no buffering
            return
        self.selector = selectors.DefaultSelector()
        for listener in self.sockets:
            listener.setblocking(False)
            self.selector.register(listener, selectors.EVENT_READ, listener)
        self.selector.register(self.PIPE[0], selectors.EVENT_READ, None)
        try:
            self._loop()
        finally:
            for item in list(self.waiting.values()):
                self._drop(item)
            self.selector.close()

    def _loop(self) -> None:
        listening = True
        # Stopping (SIGTERM, SIGHUP): no new connections, but those already accepted are
        # served or time out, as a sync worker finishes the request it is serving.
        while self.alive or self.waiting:
            if listening and not self.alive:
                listening = False
                for listener in self.sockets:
                    self.selector.unregister(listener)
            self.notify()
            for key, _ in self.selector.select(self._wait_seconds()):
                self._ready(key.data)
            self._expire()
            if not self.is_parent_alive():
                return

    def _wait_seconds(self) -> float:
        wait = min(self.timeout or 0.5, 1.0)
        if self.waiting:
            soonest = min(item.deadline for item in self.waiting.values())
            wait = min(wait, max(soonest - time.monotonic(), 0.0))
        return float(wait)

    def _ready(self, data: Any) -> None:
        if data is None:
            _drain_pipe(self.PIPE[0])
        elif isinstance(data, Waiting):
            if self._is_waiting(data):  # not refused earlier in this round
                self._read(data)
        elif self.alive:
            self._accept(data)

    def _accept(self, listener: Any) -> None:
        try:
            client, addr = listener.accept()
        except OSError as err:
            if err.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        client.setblocking(False)
        util.close_on_exec(client)
        self._make_room()
        deadline = time.monotonic() + self.limits.header_timeout
        item = Waiting(client, addr, listener, deadline, fd=client.fileno())
        self.waiting[item.fd] = item
        self.selector.register(client, selectors.EVENT_READ, item)
        self._read(item)  # a small request usually arrives with the connection

    def _make_room(self) -> None:
        while self.waiting and (len(self.waiting) >= MAX_WAITING or self.buffered > MAX_BUFFERED):
            oldest = next(iter(self.waiting.values()))
            self._refuse(oldest, 503, "the server is busy; try again", "overload")

    def _read(self, item: Waiting) -> None:
        try:
            chunk = item.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:  # the client left before sending a whole request
            self._drop(item)
            return
        item.data += chunk
        self.buffered += len(chunk)
        if self._arrived(item):
            self._serve(item)
        elif self.buffered > MAX_BUFFERED:
            self._make_room()

    def _arrived(self, item: Waiting) -> bool:
        """Has the request arrived, or is it one that only gunicorn's parser can judge?"""
        if item.head_end is None:
            end = item.data.find(HEAD_END)
            if end < 0:
                return len(item.data) > HEAD_BUFFER
            item.head_end = end
            item.deadline = time.monotonic() + self.limits.body_timeout
            length = body_length(bytes(item.data[:end]))
            if length is None or length > self.limits.max_body_bytes:
                return True
            item.want = end + len(HEAD_END) + length
        return item.want is None or len(item.data) >= item.want

    def _serve(self, item: Waiting) -> None:
        self._forget(item)
        item.sock.setblocking(True)
        prefix = bytes(item.data)
        conn = DeadlineSocket(
            item.sock, prefix, item.deadline, self.limits.send_timeout, item.phase
        )
        self.handle(item.listener, conn, item.addr)

    def _expire(self) -> None:
        now = time.monotonic()
        for item in [i for i in self.waiting.values() if i.deadline <= now]:
            self._read(item)  # it may have arrived while this worker was serving another
            if self._is_waiting(item):
                limit = self.limits.body_timeout if item.head_end else self.limits.header_timeout
                detail = f"the request {item.phase} did not arrive within {limit:g} s"
                self._refuse(item, 408, detail, f"{item.phase}_timeout")

    def _refuse(self, item: Waiting, status: int, detail: str, reason: str) -> None:
        count_dropped(reason)
        try:
            item.sock.send(problem_http(status, detail))
        except OSError:
            pass
        self._drop(item)

    def _is_waiting(self, item: Waiting) -> bool:
        return self.waiting.get(item.fd) is item

    def _forget(self, item: Waiting) -> None:
        if self._is_waiting(item):
            del self.waiting[item.fd]
            self.buffered -= len(item.data)
            self.selector.unregister(item.sock)

    def _drop(self, item: Waiting) -> None:
        self._forget(item)
        util.close(item.sock)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """gunicorn's refusals as problem+json; gunicorn still decides the status and logs."""
        if isinstance(exc, ReadDeadline):
            status, detail = 408, str(exc)
        else:
            captured = _Captured()
            super().handle_error(req, captured, addr, exc)
            status = _status_of(captured.data)
            detail = str(exc)[:300] if status < 500 else "unexpected error"
        try:
            client.sendall(problem_http(status, detail))
        except Exception:  # the client may be gone; nobody is left to tell
            self.log.debug("could not send the %s problem", status)


def _status_of(response: bytes) -> int:
    try:
        return int(response.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 500


def _drain_pipe(fd: int) -> None:
    """Empty the wake-up pipe that gunicorn's signal handlers write to."""
    try:
        while os.read(fd, 4096):
            pass
    except OSError:  # empty: it is non-blocking
        pass


class BodyGuard:
    """WSGI middleware: reads the whole request body before the application runs.

    So a body over `max_body_bytes` is a 413 also when chunked, whatever the application
    does with its stream, and a body that misses its deadline is a 408, not a 400 for a
    "disconnected" client (werkzeug's reading of an OSError).
    """

    def __init__(self, app: Any, max_body_bytes: int) -> None:
        self.app = app
        self.limit = max_body_bytes

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        declared = environ.get("CONTENT_LENGTH") or ""
        if not chunked and not (declared.isascii() and declared.isdigit()):
            return self.app(environ, start_response)  # no body, or gunicorn refused it
        if not chunked and int(declared) > self.limit:
            return _problem(start_response, 413, "the body is larger than the server accepts")
        wanted = self.limit + 1 if chunked else int(declared)
        try:
            body = read_up_to(environ["wsgi.input"], wanted)
        except ReadDeadline as err:
            return _problem(start_response, 408, str(err))
        if len(body) > self.limit:
            return _problem(start_response, 413, "the body is larger than the server accepts")
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)


def read_up_to(stream: Any, size: int) -> bytes:
    parts: list[bytes] = []
    got = 0
    while got < size:
        chunk = stream.read(min(65536, size - got))
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _problem(start_response: Any, status: int, detail: str) -> list[bytes]:
    body = problem_body(status, detail)
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [("Content-Type", PROBLEM_TYPE), ("Content-Length", str(len(body)))],
    )
    return [body]
