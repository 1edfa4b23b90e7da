"""NPPA integration of one deployment: the client, the real-name flow, session tracking and
the reporter, over the ledger's store. `youthmode serve` builds one when `YOUTHMODE_NPPA_APP_ID`
is set (server/nppa.py); `youthmode nppa report` runs its reporter."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from youthmode.engine import Clock, system_clock
from youthmode.ledger.identity import IDENTITY_KEY
from youthmode.ledger.store import Store, StoreUnavailable
from youthmode.nppa.client import NppaClient
from youthmode.nppa.config import NppaSettings
from youthmode.nppa.metrics import NppaMetrics
from youthmode.nppa.outbox import Outbox
from youthmode.nppa.realname import RealNameFlow
from youthmode.nppa.reporter import Reporter
from youthmode.nppa.sessions import Interval, SessionTracker
from youthmode.nppa.shards import ShardLayout, adopt_layout

log = logging.getLogger("youthmode.nppa")


class NppaService:
    def __init__(
        self,
        settings: NppaSettings,
        store: Store,
        *,
        clock: Clock = system_clock,
        sleep: Callable[[float], None] = time.sleep,
        metrics: NppaMetrics | None = None,
    ) -> None:
        self.settings, self.store, self.clock = settings, store, clock
        self.client = NppaClient(settings, clock=clock, sleep=sleep)
        layout = ShardLayout(settings.shards)
        self._adopted = False
        self.outbox = Outbox(store, layout)
        self.tracker = SessionTracker(self.outbox, settings.session_gap, self.pi_of)
        self.realname = RealNameFlow(self.client, store, clock=clock, layout=layout)
        self.metrics = metrics or NppaMetrics()
        self.reporter = Reporter(
            self.client, self.outbox, self.tracker, settings, clock=clock, metrics=self.metrics
        )
        self.reporter.before_round = self.adopt_layout
        try:
            self.adopt_layout()
        except StoreUnavailable as err:  # a store down at start-up costs 503s, not the server
            log.warning("NPPA shard layout not checked yet (store unavailable): %s", err)

    def adopt_layout(self) -> None:
        """Check the store's shard layout against the settings' (once it could be read);
        `NppaLayoutError` when another count would lose or duplicate records."""
        if not self._adopted:
            adopt_layout(self.store, self.outbox.layout)
            self._adopted = True

    def pi_of(self, subject_id: str) -> str | None:
        """The subject's NPPA `pi`, when a real-name check verified it."""
        doc = self.store.read(subject_id, lambda tx: tx.get(IDENTITY_KEY)) or {}
        pi = doc.get("pi") if doc.get("verified") else None
        return pi if isinstance(pi, str) else None

    def on_usage(self, subject_id: str, intervals: Iterable[Interval]) -> None:
        """The ledger took these intervals: queue the log-ins and log-outs they make."""
        self.adopt_layout()
        self.tracker.track(subject_id, intervals)
