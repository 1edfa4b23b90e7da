"""Prometheus metrics, correct under several gunicorn workers.

When PROMETHEUS_MULTIPROC_DIR is set (as `youthmode serve` does), prometheus_client keeps each
worker's values in files there and `/metrics` merges them; otherwise values live in this
process. Each app gets its own registry, so tests can create many apps; the few metrics of the
process itself (decision-log failures, dropped connections) live in one process registry.

A worker's files would outlive it, and every SIGHUP starts new workers: when one exits, the
master adds its counters and histograms into one `*_merged.db` file per type and deletes its
files (`merge_dead_process`), so the folder stays small and totals never go down. Readers and
the merge take a lock on the folder, so a scrape never counts a worker twice or not at all.
"""

from __future__ import annotations

import fcntl
import glob
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
)
from prometheus_client.mmap_dict import MmapedDict as _MmapedDict

from youthmode.model import Decision
from youthmode.server.process_metrics import ServerProcesses

MmapedDict: Any = _MmapedDict  # prometheus_client's value files; untyped

LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0)
BATCH_BUCKETS = (1, 5, 10, 50, 100, 250, 500, 1000, 5000)
# Any route, the ledger's included: a store deadline is 200 ms, a big batch takes seconds.
HTTP_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# Label values known in advance: their error counters are exported at 0 from the start, so an
# alert on them works before the first error (`Metrics.prime`).
ERROR_STATUS_CLASSES = ("4xx", "5xx")
RELOAD_OUTCOMES = (("ok", "rejected"), ("admin", "poll"))
DROP_REASONS = ("head_timeout", "body_timeout", "send_timeout", "overload")


