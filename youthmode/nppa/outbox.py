"""The durable outbox of behaviour records, kept in the ledger's own store.

Reporting state lives in reserved document spaces of the store, one per shard (shards.py): a
subject's session state and the records it produces are in its shard and change in one
transaction (SQLite's immediate transaction, Redis's WATCH/MULTI, PostgreSQL's row lock),
whichever backend the ledger uses. Each shard holds:

- ``out/<seq>``   a record waiting to be sent: {"si", "bt", "ot", "ct", "pi"|"di", "subject"}
- ``dead/<seq>``  a record that can no longer be sent, with why (never silently dropped)
- ``seq``         the shard's last sequence number given (its records are queued in this order)
- ``open/<subject>``, ``closed/<subject>``  session state (sessions.py)
- ``pending/<subject>``  real-name checks waiting for a result (realname.py)

Outside the store a queued record's key names its shard too: ``<shard:03d>/out/<seq>``. A
record leaves ``out/`` only when the NPPA acknowledged it or it is dead-lettered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from youthmode.ledger.store import Store, Transaction
from youthmode.nppa.shards import NPPA_SPACE, ShardLayout, earlier_spaces

__all__ = ["NPPA_SPACE", "Outbox"]
T = TypeVar("T")
Queued = tuple[str, dict[str, Any]]  # (shard-qualified key, record)


class Outbox:
    """Records to report, in ``store``'s shards of ``layout``."""

    def __init__(self, store: Store, layout: ShardLayout | None = None) -> None:
        self.store = store
        self.layout = layout or ShardLayout()

    def atomic(self, fn: Callable[[Transaction], T], subject_id: str = "") -> T:
        """One all-or-nothing change of ``subject_id``'s shard."""
        return self.store.atomic(self.layout.space_of(subject_id), fn)

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

    def waiting(self, limit: int | None = None) -> list[Queued]:
        """Queued records of every shard, oldest `ot` first (``limit`` at most). The sort is
        stable, so a subject's records (one shard, queued in `ot` order) keep their order."""

        def read(shard: int, tx: Transaction) -> list[Queued]:
            keys = tx.keys("out/")
            tx.prefetch(keys)
            # A read is not a snapshot on every backend (Redis Cluster lists, then reads): a
            # record settled in between is gone, not an error.
            found = ((k, tx.get(k)) for k in keys)
            return [(f"{shard:03d}/{k}", record) for k, record in found if record is not None]

        queued = [q for shard in self.layout.each(self.store, read) for q in shard]
        queued.sort(key=lambda q: q[1]["ot"])
        return queued[:limit] if limit is not None else queued

    def settle(self, acked: list[str], dead: list[tuple[str, dict[str, Any], str]]) -> None:
        """Drop acknowledged records; move dead ones to ``dead/`` with their reason. One
        transaction per shard touched."""
        by_shard: dict[int, tuple[list[str], list[tuple[str, dict[str, Any], str]]]] = {}
        for key in acked:
            shard, local = _split(key)
            by_shard.setdefault(shard, ([], []))[0].append(local)
        for key, record, reason in dead:
            shard, local = _split(key)
            by_shard.setdefault(shard, ([], []))[1].append((local, record, reason))
        for shard, (done, buried) in sorted(by_shard.items()):
            self.store.atomic(self.layout.space(shard), _settling(done, buried))

    def backlog(self) -> int:
        return sum(self.layout.each(self.store, lambda _n, tx: len(tx.keys("out/"))))

    def dead_letters(self) -> list[dict[str, Any]]:
        """Every dead letter kept, in this layout's shards and those of earlier layouts."""

        def read(space: str) -> list[dict[str, Any]]:
            letters = self.store.read(space, lambda tx: [tx.get(k) for k in tx.keys("dead/")])
            return [letter for letter in letters if letter is not None]  # (see `waiting`)

        spaces = dict.fromkeys([*self.layout.spaces(), *earlier_spaces(self.store)])
        return [letter for space in spaces for letter in read(space)]


def _split(key: str) -> tuple[int, str]:
    shard, _, local = key.partition("/")
    return int(shard), local


def _settling(
    acked: list[str], dead: list[tuple[str, dict[str, Any], str]]
) -> Callable[[Transaction], None]:
    def apply(tx: Transaction) -> None:
        for key in acked:
            tx.delete(key)
        for key, record, reason in dead:
            tx.delete(key)
            tx.put("dead/" + key.removeprefix("out/"), {**record, "reason": reason})

    return apply
