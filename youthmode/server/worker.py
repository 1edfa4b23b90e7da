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

An ordinary HTTP/1.1 request (http_fast.py says which) is answered here without gunicorn's
parser, and its connection is kept open for `keepalive` seconds: it waits for the next request
in the same buffer, so an idle connection costs no more than a slow one. Everything else goes
through gunicorn and is closed after its response, as in gunicorn's sync worker.

A connection while it waits (`Waiting`, its deadlines, how long its body is) is in
waiting.py; the socket the application then reads and writes through, and the answers written
on a connection the application never saw, in connection.py; `BodyGuard`, the middleware that
reads a whole body before the application runs, in body_guard.py.
"""

from __future__ import annotations

import errno
import os
import selectors
import socket
import time
from typing import Any, Literal

from gunicorn import util  # type: ignore[import-untyped]  # gunicorn ships no type hints
from gunicorn.http import wsgi  # type: ignore[import-untyped]
from gunicorn.workers.sync import SyncWorker  # type: ignore[import-untyped]

from youthmode.server import balance, http_fast
from youthmode.server.config import ServerConfig
from youthmode.server.connection import DeadlineSocket, ReadDeadline, count_dropped, problem_http
from youthmode.server.waiting import (
    HEAD_BUFFER,
    HEAD_END,
    Limits,
    Waiting,
    body_length,
    close_after_response,
    drain_pipe,
)

# Per worker: waiting connections, and bytes buffered for them. Past either, the oldest
# waiting connection is answered 503, so a flood costs its senders, not the newest caller.
MAX_WAITING = 256
MAX_BUFFERED = 32 * 1024 * 1024
# A kept-alive connection is closed after this many responses (nginx's keepalive_requests).
# Workers share the listening socket and a connection stays with the worker that accepted it,
# so one worker can end up with most of a client's connections; reconnecting now and then
# lets them spread again, to whichever worker is free to accept.
MAX_REQUESTS_PER_CONNECTION = 100
# Connections taken from the listening socket per wake-up: one at a time left a burst of new
# connections (a client's pool starting) waiting in the backlog behind whole rounds of requests.
ACCEPT_BURST = 16
# A worker holding more connections than the others (balance.py) leaves the listening socket
# to them this long; after BALANCE_PATIENCE of leaving it, it accepts anyway, in case the
# others are stuck serving something slow.
BALANCE_PAUSE = 0.005
BALANCE_PATIENCE = 0.25
# Deadlines are checked this often, not every round: with a hundred kept-alive connections a
# full scan each round cost more than the requests it sat between.
SCAN_INTERVAL = 0.05
NOTIFY_INTERVAL = 1.0


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
    fast: http_fast.Limits | None  # None: every request goes through gunicorn's parser
    table: balance.ConnectionTable | None  # None: no other workers to balance with
    paused_until: float | None  # not listening until then (balance)
    declining_since: float | None  # leaving pending connections to the others since then
    pending_seen: bool  # the listening socket was ready in this round
    next_scan: float  # when the waiting connections' deadlines are next checked
    next_notify: float  # when the master is next told this worker is alive
    shared_environ: dict[str, Any]
    clock: http_fast.Clock

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
        self.fast = self._fast_limits()
        self.shared_environ = wsgi.base_environ(self.cfg)
        self.clock = http_fast.Clock()
        self.table = balance.TABLE if getattr(self, "ym_slot", None) is not None else None
        self.paused_until = self.declining_since = None
        self.pending_seen = False
        self.next_scan = self.next_notify = 0.0
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

    def _fast_limits(self) -> http_fast.Limits | None:
        """The limits of the fast path, or None where it would not do what gunicorn does: an
        access log, request hooks, a proxy protocol, a SCRIPT_NAME, keep-alive switched off."""
        cfg = self.cfg
        hooks = (cfg.settings["pre_request"], cfg.settings["post_request"])
        if (
            cfg.accesslog is not None
            or any(h.value is not h.default for h in hooks)
            or str(cfg.proxy_protocol).lower() not in ("off", "false")
            or os.environ.get("SCRIPT_NAME")
            or cfg.keepalive <= 0
        ):
            return None
        return http_fast.Limits(
            cfg.limit_request_line or 1 << 30,
            cfg.limit_request_fields,
            cfg.limit_request_field_size or 1 << 30,
        )

    def _loop(self) -> None:
        listening = True
        # Stopping (SIGTERM, SIGHUP): no new connections, but those already accepted are
        # served or time out, as a sync worker finishes the request it is serving. Kept-alive
        # connections with no request begun are closed at once.
        while self.alive or self.waiting:
            if listening and not self.alive:
                listening = False
                if self.paused_until is None:
                    for listener in self.sockets:
                        self.selector.unregister(listener)
                self.paused_until = None
                for item in [i for i in self.waiting.values() if i.idle]:
                    self._drop(item)
            if time.monotonic() >= self.next_notify:  # a file operation: not every round
                self.notify()
                self.next_notify = time.monotonic() + NOTIFY_INTERVAL
            watched = listening and self.paused_until is None
            self.pending_seen = False
            for key, _ in self.selector.select(self._wait_seconds()):
                self._ready(key.data)
            if watched and not self.pending_seen:
                # The listening socket was watched and nothing was pending: whatever this
                # worker declined has been taken. The next refusal starts a new wait, so
                # `BALANCE_PATIENCE` counts one wait, not the time since the first refusal
                # ever (which had let an over-loaded worker take every later connection).
                self.declining_since = None
            self._expire()
            if self.table is not None:
                self.table.publish(self.ym_slot, len(self.waiting))
                if self.paused_until is not None and time.monotonic() >= self.paused_until:
                    self._listen()
            if not self.is_parent_alive():
                return

    def _wait_seconds(self) -> float:
        wait = min(self.timeout or 0.5, 1.0)
        if self.paused_until is not None:
            wait = min(wait, max(self.paused_until - time.monotonic(), 0.0))
        if self.waiting:
            wait = min(wait, max(self.next_scan - time.monotonic(), 0.0))
        return float(wait)

    def _ready(self, data: Any) -> None:
        if data is None:
            drain_pipe(self.PIPE[0])
        elif isinstance(data, Waiting):
            if self._is_waiting(data):  # not refused earlier in this round
                self._read(data)
        else:
            self.pending_seen = True
            if self.alive and self._may_accept():
                self._accept(data)

    def _may_accept(self) -> bool:
        """Accept now, or leave new connections to a less loaded worker for a moment?"""
        if self.table is None or self.table.may_accept(self.ym_slot, len(self.waiting)):
            self.declining_since = None
            return True
        now = time.monotonic()
        if self.declining_since is None:
            self.declining_since = now
        if now - self.declining_since >= BALANCE_PATIENCE:
            return True  # the others have not taken them: they may be stuck
        self._pause(now + BALANCE_PAUSE)
        return False

    def _pause(self, until: float) -> None:
        if self.paused_until is None:  # (several listeners may be ready in one round)
            for listener in self.sockets:
                self.selector.unregister(listener)
        self.paused_until = until

    def _listen(self) -> None:
        if self.paused_until is not None:
            for listener in self.sockets:
                self.selector.register(listener, selectors.EVENT_READ, listener)
        self.paused_until = None

    def _accept(self, listener: Any) -> None:
        for taken in range(ACCEPT_BURST):
            if not self.alive:  # a request served meanwhile made it the worker's last
                return
            # Taking a connection may serve its first request (a batch: milliseconds), so the
            # balance is asked again before each further one: a burst of new connections must
            # not all land here while another worker waits idle.
            if taken and not self._may_accept():
                return
            try:
                client, addr = listener.accept()
            except OSError as err:
                if err.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                    raise
                return
            self._take(listener, client, addr)
            if self.table is not None:
                self.table.publish(self.ym_slot, len(self.waiting))

    def _take(self, listener: Any, client: socket.socket, addr: Any) -> None:
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
            idle = next((i for i in self.waiting.values() if i.idle), None)
            if idle is not None:  # a kept-alive connection owes nobody an answer
                self._drop(idle)
                continue
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
        while (
            self.fast is not None
            and item.want is not None
            and item.head_end is not None
            and type(item.addr) is tuple  # TCP: a unix socket's peer has no address and port
        ):
            head = http_fast.read_head(bytes(item.data[: item.head_end]), self.fast)
            if head is None:
                break
            if not self._serve_fast(item, head) or not (item.data and self._arrived(item)):
                return
            # else a pipelined request has arrived already: answered in order
        self._forget(item)
        item.sock.setblocking(True)
        prefix = bytes(item.data)
        conn = DeadlineSocket(
            item.sock, prefix, item.deadline, self.limits.send_timeout, item.phase
        )
        self.handle(item.listener, conn, item.addr)

    def _serve_fast(self, item: Waiting, head: http_fast.Head) -> bool:
        """Answer an ordinary request here; True if the connection is kept for the next."""
        assert item.want is not None and item.head_end is not None
        body = bytes(item.data[item.head_end + len(HEAD_END) : item.want])
        rest = bytes(item.data[item.want :])
        self.buffered -= len(item.data)
        item.data = bytearray()
        self.nr += 1
        if self.nr >= self.max_requests:
            self.log.info("Autorestarting worker after current request.")
            self.alive = False
        if item.base is None:
            item.base = http_fast.base_environ(
                self.shared_environ, item.listener.getsockname(), item.addr
            )
        environ = http_fast.request_environ(item.base, head, body, item.sock)
        reply = http_fast.Reply(self.clock)
        try:
            data = http_fast.body_of(self.wsgi(environ, reply.start_response), reply.length)
        except Exception:  # as gunicorn's handle_error: logged, a 500 problem, closed
            self.log.exception("Error handling request %s", environ["RAW_URI"])
            self._send(item, problem_http(500, "unexpected error"))
            self._drop(item)
            return False
        framed = reply.length == len(data) or (reply.length is None and reply.bodiless())
        keep = head.keep_alive and framed and self.alive
        # (not in the middle of a pipeline: the requests already sent would be lost)
        keep = keep and (bool(rest) or item.served + 1 < MAX_REQUESTS_PER_CONNECTION)
        sent = self._send(item, reply.encode(data, keep))
        if sent is None:
            return False
        if not keep or sent == "waited":
            # A client that left its responses unread had this worker wait for it once; it
            # does not get a next request served (each with its own send window) on top.
            self._forget(item)
            close_after_response(item.sock)
            return False
        item.served += 1
        item.head_end = item.want = None
        item.data = bytearray(rest)
        self.buffered += len(rest)
        wait = self.limits.header_timeout if rest else self.cfg.keepalive
        item.deadline = time.monotonic() + wait
        return True

    def _send(self, item: Waiting, data: bytes) -> Literal["at once", "waited"] | None:
        """Write a whole response within `send_timeout`: "at once", or "waited" when the
        client's socket buffer was full; None (and closed) if it failed."""
        sock = item.sock
        try:
            try:
                sent = sock.send(data)  # one call, for any response the socket buffer holds
            except BlockingIOError:
                sent = 0
            if sent == len(data):
                return "at once"
            sock.settimeout(self.limits.send_timeout)
            try:
                sock.sendall(memoryview(data)[sent:])
            finally:
                sock.setblocking(False)
        except TimeoutError:
            count_dropped("send_timeout")
            self._drop(item)
            return None
        except OSError:  # the client left
            self._drop(item)
            return None
        return "waited"

    def _expire(self) -> None:
        now = time.monotonic()
        if now < self.next_scan:
            return
        self.next_scan = now + SCAN_INTERVAL
        for item in [i for i in self.waiting.values() if i.deadline <= now]:
            self._read(item)  # it may have arrived while this worker was serving another
            if self._is_waiting(item) and item.idle:
                self._drop(item)  # the keep-alive time is over: close, as any server does
            elif self._is_waiting(item):
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