class DecisionTally:
    """Decision counts gathered over one batch. Each write to a multiprocess metric takes a
    lock and a file-backed page, so a batch of 100 writes its counts once, at the end."""

    def __init__(self) -> None:
        self.decisions: dict[tuple[str, str], int] = {}
        self.reasons: dict[tuple[str, str], int] = {}

    def add(self, decision: Decision) -> None:
        """Count ``decision`` (plain dicts, not Counters: `Counter.__iadd__`-style updates and
        the `reason_codes` list cost ~2 us a batch item)."""
        policy = decision.policy.id
        key: tuple[str, str] = (policy, decision.effect)
        counts = self.decisions
        counts[key] = counts.get(key, 0) + 1
        counts = self.reasons
        for reason in decision.reasons:
            key = (policy, reason.code)
            counts[key] = counts.get(key, 0) + 1


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        r = self.registry
        self.decisions = Counter(
            "youthmode_decisions", "Decisions made", ["policy", "effect"], registry=r
        )
        self.reasons = Counter(
            "youthmode_decision_reasons", "Denying reasons given", ["policy", "reason"], registry=r
        )
        self.latency = Histogram(
            "youthmode_decision_latency_seconds",
            "Time to answer a decision request",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "youthmode_batch_size", "Requests per batch", buckets=BATCH_BUCKETS, registry=r
        )
        self.reloads = Counter(
            "youthmode_policy_reloads", "Policy reload attempts", ["outcome", "source"], registry=r
        )
        self.policy_info = Gauge(
            "youthmode_policy_info",
            "Policies in force (value 1)",
            ["id", "version", "digest"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self.errors = Counter(
            "youthmode_engine_errors",
            "Fail-closed denials from engine errors",
            ["policy"],
            registry=r,
        )
        self.http_requests = Counter(
            "youthmode_http_requests",
            "HTTP answers by route template, method and status class (2xx, 4xx, ...)",
            ["route", "method", "status"],
            registry=r,
        )
        self.http_latency = Histogram(
            "youthmode_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method",
            ["route", "method"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )
        # The gunicorn master, once this process is its worker: /metrics then reports the
        # process metrics of the master and all its workers (process_metrics.py).
        self.server_pid: int | None = None

    def _child(self, metric: Any, *labels: str) -> Any:
        """A labelled child, looked up once: `labels()` takes a lock and builds a key each time."""
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def record_decision(self, policy: str, effect: str, reasons: list[str]) -> None:
        self._child(self.decisions, policy, effect).inc()
        for reason in reasons:
            self._count_reason(policy, reason, 1)

    def record_tally(self, tally: DecisionTally) -> None:
        """Write a batch's decision counts: one write per label set, not per decision."""
        for (policy, effect), count in tally.decisions.items():
            self._child(self.decisions, policy, effect).inc(count)
        for (policy, reason), count in tally.reasons.items():
            self._count_reason(policy, reason, count)

    def _count_reason(self, policy: str, reason: str, count: int) -> None:
        self._child(self.reasons, policy, reason).inc(count)
        if reason == "engine_error":
            self._child(self.errors, policy).inc(count)

    def observe_latency(self, endpoint: str, seconds: float) -> None:
        self._child(self.latency, endpoint).observe(seconds)

    def observe_http(self, route: str, method: str, status_class: str, seconds: float) -> None:
        self._child(self.http_requests, route, method, status_class).inc()
        self._child(self.http_latency, route, method).observe(seconds)

    def prime(self, routes: list[tuple[str, str]], policies: list[str]) -> None:
        """Export every error counter at 0 for its known label values: each route's 4xx and
        5xx answers, each policy's engine errors, rejected reloads, dropped connections and
        lost decision-log records."""
        for route, method in routes:
            for status_class in ERROR_STATUS_CLASSES:
                self._child(self.http_requests, route, method, status_class)
        self.prime_policies(policies)
        outcomes, sources = RELOAD_OUTCOMES
        for outcome in outcomes:
            for source in sources:
                self.reloads.labels(outcome, source)
        for reason in DROP_REASONS:
            connections_dropped().labels(reason)
        decision_log_failures()

    def prime_policies(self, policies: list[str]) -> None:
        for policy in policies:
            self._child(self.errors, policy)

    def set_policies(
        self, current: list[tuple[str, str, str]], previous: list[tuple[str, str, str]]
    ) -> None:
        for labels in previous:
            self.policy_info.labels(*labels).set(0)
        for labels in current:
            self.policy_info.labels(*labels).set(1)

    def exposition(self) -> tuple[bytes, str]:
        folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if folder:
            registry = CollectorRegistry()
            registry.register(_FolderCollector(Path(folder)))
            registry.register(ServerProcesses(self.server_pid or os.getpid()))
            return generate_latest(registry), CONTENT_TYPE_LATEST
        own = generate_latest(self.registry) + generate_latest(PROCESS_REGISTRY)
        return own, CONTENT_TYPE_LATEST


PROCESS_REGISTRY = CollectorRegistry()
ProcessCollector(registry=PROCESS_REGISTRY)  # one process: prometheus_client's own collector
_process_metrics: dict[str, Any] = {}
_process_lock = threading.Lock()


def _process_counter(name: str, documentation: str, labels: tuple[str, ...] = ()) -> Counter:
    """One counter per process, made on first use: after the multiprocess folder is set."""
    with _process_lock:
        metric = _process_metrics.get(name)
        if metric is None:
            metric = Counter(name, documentation, labels, registry=PROCESS_REGISTRY)
            _process_metrics[name] = metric
        counter: Counter = metric
        return counter


def decision_log_failures() -> Counter:
    return _process_counter(
        "youthmode_decision_log_failures", "Decision-log records lost: not written whole"
    )


def connections_dropped() -> Counter:
    return _process_counter(
        "youthmode_connections_dropped",
        "Connections closed because a request did not arrive in time, the client did not "
        "take its response in time, or too many were waiting",
        ("reason",),
    )


# Value files of workers that have exited are folded into these, per metric type.
MERGED_TYPES = ("counter", "histogram", "summary")


@contextmanager
def _folder_lock(folder: Path, kind: int) -> Iterator[None]:
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, kind)
        yield
    finally:
        os.close(fd)  # also releases the lock


class _FolderCollector:
    """prometheus_client's MultiProcessCollector, reading under the folder's shared lock."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def collect(self) -> Iterator[Any]:
        with _folder_lock(self.folder, fcntl.LOCK_SH):
            files = glob.glob(str(self.folder / "*.db"))
            merged = list(multiprocess.MultiProcessCollector.merge(files, accumulate=True))  # type: ignore[no-untyped-call]  # untyped lib
        yield from merged


def merge_dead_process(pid: int, folder: str | Path | None = None) -> None:
    """Fold an exited worker's counters and histograms into the merged files; delete its
    files. Its `live*` gauges go (prometheus_client's `mark_process_dead`)."""
    where = Path(folder or os.environ["PROMETHEUS_MULTIPROC_DIR"])
    with _folder_lock(where, fcntl.LOCK_EX):
        multiprocess.mark_process_dead(pid, str(where))  # type: ignore[no-untyped-call]  # untyped lib
        for kind in MERGED_TYPES:
            dead = where / f"{kind}_{pid}.db"
            if dead.exists():
                _add_into(where / f"{kind}_merged.db", dead)
                dead.unlink()


def _add_into(target: Path, source: Path) -> None:
    values = list(MmapedDict.read_all_values_from_file(str(source)))
    merged = MmapedDict(str(target))
    try:
        for key, value, timestamp, _ in values:
            total, _ = merged.read_value(key)
            merged.write_value(key, total + value, timestamp)
    finally:
        merged.close()
