"""Log-in and log-out records derived from the ledger's usage intervals.

The ledger counts use as intervals; a session is a run of them with no break of
``session_gap`` seconds or more (as `usage.session_seconds` counts it). The first interval of
a session gives its log-in (`bt=1`, `ot` = its start); the session is closed, with a log-out
at its last use (`bt=0`, `ot` = the end of its last interval, "the last heartbeat"), once no
use has come for ``session_gap`` seconds, or when a later interval opens the next session.
Each session gets its own `si` (32 hex digits) and keeps the identity it started with: `ct=0`
with the subject's `pi` once verified, else `ct=2` with a device pseudonym `di`.

Fed the same intervals again (a retried usage request), nothing new is queued: an interval
inside the open session only extends it, and one ending before the last closed session's end
is already reported.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from youthmode.ledger.store import Transaction
from youthmode.nppa.outbox import Outbox

Interval = tuple[int, int]
IdentityOf = Callable[[str], str | None]  # subject id -> its NPPA `pi`, if verified
CLOSED_KEPT_SECONDS = 86400  # how long a closed session's end is remembered (for retries)
PRUNE_EVERY_SECONDS = 3600  # forgetting old closed sessions reads them all: not every round


def guest_device(subject_id: str) -> str:
    """A guest's `di`: 32 hex digits, stable per subject, not the subject id itself."""
    return hashlib.sha256(f"youthmode-nppa-di:{subject_id}".encode()).hexdigest()[:32]


class Unread:
    """The subject's identity, not read yet."""


UNREAD = Unread()


class IdentityNeeded(Exception):
    """A session starts: the transaction needs the subject's identity, which was not read."""


class SessionTracker:
    """Turns a subject's usage intervals into queued NPPA records."""

    def __init__(self, outbox: Outbox, session_gap: int, identity_of: IdentityOf) -> None:
        self.outbox, self.gap, self.identity_of = outbox, session_gap, identity_of
        self._pruned_at = 0.0

    def track(self, subject_id: str, intervals: Iterable[Interval]) -> int:
        """Queue what these intervals start or end; the number of records queued."""
        spans = sorted((s, e) for s, e in intervals if e > s)
        if not spans:
            return 0

        def apply(pi: str | Unread | None) -> Callable[[Transaction], int]:
            def change(tx: Transaction) -> int:
                records: list[dict[str, Any]] = []
                for start, end in spans:
                    records += self._one(tx, subject_id, start, end, pi)
                Outbox.add(tx, records)
                return len(records)

            return change

        # Most heartbeats only extend the open session, which keeps the identity it started
        # with: the identity (in the subject's own space, not the outbox shard's, so not
        # readable in the same transaction) is read only when a session must start.
        try:
            return self.outbox.atomic(apply(UNREAD), subject_id)
        except IdentityNeeded:
            return self.outbox.atomic(apply(self.identity_of(subject_id)), subject_id)

    def _one(
        self, tx: Transaction, subject_id: str, start: int, end: int, pi: str | Unread | None
    ) -> list[dict[str, Any]]:
        closed = (tx.get(f"closed/{subject_id}") or {}).get("until", 0)
        if end <= closed:
            return []  # inside a session already closed and reported
        start = max(start, closed)
        session = tx.get(f"open/{subject_id}")
        if session is not None and start < session["end"] + self.gap:
            session["end"] = max(session["end"], end)
            tx.put(f"open/{subject_id}", session)
            return []
        if isinstance(pi, Unread):
            raise IdentityNeeded  # the transaction is dropped; track() reads it and runs again
        records = self._close(tx, subject_id, session) if session is not None else []
        who = {"ct": 0, "pi": pi} if pi else {"ct": 2, "di": guest_device(subject_id)}
        session = {"si": uuid.uuid4().hex, "start": start, "end": end, **who}
        tx.put(f"open/{subject_id}", session)
        return [*records, _record(subject_id, session, bt=1, ot=start)]

    def _close(
        self, tx: Transaction, subject_id: str, session: dict[str, Any]
    ) -> list[dict[str, Any]]:
        tx.delete(f"open/{subject_id}")
        tx.put(f"closed/{subject_id}", {"until": session["end"]})
        return [_record(subject_id, session, bt=0, ot=session["end"])]

    def close_idle(self, now: float) -> int:
        """Close every session whose last use is ``session_gap`` or more before ``now`` (its
        log-out at that last use); forget closed sessions after a day. Records queued. One
        transaction per shard: never the whole deployment's sessions in one."""
        prune = now - self._pruned_at >= PRUNE_EVERY_SECONDS

        def apply(tx: Transaction) -> int:
            records: list[dict[str, Any]] = []
            for key in tx.keys("open/"):
                session = tx.get(key)
                if session["end"] + self.gap <= now:
                    records += self._close(tx, key.removeprefix("open/"), session)
            for key in tx.keys("closed/") if prune else []:
                if tx.get(key)["until"] + CLOSED_KEPT_SECONDS < now:
                    tx.delete(key)
            Outbox.add(tx, records)
            return len(records)

        def due(tx: Transaction) -> bool:
            keys = tx.keys("open/")
            tx.prefetch(keys)
            ends = (tx.get(k) for k in keys)  # one closed meanwhile is None (outbox.waiting)
            return prune or any(e is not None and e["end"] + self.gap <= now for e in ends)

        # A read first: a shard with nothing to close is not locked against its writers.
        store, layout = self.outbox.store, self.outbox.layout
        queued = sum(
            store.atomic(space, apply) for space in layout.spaces() if store.read(space, due)
        )
        if prune:
            self._pruned_at = now
        return queued


def _record(subject_id: str, session: dict[str, Any], *, bt: int, ot: int) -> dict[str, Any]:
    record = {"si": session["si"], "bt": bt, "ot": int(ot), "ct": session["ct"]}
    record["pi" if session["ct"] == 0 else "di"] = session.get("pi") or session.get("di")
    record["subject"] = subject_id  # ours, for logs and dead letters; never sent
    return record
