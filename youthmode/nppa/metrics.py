"""Prometheus metrics of NPPA reporting and real-name checks.

Counters: records sent, acknowledged, rejected (by errcode), dead-lettered (by reason), and
requests by API and outcome; gauges: the backlog and the age of its oldest record. An alert
on `youthmode_nppa_dead_lettered_total` catches records the NPPA will never see.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

DEAD_REASONS = ("stale", "rejected", "unsendable")


class NppaMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.sent = Counter("youthmode_nppa_records_sent", "Behaviour records sent", registry=r)
        self.acknowledged = Counter(
            "youthmode_nppa_records_acknowledged", "Behaviour records the NPPA took", registry=r
        )
        self.rejected = Counter(
            "youthmode_nppa_records_rejected",
            "Behaviour records the NPPA refused, by errcode",
            ("code",),
            registry=r,
        )
        self.dead = Counter(
            "youthmode_nppa_dead_lettered",
            "Behaviour records that will never reach the NPPA, by reason",
            ("reason",),
            registry=r,
        )
        self.calls = Counter(
            "youthmode_nppa_requests",
            "Calls to the NPPA by API and outcome",
            ("api", "outcome"),
            registry=r,
        )
        self.backlog = Gauge(
            "youthmode_nppa_backlog",
            "Behaviour records waiting to be sent",
            registry=r,
            multiprocess_mode="max",
        )
        self.oldest = Gauge(
            "youthmode_nppa_backlog_oldest_seconds",
            "Age of the oldest waiting record's event time",
            registry=r,
            multiprocess_mode="max",
        )
        for reason in DEAD_REASONS:
            self.dead.labels(reason)
