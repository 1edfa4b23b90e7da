"""Prometheus metrics, correct under several gunicorn workers.

When PROMETHEUS_MULTIPROC_DIR is set (as `youthmode serve` does), prometheus_client keeps each
worker's values in files there and `/metrics` merges them; otherwise values live in this
process. Each app gets its own registry, so tests can create many apps.
"""

from __future__ import annotations

import os
from collections import Counter as Counter_
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0)
BATCH_BUCKETS = (1, 5, 10, 50, 100, 250, 500, 1000, 5000)


class DecisionTally:
    """Decision counts gathered over one batch. Each write to a multiprocess metric takes a
    lock and a file-backed page, so a batch of 100 writes its counts once, at the end."""

    def __init__(self) -> None:
        self.decisions: Counter_[tuple[str, str]] = Counter_()
        self.reasons: Counter_[tuple[str, str]] = Counter_()

    def add(self, policy: str, effect: str, reasons: list[str]) -> None:
        self.decisions[(policy, effect)] += 1
        for reason in reasons:
            self.reasons[(policy, reason)] += 1


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

    def set_policies(
        self, current: list[tuple[str, str, str]], previous: list[tuple[str, str, str]]
    ) -> None:
        for labels in previous:
            self.policy_info.labels(*labels).set(0)
        for labels in current:
            self.policy_info.labels(*labels).set(1)

    def exposition(self) -> tuple[bytes, str]:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped lib
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
