"""A Redis Cluster for the tests: 3 primaries and 3 replicas, each a `redis-server
--cluster-enabled yes` on a spare loopback port, joined by `redis-cli --cluster create`.
Nothing is kept on disk beyond the nodes' cluster files in the test's own folder."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis

NODE_TIMEOUT_MS = 1000  # how long a silent primary is given before its replica takes over


def node_port() -> int:
    """A spare port whose cluster bus port (port + 10000) is spare too: below the kernel's
    ephemeral range, where bus ports past 65535 would not exist."""
    for _ in range(200):
        port = random.randrange(20000, 30000)
        if all(_spare(p) for p in (port, port + 10000)):
            return port
    raise AssertionError("no spare port pair for a cluster node")


def _spare(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class ClusterNodeProcess:
    port: int
    proc: subprocess.Popen[bytes]

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)

    def role(self) -> str:
        info = self.client().info("replication")
        return str(info["role"])


class RedisClusterProcess:
    """Six redis-server processes forming one cluster (3 primaries, a replica each)."""

    def __init__(self, folder: Path | None = None, primaries: int = 3) -> None:
        for tool in ("redis-server", "redis-cli"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"{tool} is needed by the tests (apt-get install redis-server)")
        self.folder = folder or Path(tempfile.mkdtemp(prefix="ym-cluster-"))
        self.primaries = primaries
        self.nodes: list[ClusterNodeProcess] = []

    @property
    def url(self) -> str:
        seeds = ",".join(f"127.0.0.1:{node.port}" for node in self.nodes[: self.primaries])
        return f"redis-cluster://{seeds}"

    def start(self) -> None:
        try:
            self._create()
        except BaseException:
            self.stop()
            raise

    def _create(self) -> None:
        for _ in range(self.primaries * 2):
            self.nodes.append(self._start_node(node_port()))
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        create = ["redis-cli", "--cluster", "create", *addresses]
        subprocess.run(
            [*create, "--cluster-replicas", "1", "--cluster-yes"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=60,
        )
        self.wait_until_ok(listing_replicas=False)
        self._warm()
        self.wait_until_ok()

    def _warm(self) -> None:
        """A write on every primary (FLUSHALL of a new, empty cluster: keyless, replicated),
        so each replica's offset moves past 0 and CLUSTER SLOTS lists it."""
        for node in self.live_nodes():
            if node.role() == "master":
                node.client().flushall()

    def restart(self, node: ClusterNodeProcess) -> None:
        """Start a killed node again on its port and folder: its nodes.conf tells it that its
        replica took over, and it rejoins as that replica's replica. Only after the promotion:
        a primary with no persistence restarted before its replica took over comes back empty,
        still the primary, and its replica copies the emptiness (measured here: every write of
        the shard lost; docs/ledger.md)."""
        node.proc = self._start_node(node.port).proc

    def _start_node(self, port: int) -> ClusterNodeProcess:
        folder = self.folder / str(port)
        folder.mkdir(parents=True, exist_ok=True)
        command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1"]
        command += ["--cluster-enabled", "yes", "--cluster-node-timeout", str(NODE_TIMEOUT_MS)]
        command += ["--cluster-config-file", "nodes.conf", "--save", "", "--appendonly", "no"]
        command += ["--dir", str(folder)]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        node = ClusterNodeProcess(port, proc)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                node.client().ping()
                return node
            except redis.RedisError:
                time.sleep(0.02)  # waiting for the server process to listen
        raise AssertionError(f"redis-server on port {port} did not start")

    def wait_until_ok(self, timeout: float = 30, listing_replicas: bool = True) -> None:
        """Until every live node reports cluster_state:ok and all slots are served (and, with
        ``listing_replicas``, CLUSTER SLOTS lists a replica for every slot range)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self._reports_ok(node, listing_replicas) for node in self.live_nodes()):
                return
            time.sleep(0.05)  # the nodes are still gossiping their slots
        raise AssertionError("the Redis Cluster did not reach cluster_state:ok")

    @staticmethod
    def _reports_ok(node: ClusterNodeProcess, listing_replicas: bool) -> bool:
        try:
            info = node.client().cluster("info")
        except redis.RedisError:
            return False
        if info.get("cluster_state") != "ok" or int(info["cluster_slots_ok"]) != 16384:
            return False
        # CLUSTER SLOTS leaves out a replica until its replication offset, gossiped, is past 0
        listed = node.client().cluster("slots")
        return not listing_replicas or all(len(served) >= 4 for served in listed)

    def live_nodes(self) -> list[ClusterNodeProcess]:
        return [node for node in self.nodes if node.proc.poll() is None]

    def primary_for(self, key: str) -> ClusterNodeProcess:
        """The live node that owns ``key``'s slot now."""
        slot = int(self.live_nodes()[0].client().cluster("keyslot", key))
        for node in self.live_nodes():
            if node.role() == "master":
                for row in node.client().cluster("slots"):
                    if row[0] <= slot <= row[1] and int(row[2][1]) == node.port:
                        return node
        raise AssertionError(f"no live primary owns slot {slot}")

    def wait_for_promotion(self, key: str, timeout: float = 30) -> float:
        """Until a live node owns ``key``'s slot (the dead primary's replica, promoted) and the
        cluster is ok again; the seconds that took."""
        began = time.monotonic()
        while time.monotonic() < began + timeout:
            try:
                self.primary_for(key)
            except (AssertionError, redis.RedisError):
                time.sleep(0.02)  # the replica waits out the node timeout, then is elected
                continue
            self.wait_until_ok(listing_replicas=False)
            return time.monotonic() - began
        raise AssertionError(f"no replica took over the slot of {key}")

    def replica_of(self, primary: ClusterNodeProcess) -> ClusterNodeProcess:
        for node in self.live_nodes():
            info = node.client().info("replication")
            if info["role"] == "slave" and int(info["master_port"]) == primary.port:
                return node
        raise AssertionError(f"the primary on port {primary.port} has no live replica")

    def kill(self, node: ClusterNodeProcess) -> None:
        """kill -9: the node dies without a word; its replica is promoted after the timeout."""
        os.kill(node.proc.pid, signal.SIGKILL)
        node.proc.wait(timeout=10)

    def stop(self) -> None:
        for node in self.nodes:
            if node.proc.poll() is None:
                node.proc.terminate()
        for node in self.nodes:
            node.proc.wait(timeout=10)
        self.nodes = []


def shared_cluster_url() -> tuple[str, RedisClusterProcess | None]:
    """The cluster the ledger tests share: REDIS_CLUSTER_TEST_URL, else one started here
    (returned, for the caller to stop)."""
    given = os.environ.get("REDIS_CLUSTER_TEST_URL")
    if given:
        return given, None
    started = RedisClusterProcess()
    started.start()
    return started.url, started
