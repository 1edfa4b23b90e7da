"""Fault suite, server: slow clients cannot stall the API (issue 10).

On e482a15 two sockets sending one header byte every 2 s held both sync workers, and /healthz
waited 18-31 s. Here 50 such sockets are open while /healthz and decisions are measured.

Run as a script to measure (docs/operations.md has the figures):

    .venv/bin/python tests/faults/test_server_slow_clients.py                    # this worker
    .venv/bin/python tests/faults/test_server_slow_clients.py --worker-class sync  # before
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # also when run as a script
from test_server import GAME, Server, split_response

SLOW_SOCKETS = 50
HEAD = b"GET /healthz HTTP/1.1\r\nHost: slow\r\nUser-Agent: " + b"s" * 200 + b"\r\n\r\n"


@dataclass
class Trickle:
    """Sockets that each send one byte of a request head a second, for a bounded time."""

    port: int
    count: int
    seconds: float
    answers: list[bytes] = field(default_factory=list)
    closed_at: list[float] = field(default_factory=list)

    def run(self) -> None:
        started = time.monotonic()
        open_ = [socket.create_connection(("127.0.0.1", self.port)) for _ in range(self.count)]
        sent, next_byte = 0, started
        while time.monotonic() - started < self.seconds and sent < len(HEAD):
            if time.monotonic() >= next_byte:
                for conn in open_:
                    try:
                        conn.send(HEAD[sent : sent + 1])
                    except OSError:
                        pass  # closed meanwhile; its answer is read below
                sent, next_byte = sent + 1, next_byte + 1.0
            wait = max(next_byte - time.monotonic(), 0.0)
            readable, _, _ = select.select(open_, [], [], wait)
            for conn in readable:  # the server answered and closed: take the answer
                self._finish(conn, started)
                open_.remove(conn)
        for conn in open_:
            self._finish(conn, started)

    def _finish(self, conn: socket.socket, started: float) -> None:
        conn.settimeout(0.5)
        data = b""
        try:
            while chunk := conn.recv(65536):
                data += chunk
        except OSError:
            pass
        conn.close()
        if data:
            self.answers.append(data)
            self.closed_at.append(time.monotonic() - started)


@dataclass
class Load:
    """/healthz latencies and decisions answered, measured while the trickle runs."""

    server: Server
    healthz: list[float | None] = field(default_factory=list)
    decisions: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def probe(self) -> None:
        while not self.stop.wait(0.25):
            started = time.monotonic()
            try:
                ok = self.server.get("/healthz")[0] == 200
            except OSError:  # timed out (urllib's 10 s)
                ok = False
            self.healthz.append(time.monotonic() - started if ok else None)

    def decide(self) -> None:
        while not self.stop.is_set():
            try:
                if self.server.call("POST", "/v1/decisions", GAME)[0] == 200:
                    self.decisions += 1
            except OSError:
                pass


def measure(
    server: Server, seconds: float, slow: int = SLOW_SOCKETS
) -> tuple[Trickle, Load, float]:
    trickle = Trickle(server.port, slow, seconds)
    load = Load(server)
    threads = [threading.Thread(target=t) for t in (trickle.run, load.probe, load.decide)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    threads[0].join()
    load.stop.set()
    for thread in threads[1:]:
        thread.join()
    return trickle, load, time.monotonic() - started


def test_fifty_slow_clients_do_not_stall_the_api(tmp_path: Path) -> None:
    server = Server(tmp_path)  # 2 workers, header timeout 5 s
    try:
        trickle, load, elapsed = measure(server, seconds=7)
    finally:
        server.stop()
    answered = [t for t in load.healthz if t is not None]
    assert answered and len(answered) == len(load.healthz), load.healthz
    assert max(answered) < 2.0, answered
    assert load.decisions / elapsed > 20, (load.decisions, elapsed)
    # Each slow socket was answered 408 about 5 s in, not served and not left hanging.
    assert len(trickle.answers) >= SLOW_SOCKETS * 0.9
    for answer in trickle.answers:
        status, headers, body = split_response(answer)
        assert status == 408 and headers["content-type"] == "application/problem+json"
        assert json.loads(body)["type"] == "urn:youthmode:problem:request-timeout"
    assert all(4.5 < at < 6.5 for at in trickle.closed_at), trickle.closed_at


def report(trickle: Trickle, load: Load, elapsed: float) -> dict[str, Any]:
    answered = [t for t in load.healthz if t is not None]
    return {
        "healthz_probes": len(load.healthz),
        "healthz_unanswered_in_10s": len(load.healthz) - len(answered),
        "healthz_median_s": round(statistics.median(answered), 4) if answered else None,
        "healthz_max_s": round(max(answered), 4) if answered else None,
        "decisions_per_s": round(load.decisions / elapsed, 1),
        "slow_sockets_answered_408": sum(b" 408 " in a.split(b"\r\n")[0] for a in trickle.answers),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker-class", help="YOUTHMODE_WORKER_CLASS, e.g. sync")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--slow", type=int, default=SLOW_SOCKETS, help="slow sockets (0: idle)")
    args = parser.parse_args()
    env = {"YOUTHMODE_DECISION_LOG": "off"}
    if args.worker_class:
        env["YOUTHMODE_WORKER_CLASS"] = args.worker_class
    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(folder), env)
        try:
            result = report(*measure(server, args.seconds, args.slow))
            print(json.dumps({"worker_class": args.worker_class, "slow": args.slow, **result}))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
