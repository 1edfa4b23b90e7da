"""The real server keeps HTTP/1.1 connections open (worker.py, http_fast.py; issue 13).

Each test talks raw HTTP over one socket to a running `youthmode serve`, so what is checked is
what a client sees: the same answers as before, several requests per connection, pipelining in
order, and idle connections that neither hold a worker nor hold up shutdown.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_server import GAME, Server

from youthmode.engine import Engine
from youthmode.server import balance

DECISION = json.dumps(GAME).encode()
VARYING = ("date", "connection", "x-request-id")


def post(path: str, body: bytes, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def read_response(conn: socket.socket, buffer: bytearray) -> tuple[int, dict[str, str], bytes]:
    """One response from ``conn`` (framed by Content-Length); the rest stays in ``buffer``."""
    while b"\r\n\r\n" not in buffer:
        chunk = conn.recv(65536)
        assert chunk, f"connection closed before a response; got {bytes(buffer)!r}"
        buffer += chunk
    end = buffer.index(b"\r\n\r\n")
    lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:])}
    length = int(headers["content-length"])
    while len(buffer) < end + 4 + length:
        chunk = conn.recv(65536)
        assert chunk, "connection closed inside a body"
        buffer += chunk
    body = bytes(buffer[end + 4 : end + 4 + length])
    del buffer[: end + 4 + length]
    return int(lines[0].split()[1]), headers, body


def closed_by_server(conn: socket.socket, within: float) -> bytes | None:
    """What the server sent before closing, or None if it was still open after ``within``."""
    conn.settimeout(within)
    data = b""
    try:
        while chunk := conn.recv(65536):
            data += chunk
    except TimeoutError:
        return None
    return data


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path)
    yield running
    running.stop()


def connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=20)


def without_id(body: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(body)
    decoded.pop("decision_id")
    return decoded


def test_several_requests_share_one_connection(server: Server) -> None:
    expected = Engine.from_path(server.policies).decide(GAME).effect
    with connect(server) as conn:
        buffer = bytearray()
        for _ in range(5):
            conn.sendall(post("/v1/decisions", DECISION))
            status, headers, body = read_response(conn, buffer)
            assert status == 200 and headers["connection"] == "keep-alive"
            assert json.loads(body)["effect"] == expected
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_response(conn, buffer)[0] == 200


def test_pipelined_requests_are_answered_in_order(server: Server) -> None:
    many = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n" * 3000  # 105 kB, several reads
    batch = json.dumps({"requests": [GAME, GAME]}).encode()
    with connect(server) as conn:
        conn.sendall(
            post("/v1/decisions", DECISION)
            + b"GET /v1/policies HTTP/1.1\r\nHost: t\r\n\r\n"
            + post("/v1/decisions/batch", batch)
            + many
        )
        buffer = bytearray()
        first, second, third = (read_response(conn, buffer) for _ in range(3))
        assert "effect" in json.loads(first[2])
        assert "policies" in json.loads(second[2])
        assert len(json.loads(third[2])["decisions"]) == 2
        # Answered in order until the server recycles the connection (it may, once a read
        # leaves nothing pipelined: a client resends what was not answered, as HTTP says).
        answered = 3
        while answered < 3003:
            status, headers, _ = read_response(conn, buffer)
            assert status == 200
            answered += 1
            if headers["connection"] == "close":
                break
        assert answered >= 100
        assert answered == 3003 or closed_by_server(conn, within=10) is not None


def test_a_connection_is_recycled_after_its_share_of_requests(server: Server) -> None:
    """Closing now and then lets a client's connections spread over the workers again."""
    from youthmode.server.worker import MAX_REQUESTS_PER_CONNECTION

    with connect(server) as conn:
        buffer = bytearray()
        for n in range(1, MAX_REQUESTS_PER_CONNECTION + 1):
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            status, headers, _ = read_response(conn, buffer)
            assert status == 200
            if n < MAX_REQUESTS_PER_CONNECTION:
                assert headers["connection"] == "keep-alive"
        assert headers["connection"] == "close"
        assert closed_by_server(conn, within=10) == b""


