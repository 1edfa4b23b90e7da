"""The durable outbox of behaviour records, kept in the ledger's own store.

Everything NPPA reporting keeps lives in one reserved document space of the store, so the
session state and the records it produces change in one transaction (SQLite's immediate
transaction, Redis's WATCH/MULTI), whichever backend the ledger uses:

- ``out/<seq>``   a record waiting to be sent: {"si", "bt", "ot", "ct", "pi"|"di", "subject"}
- ``dead/<seq>``  a record that can no longer be sent, with why (never silently dropped)
- ``seq``         the last sequence number given (records are sent in this order)
- ``open/<subject>``, ``closed/<subject>``  session state (sessions.py)
- ``pending/<subject>``  real-name checks waiting for a result (realname.py)

A record leaves ``out/`` only when the NPPA acknowledged it or it is dead-lettered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from youthmode.ledger.store import Store, Transaction

# The reserved space's name: longer than any subject id the ledger accepts (200 characters),
# so no subject can ever share its documents.
NPPA_SPACE = "\x00youthmode-nppa-reporting/" + "~" * 200
T = TypeVar("T")


class Outbox:
    """Records to report, in order, in ``store``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def atomic(self, fn: Callable[[Transaction], T]) -> T:
        """One all-or-nothing change of the reporting space."""
        return self.store.atomic(NPPA_SPACE, fn)

    def read(self, fn: Callable[[Transaction], T]) -> T:
        return self.store.read(NPPA_SPACE, fn)

    @staticmethod
    def add(tx: Transaction, records: list[dict[str, Any]]) -> None:
        """Queue ``records`` inside the caller's transaction (sessions.py)."""
        if not records:
            return
        seq = int(tx.get("seq") or 0)
        for record in records:
            seq += 1
            tx.put(f"out/{seq:012d}", record)
        tx.put("seq", seq)

    def waiting(self, limit: int | None = None) -> list[tuple[str, dict[str, Any]]]:
        """Queued records, oldest first (``limit`` at most)."""

        def read(tx: Transaction) -> list[tuple[str, dict[str, Any]]]:
            keys = tx.keys("out/")[:limit] if limit is not None else tx.keys("out/")
            tx.prefetch(keys)
            return [(k, tx.get(k)) for k in keys]

        return self.read(read)

    def settle(self, acked: list[str], dead: list[tuple[str, dict[str, Any], str]]) -> None:
        """Drop acknowledged records; move dead ones to ``dead/`` with their reason."""

        def apply(tx: Transaction) -> None:
            for key in acked:
                tx.delete(key)
            for key, record, reason in dead:
                tx.delete(key)
                tx.put("dead/" + key.removeprefix("out/"), {**record, "reason": reason})

        if acked or dead:
            self.atomic(apply)

    def backlog(self) -> int:
        return self.read(lambda tx: len(tx.keys("out/")))

    def dead_letters(self) -> list[dict[str, Any]]:
        def read(tx: Transaction) -> list[dict[str, Any]]:
            return [tx.get(k) for k in tx.keys("dead/")]

        return self.read(read)
