"""The reporter: drains the outbox to the NPPA in batches of at most 128 fresh records.

One process per deployment reads every shard's queue (outbox.py), oldest `ot` first; batches
mix shards, and each is settled with one transaction per shard it touched.

Each round closes idle sessions, dead-letters what can no longer be sent fresh (its `ot` is
``fresh_seconds`` or more old: the NPPA would refuse it with 3005), and sends the rest in
order, as many batches as the loginout token bucket allows. A record leaves the outbox only
when the NPPA took it, or refused it for good (dead-lettered with its errcode); after an
outage, a throttle or an expired timestamp it stays queued and is retried next round while
still fresh. Every dead letter is counted and logged at ERROR: an alert, never a silent drop.

An answer the outbox could not be told (the store locked, down or restarting) is kept in memory
and told first next round, before anything is read or sent: read again from the outbox, the
batch the NPPA already took would be sent a second time (tests/faults/test_nppa_faults.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from youthmode.engine import Clock, system_clock
from youthmode.nppa.client import NppaClient
from youthmode.nppa.config import NppaSettings
from youthmode.nppa.errors import NppaConfigError, NppaError, NppaRejected
from youthmode.nppa.metrics import NppaMetrics
from youthmode.nppa.outbox import Outbox
from youthmode.nppa.sessions import SessionTracker

log = logging.getLogger("youthmode.nppa.reporter")
BATCH = 128
WIRE_FIELDS = ("si", "bt", "ot", "ct", "pi", "di")
Dead = tuple[str, dict[str, Any], str]  # (outbox key, record, reason)


@dataclass
class Round:
    """What one round did."""

    sent: int = 0
    acknowledged: int = 0
    rejected: int = 0
    dead: int = 0
    stopped: str | None = None  # why the round ended before the outbox was empty
    codes: dict[int, int] = field(default_factory=dict)


class Reporter:
    def __init__(
        self,
        client: NppaClient,
        outbox: Outbox,
        tracker: SessionTracker,
        settings: NppaSettings,
        *,
        clock: Clock = system_clock,
        metrics: NppaMetrics | None = None,
    ) -> None:
        self.client, self.outbox, self.tracker = client, outbox, tracker
        self.settings, self.clock = settings, clock
        self.metrics = metrics or NppaMetrics()
        self.before_round: Callable[[], None] = lambda: None  # the service's layout check
        # The NPPA's answers the outbox has not taken yet (its store failed): told next round.
        self._owed: tuple[list[str], list[Dead]] = ([], [])

    def run_once(self) -> Round:
        """One round: close idle sessions, dead-letter the stale, send the rest in order."""
        self.before_round()
        done = Round()
        self._settle([], [])  # an answer owed from an earlier round first, or nothing is sent
        self.tracker.close_idle(self.clock().timestamp())
        queue = self.outbox.waiting()  # read once a round: each batch re-reading is O(n^2)
        while queue:
            batch, queue = self._fresh_batch(queue, done)
            if not batch or not self._send(batch, done):
                break
        self._gauge()
        return done

    def run_forever(self, stop: threading.Event) -> None:
        """Rounds every ``batch_delay`` seconds until ``stop`` is set."""
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # the loop must outlive a store hiccup; the next round retries
                log.exception("NPPA reporting round failed; retrying next round")
            stop.wait(self.settings.batch_delay)

    def _fresh_batch(
        self, queue: list[tuple[str, dict[str, Any]]], done: Round
    ) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, dict[str, Any]]]]:
        """Up to 128 records of ``queue`` that may be sent now (stale ones dead-lettered on
        the way), and what is left of the queue. Records whose `ot` is not yet before the
        request's second wait for a later round (`ot` must be before `timestamps`)."""
        now = self.clock().timestamp()
        batch: list[tuple[str, dict[str, Any]]] = []
        stale: list[Dead] = []
        taken = 0  # how much of the queue this batch looked at
        for key, record in queue:
            taken += 1
            if now - record["ot"] >= self.settings.fresh_seconds:
                stale.append((key, record, "stale"))
            elif record["ot"] < int(now):
                batch.append((key, record))
                if len(batch) == BATCH:
                    break
        self._bury(stale, done)
        return batch, queue[taken:]

    def _send(self, batch: list[tuple[str, dict[str, Any]]], done: Round) -> bool:
        """Send one batch; False when the round should stop (outage, throttle, config)."""
        wire = [
            {"no": i, **{k: r[k] for k in WIRE_FIELDS if k in r}}
            for i, (_, r) in enumerate(batch, 1)
        ]
        try:
            refused = self.client.loginout(wire)
        except NppaRejected as err:  # the whole batch refused for good (3002-3004, ...)
            self._count_call(err)
            self._bury([(k, r, f"rejected:{err.code}") for k, r in batch], done)
            return True
        except NppaError as err:
            self._count_call(err)
            done.stopped = type(err).__name__
            level = logging.ERROR if isinstance(err, NppaConfigError) else logging.WARNING
            log.log(level, "NPPA loginout not sent, %d records kept for retry: %s", len(batch), err)
            return False
        self.metrics.calls.labels("loginout", "ok").inc()
        self.metrics.sent.inc(len(batch))
        done.sent += len(batch)
        by_no = {r.no: r for r in refused}
        dead = [
            (k, rec, f"rejected:{by_no[i].code}")
            for i, (k, rec) in enumerate(batch, 1)
            if i in by_no
        ]
        acked = [k for i, (k, _) in enumerate(batch, 1) if i not in by_no]
        for rejection in refused:
            self.metrics.rejected.labels(str(rejection.code)).inc()
            done.codes[rejection.code] = done.codes.get(rejection.code, 0) + 1
        done.rejected += len(refused)
        self.metrics.acknowledged.inc(len(acked))
        done.acknowledged += len(acked)
        self._settle(acked, [])
        self._bury(dead, done)
        return True

    def _settle(self, acked: list[str], dead: list[Dead]) -> None:
        """Tell the outbox an answer, with any still owed. Should the store fail, the answer
        stays owed (and the error goes up, ending the round): a record is resent only when
        the NPPA's own answer was lost, never because our store missed it."""
        self._owed[0].extend(acked)
        self._owed[1].extend(dead)
        if self._owed[0] or self._owed[1]:
            self.outbox.settle(*self._owed)  # idempotent: a retry after a partial one is safe
            self._owed = ([], [])

    def _bury(self, dead: list[Dead], done: Round) -> None:
        """Dead-letter records, counted and logged: they will never reach the NPPA."""
        if not dead:
            return
        for _, record, reason in dead:
            kind = "stale" if reason == "stale" else "rejected"
            self.metrics.dead.labels(kind).inc()
            log.error(
                "NPPA record dead-lettered (%s): si=%s bt=%s ot=%s subject=%s",
                reason,
                record["si"],
                record["bt"],
                record["ot"],
                record.get("subject"),
            )
        done.dead += len(dead)
        self._settle([], dead)

    def _count_call(self, err: NppaError) -> None:
        self.metrics.calls.labels("loginout", f"error:{err.code or type(err).__name__}").inc()

    def _gauge(self) -> None:
        waiting = self.outbox.waiting()
        self.metrics.backlog.set(len(waiting))
        now = self.clock().timestamp()
        self.metrics.oldest.set(max((now - r["ot"] for _, r in waiting), default=0))