def test_the_fast_path_answers_as_gunicorn_does(server: Server) -> None:
    """The same decision through the worker's own path (HTTP/1.1) and gunicorn's (HTTP/1.0)."""
    with connect(server) as conn:
        conn.sendall(post("/v1/decisions", DECISION))
        fast = read_response(conn, bytearray())
    slow_raw = server.raw(post("/v1/decisions", DECISION).replace(b"HTTP/1.1", b"HTTP/1.0", 1))
    head, _, slow_body = slow_raw.partition(b"\r\n\r\n")
    slow_headers = dict(line.split(": ", 1) for line in head.decode("latin-1").split("\r\n")[1:])
    assert fast[0] == int(head.split()[1]) == 200
    assert without_id(fast[2]) == without_id(slow_body)
    same = {k.lower(): v for k, v in slow_headers.items() if k.lower() not in VARYING}
    assert {k: v for k, v in fast[1].items() if k not in VARYING} == same
    assert slow_headers["Connection"] == "close"


def test_connection_close_and_http_1_0_are_closed_after_the_response(server: Server) -> None:
    for request in (
        b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        b"GET /healthz HTTP/1.0\r\n\r\n",
    ):
        with connect(server) as conn:
            conn.sendall(request)
            answer = closed_by_server(conn, within=10)
            assert answer is not None and answer.split(b" ", 2)[1] == b"200"
            assert b"Connection: close" in answer


