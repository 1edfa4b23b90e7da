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

The socket the application then reads and writes through, and the answers written on a
connection the application never saw, are in connection.py; `BodyGuard`, the middleware that
reads a whole body before the application runs, in body_guard.py.
"""

from __future__ import annotations

import errno
import os
import selectors
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from gunicorn import util  # type: ignore[import-untyped]  # gunicorn ships no type hints
from gunicorn.workers.sync import SyncWorker  # type: ignore[import-untyped]

from youthmode.server.config import ServerConfig
from youthmode.server.connection import DeadlineSocket, ReadDeadline, count_dropped, problem_http

HEAD_END = b"\r\n\r\n"
# A head longer than this is handed to gunicorn's parser as it is: its limits (4094-byte
# request line, 100 fields of 8190 bytes) answer 414 or 431.
HEAD_BUFFER = 64 * 1024
# Per worker: waiting connections, and bytes buffered for them. Past either, the oldest
# waiting connection is answered 503, so a flood costs its senders, not the newest caller.
MAX_WAITING = 256
MAX_BUFFERED = 32 * 1024 * 1024


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
