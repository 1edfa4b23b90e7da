"""A TCP proxy on loopback in front of a store, for the fault tests: each subclass says what
one connection's two directions pass on (a reply lost, held back, split in two)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from typing import Any


class TcpProxy:
    """Listens on a free loopback port (`port`); every connection accepted is joined to a new
    one to ``upstream_port`` and handed to `joined`. `close` stops accepting."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.accepting = True
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        run(self._serve)

    def joined(self, client: socket.socket, upstream: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.accepting = False
        self.listener.close()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.accepting:
                client.close()
                continue
            self.joined(client, socket.create_connection(("127.0.0.1", self.upstream_port)))


def run(target: Callable[..., Any], *args: Any) -> None:
    """``target(*args)`` on a daemon thread."""
    threading.Thread(target=target, args=args, daemon=True).start()


def close_all(*sockets: socket.socket) -> None:
    """Shut down and close each socket; one already closed is no error."""
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