def test_errors_keep_the_connection_and_refusals_close_it(server: Server) -> None:
    with connect(server) as conn:
        buffer = bytearray()
        conn.sendall(post("/v1/decisions", b"{not json"))
        status, headers, _ = read_response(conn, buffer)
        assert status == 400 and headers["content-type"] == "application/problem+json"
        conn.sendall(post("/v1/decisions", DECISION))  # the same connection still decides
        assert read_response(conn, buffer)[0] == 200
        conn.sendall(b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: t\r\n\r\n")
        answer = closed_by_server(conn, within=10)  # gunicorn's refusal: 414, then closed
        assert answer is not None and answer.startswith(b"HTTP/1.1 414")


@pytest.fixture
def short_keepalive(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path, {"YOUTHMODE_KEEPALIVE": "1", "YOUTHMODE_HEADER_TIMEOUT": "1"})
    yield running
    running.stop()


def test_an_idle_connection_is_closed_quietly_and_a_begun_request_gets_408(
    short_keepalive: Server,
) -> None:
    with connect(short_keepalive) as idle, connect(short_keepalive) as begun:
        for conn in (idle, begun):
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            assert read_response(conn, bytearray())[0] == 200
        begun.sendall(b"GET /healthz HTTP/1.1\r\nHo")
        assert closed_by_server(idle, within=10) == b""  # no answer owed: nothing sent
        late = closed_by_server(begun, within=10)
        assert late is not None and late.startswith(b"HTTP/1.1 408")
        assert b"urn:youthmode:problem:request-timeout" in late


def test_keepalive_zero_closes_every_connection(tmp_path: Path) -> None:
    running = Server(tmp_path, {"YOUTHMODE_KEEPALIVE": "0"})
    try:
        with connect(running) as conn:
            conn.sendall(post("/v1/decisions", DECISION))
            answer = closed_by_server(conn, within=10)
            assert answer is not None and b"Connection: close" in answer
            assert b'"effect"' in answer
    finally:
        running.stop()


def test_idle_connections_neither_hold_workers_nor_shutdown(tmp_path: Path) -> None:
    running = Server(tmp_path, {"YOUTHMODE_KEEPALIVE": "600"})
    conns = [connect(running) for _ in range(60)]
    try:
        for conn in conns:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            assert read_response(conn, bytearray())[0] == 200
        # 60 kept-alive connections, 2 workers: a new caller is still answered at once
        with connect(running) as fresh:
            fresh.sendall(post("/v1/decisions", DECISION))
            assert read_response(fresh, bytearray())[0] == 200
        started = time.monotonic()
        running.proc.send_signal(signal.SIGTERM)
        running.proc.wait(timeout=25)  # the graceful timeout is 30 s; idle ones are closed
        assert running.proc.returncode == 0
        assert time.monotonic() - started < 20
        assert all(closed_by_server(conn, within=5) == b"" for conn in conns)
    finally:
        for conn in conns:
            conn.close()
        if running.proc.poll() is None:
            running.stop()
        else:
            running.log.close()


def sockets_of(pid: int) -> int:
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except FileNotFoundError:  # closed between the listing and the look (a metrics file)
            continue
    return count


def test_a_pool_of_connections_spreads_over_the_workers(server: Server) -> None:
    """40 kept-alive connections opened one after another: each worker holds a share, though
    whichever worker is woken first could take them all (the balance of balance.py)."""
    workers = sorted(server.workers())
    before = {pid: sockets_of(pid) for pid in workers}
    conns = []
    try:
        for _ in range(40):
            conn = connect(server)
            conns.append(conn)
            conn.sendall(post("/v1/decisions", DECISION))
            assert read_response(conn, bytearray())[0] == 200
        held = {pid: sockets_of(pid) - before[pid] for pid in workers}
        assert min(held.values()) >= 10, held
    finally:
        for conn in conns:
            conn.close()


def test_the_balance_holds_again_after_a_worker_was_stuck(tmp_path: Path) -> None:
    """A worker that took connections past the balance while the other was stuck (a client
    that never reads its responses holds it for `YOUTHMODE_SEND_TIMEOUT`) leaves later ones
    to the other once it is free again. Its patience counts one wait, not the time since its
    first refusal ever: that had let the busier worker take every later connection once it
    had waited once, and one worker do 84 % of a batch benchmark's work (docs/performance.md).
    """
    env = {"YOUTHMODE_SEND_TIMEOUT": "3", "YOUTHMODE_KEEPALIVE": "60"}
    running = Server(tmp_path, env)
    workers = sorted(running.workers())
    hog = socket.socket()
    conns: list[socket.socket] = []

    def open_one() -> int:
        conns.append(conn := connect(running))
        conn.sendall(post("/v1/decisions", DECISION))
        assert read_response(conn, bytearray())[0] == 200
        return worker_of(conn, workers)

    try:
        hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        hog.connect(("127.0.0.1", running.port))
        hog.setblocking(False)
        request = post("/v1/decisions", DECISION)
        sent, started = 0, time.monotonic()
        while sent < 20_000 * len(request) and time.monotonic() - started < 5:
            try:
                sent += hog.send(request * 50)
            except BlockingIOError:
                break  # the server's buffers are full too
        # Its worker serves the pipeline until the client's buffers are full, then waits
        # (`YOUTHMODE_SEND_TIMEOUT`) for room to send the next response.
        stuck = worker_of(hog, workers)
        running.wait_until(lambda: asleep_elsewhere(stuck), "the worker did not get stuck")
        free = next(pid for pid in workers if pid != stuck)
        # `free` takes them all: those past the balance after waiting for `stuck` a while
        assert [open_one() for _ in range(5)] == [free] * 5
        assert asleep_elsewhere(stuck)  # all along
        running.wait_until(
            lambda: (
                running.metric('youthmode_connections_dropped_total{reason="send_timeout"}') >= 1
            ),
            "the reader that never reads was not dropped",
        )
        # 5 against 0: `free` is over the balance, and `stuck` is free again to take them
        assert [open_one() for _ in range(3)] == [stuck] * 3
    finally:
        hog.close()
        for conn in conns:
            conn.close()
        running.stop()


def worker_of(conn: socket.socket, workers: list[int]) -> int:
    """The worker holding the server's end of ``conn``, once one has accepted it."""
    holder: list[int] = []

    def accepted() -> bool:
        holder.extend(holder_of(conn, workers))
        return bool(holder)

    deadline = time.monotonic() + 10
    while not accepted():
        assert time.monotonic() < deadline, f"no worker accepted {conn.getsockname()}"
        time.sleep(0.01)
    return holder[0]


def holder_of(conn: socket.socket, workers: list[int]) -> list[int]:
    """The workers holding the server's end of ``conn`` (by its socket's inode)."""
    client = f"{conn.getsockname()[1]:04X}"
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[2].endswith(":" + client) and fields[1].endswith(f":{conn.getpeername()[1]:04X}"):
            inodes.add(f"socket:[{fields[9]}]")
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) in inodes:
                    return [pid]
            except FileNotFoundError:
                continue
    return []


def asleep_elsewhere(pid: int) -> bool:
    """Is the worker asleep, but not in its event loop's wait (nor running)?"""
    return Path(f"/proc/{pid}/wchan").read_text() not in ("0", "do_epoll_wait")


