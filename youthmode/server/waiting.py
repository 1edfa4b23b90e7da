"""A client connection while its request arrives, as `BufferedSyncWorker` (worker.py) holds it.

`Waiting` is an accepted connection whose request has not all arrived (or, kept alive,
whose next request has not begun); `Limits` its deadlines; `body_length` how long to buffer.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import Any

from gunicorn import util  # type: ignore[import-untyped]  # gunicorn ships no type hints

from youthmode.server.config import ServerConfig

HEAD_END = b"\r\n\r\n"
# A head longer than this is handed to gunicorn's parser as it is: its limits (4094-byte
# request line, 100 fields of 8190 bytes) answer 414 or 431.
HEAD_BUFFER = 64 * 1024


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
    served: int = 0  # requests answered on this connection (kept alive)
    base: dict[str, Any] | None = None  # the environ entries of the connection, once needed

    @property
    def idle(self) -> bool:
        """Kept alive and waiting for a next request that has not begun."""
        return self.served > 0 and not self.data

    @property
    def phase(self) -> str:
        return "head" if self.head_end is None else "body"


def close_after_response(sock: socket.socket) -> None:
    """Close without losing the response: bytes the client sent meanwhile, left unread,
    would make the kernel reset the connection, and a reset can discard the response
    before the client has read it."""
    try:
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(65536):
            pass
    except OSError:  # drained (non-blocking), or the client is gone
        pass
    util.close(sock)


def drain_pipe(fd: int) -> None:
    """Empty the wake-up pipe that gunicorn's signal handlers write to."""
    try:
        while os.read(fd, 4096):
            pass
    except OSError:  # empty: it is non-blocking
        pass
