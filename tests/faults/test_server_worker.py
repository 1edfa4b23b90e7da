"""Fault suite, server pieces: the deadline socket, the body guard, start-up checks and the
merging of exited workers' metrics, each on its own (issue 10). The real server runs in
tests/test_server.py and test_server_slow_clients.py."""

from __future__ import annotations

import io
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from youthmode.server.body_guard import BodyGuard
from youthmode.server.config import ServerConfig, unknown_variables
from youthmode.server.connection import DeadlineSocket, ReadDeadline, problem_http
from youthmode.server.metrics import _FolderCollector, merge_dead_process
from youthmode.server.runner import inherited_fds
from youthmode.server.waiting import body_length

# --- The deadline socket --------------------------------------------------------------------


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, theirs = socket.socketpair()
    yield ours, theirs
    ours.close()
    theirs.close()


def test_bytes_already_read_come_first(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, theirs = pair
    conn = DeadlineSocket(
        ours, b"GET / HTTP/1.1\r\n", read_deadline=time.monotonic() + 60, send_seconds=10
    )
    theirs.sendall(b"Host: x\r\n\r\n")
    assert conn.recv(4) == b"GET "
    assert conn.recv(100) == b"/ HTTP/1.1\r\n"
    assert conn.recv(100) == b"Host: x\r\n\r\n"


def test_reads_end_at_the_deadline(pair: tuple[socket.socket, socket.socket], freezer: Any) -> None:
    import time

    ours, theirs = pair
    conn = DeadlineSocket(ours, b"", time.monotonic() + 10, send_seconds=10, phase="body")
    theirs.sendall(b"a")
    assert conn.recv(10) == b"a"
    freezer.tick(11)
    theirs.sendall(b"b")  # even with bytes waiting: the request is late as a whole
    with pytest.raises(ReadDeadline, match="body did not arrive"):
        conn.recv(10)
    conn.shutdown(socket.SHUT_WR)  # gunicorn closing: draining reads are not the request's
    assert conn.recv(10) == b"b"


def test_the_response_must_be_taken_within_the_send_window(
    pair: tuple[socket.socket, socket.socket], freezer: Any
) -> None:
    ours, theirs = pair
    conn = DeadlineSocket(ours, b"", read_deadline=time.monotonic() + 60, send_seconds=10)
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    freezer.tick(5)
    conn.send(b"x")  # `100 Continue` has its own window
    conn.sendall(b"\r\n")
    freezer.tick(6)
    with pytest.raises(BrokenPipeError):
        conn.sendall(b"body")
    assert theirs.recv(100) == b"HTTP/1.1 200 OK\r\nx\r\n"


@pytest.mark.parametrize(
    ("head", "length"),
    [
        (b"GET / HTTP/1.1\r\nHost: x", 0),
        (b"POST / HTTP/1.1\r\nContent-Length: 12", 12),
        (b"POST / HTTP/1.1\r\ncontent-length:  7 ", 7),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked", None),
        (b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5", None),
        (b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6", None),
        (b"POST / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 6", None),
        (b"POST / HTTP/1.1\r\nContent-Length: -1", None),
        (b"POST / HTTP/1.1\r\nno colon here", None),
    ],
)
def test_body_length_buffers_only_what_is_plain(head: bytes, length: int | None) -> None:
    assert body_length(head) == length


def test_a_raw_problem_is_a_whole_http_response() -> None:
    raw = problem_http(408, "the request head did not arrive within 5 s")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"Content-Type: application/problem+json" in head
    assert f"Content-Length: {len(body)}".encode() in head
    assert json.loads(body) == {
        "type": "urn:youthmode:problem:request-timeout",
        "title": "Request timeout",
        "status": 408,
        "detail": "the request head did not arrive within 5 s",
    }


# --- The body guard -------------------------------------------------------------------------


class Seen:
    """A WSGI app that records the body it was given."""

    body: bytes | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [])
        return [b"ok"]


def call(guard: BodyGuard, environ: dict[str, Any]) -> tuple[str, dict[str, Any] | bytes]:
    answer: dict[str, Any] = {}
    body = b"".join(guard(environ, lambda status, headers: answer.update(status=status)))
    return answer["status"], json.loads(body) if answer["status"][0] == "4" else body


def chunked(body: bytes) -> dict[str, Any]:
    return {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(body)}


def test_a_chunked_body_over_the_limit_is_413() -> None:
    status, problem = call(BodyGuard(Seen(), 100), chunked(b"x" * 101))
    assert status.startswith("413") and isinstance(problem, dict)
    assert problem["type"] == "urn:youthmode:problem:content-too-large"


def test_a_chunked_body_within_the_limit_reaches_the_app_whole() -> None:
    app = Seen()
    status, _ = call(BodyGuard(app, 100), chunked(b"x" * 100))
    assert status == "200 OK" and app.body == b"x" * 100


def test_a_late_body_is_408() -> None:
    class Late(io.RawIOBase):
        def read(self, size: int = -1) -> bytes:
            raise ReadDeadline("the request body did not arrive in time")

    environ = {"CONTENT_LENGTH": "10", "wsgi.input": Late()}
    status, problem = call(BodyGuard(Seen(), 100), environ)
    assert status.startswith("408") and isinstance(problem, dict)
    assert problem["title"] == "Request timeout"


def test_a_declared_length_over_the_limit_is_413_unread() -> None:
    environ = {"CONTENT_LENGTH": "1000", "wsgi.input": io.BytesIO(b"")}
    assert call(BodyGuard(Seen(), 100), environ)[0].startswith("413")


# --- Start-up checks ------------------------------------------------------------------------


def test_unknown_variables_get_a_did_you_mean() -> None:
    env = {
        "YOUTHMODE_WORKERS": "2",
        "YOUTHMODE_DECISON_LOG": "-",
        "YOUTHMODE_ZZZ": "1",
        "YOUTHMODE_UPDATE_GOLDEN": "1",  # the project's own tests read it
        "HOME": "/root",
    }
    assert unknown_variables(env) == [
        "unknown environment variable `YOUTHMODE_DECISON_LOG`; "
        "did you mean `YOUTHMODE_DECISION_LOG`?",
        "unknown environment variable `YOUTHMODE_ZZZ`",
    ]


@pytest.mark.parametrize(
    "bad",
    [{"workers": 0}, {"workers": -2}, {"threads": 0}, {"body_timeout": float("nan")}],
)
def test_settings_that_cannot_serve_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=f"setting `{next(iter(bad))}`"):
        ServerConfig(**bad)


def test_inherited_sockets_are_found_as_gunicorn_finds_them() -> None:
    import os

    assert inherited_fds({"LISTEN_FDS": "2", "LISTEN_PID": "1"}) == []  # for another process
    assert inherited_fds({"LISTEN_FDS": "2", "LISTEN_PID": str(os.getpid())}) == [3, 4]
    assert inherited_fds({"GUNICORN_FD": "7,9"}) == [7, 9]


# --- Metrics of exited workers --------------------------------------------------------------

DECISIONS = mmap_key("youthmode_decisions", "youthmode_decisions_total", ["e"], ["allow"], "d")
BUCKET = mmap_key("youthmode_l", "youthmode_l_bucket", ["le"], ["0.1"], "l")
INFO = mmap_key("youthmode_policy_info", "youthmode_policy_info", ["id"], ["x"], "i")


def write_worker(folder: Path, pid: int, decisions: float) -> None:
    for kind, key, value in [
        ("counter", DECISIONS, decisions),
        ("histogram", BUCKET, decisions),
        ("gauge_livemax", INFO, 1.0),
    ]:
        values = MmapedDict(str(folder / f"{kind}_{pid}.db"))  # type: ignore[no-untyped-call]
        values.write_value(key, value, 0.0)  # type: ignore[no-untyped-call]
        values.close()  # type: ignore[no-untyped-call]


def total(folder: Path, sample: str) -> float:
    for metric in _FolderCollector(folder).collect():
        for s in metric.samples:
            if s.name == sample:
                return float(s.value)
    return 0.0


def test_exited_workers_are_merged_and_their_files_removed(tmp_path: Path) -> None:
    write_worker(tmp_path, 100, 3)
    for pid in range(101, 106):  # five restarts, one worker each
        write_worker(tmp_path, pid, 2)
        merge_dead_process(pid - 1, tmp_path)
    assert total(tmp_path, "youthmode_decisions_total") == 13
    assert total(tmp_path, "youthmode_l_bucket") == 13
    assert sorted(p.name for p in tmp_path.glob("*.db")) == [
        "counter_105.db",
        "counter_merged.db",
        "gauge_livemax_105.db",
        "histogram_105.db",
        "histogram_merged.db",
    ]
    merge_dead_process(999, tmp_path)  # a worker that never counted anything
    assert total(tmp_path, "youthmode_decisions_total") == 13