def test_the_connection_table_leaves_new_connections_to_the_least_loaded() -> None:
    table = balance.ConnectionTable(slots=4)

    class Worker:
        ym_slot: int

    one, two, three = Worker(), Worker(), Worker()
    for worker in (one, two):
        table.assign(worker)
    assert (one.ym_slot, two.ym_slot) == (0, 1)
    table.publish(0, 10)
    table.publish(1, 7)
    assert not table.may_accept(0, 10) and table.may_accept(1, 7)
    assert table.may_accept(0, 9)  # within SLACK of the least loaded
    table.release(two)  # an exited worker's count no longer holds the others back
    assert table.may_accept(0, 10)
    table.assign(three)  # takes the freed slot, starting from nothing
    assert three.ym_slot == 1 and not table.may_accept(0, 10)


def test_a_client_that_never_reads_holds_a_worker_once_then_is_dropped(tmp_path: Path) -> None:
    """Pipelined requests whose responses are never read fill the socket buffers; the worker
    waits `YOUTHMODE_SEND_TIMEOUT` for that client once, then drops it, and the other worker
    answers meanwhile. (Each further response must not get a send window of its own.)"""
    running = Server(tmp_path, {"YOUTHMODE_SEND_TIMEOUT": "1"})
    hog = socket.socket()
    try:
        hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: the window
        hog.connect(("127.0.0.1", running.port))
        request = post("/v1/decisions", DECISION)
        hog.setblocking(False)
        sent = 0
        started = time.monotonic()
        while sent < 20_000 * len(request) and time.monotonic() - started < 5:
            try:
                sent += hog.send(request * 50)
            except BlockingIOError:
                break  # the server stopped reading: its responses are not taken
        with connect(running) as other:  # the other worker (or this one, after 1 s) answers
            other.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            asked = time.monotonic()
            assert read_response(other, bytearray())[0] == 200
            assert time.monotonic() - asked < 5
        running.wait_until(
            lambda: (
                running.metric('youthmode_connections_dropped_total{reason="send_timeout"}') >= 1
            ),
            "the reader that never reads was not dropped",
        )
    finally:
        hog.close()
        running.stop()


def test_a_slow_reader_gets_no_further_requests_served_after_a_full_buffer(
    server: Server,
) -> None:
    """Reading just fast enough to take each response within its send window must not hold a
    worker for a whole pipeline: the connection is closed long before (after a response the
    server had to wait for, or at the per-connection cap once its buffer runs dry)."""
    count = 12_000  # about 14 MB of answers: more than the kernel buffers hold
    request = post("/v1/decisions", DECISION)
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", server.port))
    sender = threading.Thread(target=_send_quietly, args=(slow, request * count), daemon=True)
    sender.start()
    try:
        got, started, closed = 0, time.monotonic(), False
        while time.monotonic() - started < 60:
            try:
                chunk = slow.recv(65536)
            except ConnectionResetError:
                # Closed with pipelined requests still unread in its receive buffer, the
                # server's side answers with a reset, not a FIN (seen once in CI): a close too
                closed = True
                break
            if not chunk:
                closed = True
                break
            got += len(chunk)
            # Slower than the server writes even when the machine is busy (at 1 ms a chunk a
            # starved server could fall behind the reader and never have to wait), and far
            # faster than its send window.
            time.sleep(0.005)
        assert closed, "the server kept serving a client that never kept up"
        assert got < count * 1000, got  # it stopped well before answering the whole pipeline
    finally:
        slow.close()
        sender.join(timeout=10)


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:
        pass  # closed by the server (or by the test) while sending: expected


def test_a_unix_socket_is_served_through_gunicorns_path(tmp_path: Path) -> None:
    """A socket from systemd may be a Unix one, whose peer has no address and port: its
    requests go the way they went before keep-alive (gunicorn's), answered and closed."""
    from test_server import serve_with_inherited_socket

    listener = socket.socket(socket.AF_UNIX)
    path = str(tmp_path / "ym.sock")
    listener.bind(path)
    proc = serve_with_inherited_socket(tmp_path, "", listener)
    try:
        deadline = time.monotonic() + 30
        answer = b""
        while time.monotonic() < deadline and not answer:
            assert proc.poll() is None, proc.communicate()[1]
            with socket.socket(socket.AF_UNIX) as conn:
                conn.settimeout(10)
                conn.connect(path)
                conn.sendall(post("/v1/decisions", DECISION))
                answer = closed_by_server(conn, within=10) or b""
        assert answer.startswith(b"HTTP/1.1 200") and b'"effect"' in answer
        assert b"Connection: close" in answer
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
