"""The NPPA reporting state, split into shards by subject so no one document space is hot.

Every usage write changes its subject's reporting state in one transaction; with one space for
the whole deployment, that was one Redis hash every writer WATCHed (one Cluster slot, one
PostgreSQL row lock). Each subject belongs to one of ``count`` shards by a stable hash of its
id, and its session state, the records it produces and its pending real-name check live in
that shard's space: still one transaction per write, now spread over ``count`` spaces.

The store remembers the layout it holds (``layout`` in the base space). A deployment that
starts with another shard count while the old layout still holds queued records, open
sessions or pending checks is refused (`NppaLayoutError`): a subject moving shards would lose
its open session's log-out and queue a second log-in. Drain first (docs/nppa.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

from youthmode.errors import YouthmodeError
from youthmode.ledger.store import Store, Transaction

# The reserved base space: longer than any subject id the ledger accepts (200 characters), so
# no subject can ever share its documents, nor those of a shard (the base name + "/NNN").
NPPA_SPACE = "\x00youthmode-nppa-reporting/" + "~" * 200
DEFAULT_SHARDS = 64
MAX_SHARDS = 1000  # shard numbers are written with three digits
LAYOUT_KEY = "layout"
# What a shard may hold that must not be left behind when the layout changes.
LIVE_PREFIXES = {"out/": "queued records", "open/": "open sessions", "pending/": "pending checks"}
T = TypeVar("T")


class NppaLayoutError(YouthmodeError):
    """The configured shard count does not match the store's, and changing it would lose or
    duplicate records; the message says what is held where and how to drain it."""


class ShardLayout:
    """Which shard a subject belongs to, and each shard's document space."""

    def __init__(self, count: int = DEFAULT_SHARDS) -> None:
        if not isinstance(count, int) or not 1 <= count <= MAX_SHARDS:
            raise NppaLayoutError(f"the NPPA shard count must be 1 to {MAX_SHARDS}, not {count!r}")
        self.count = count

    def of(self, subject_id: str) -> int:
        """The subject's shard: the same in every process and release (not Python's hash)."""
        digest = hashlib.blake2b(subject_id.encode("utf-8", "surrogatepass"), digest_size=8)
        return int.from_bytes(digest.digest(), "big") % self.count

    def space(self, shard: int) -> str:
        # One shard is the single space of releases before sharding: they drain into it.
        return NPPA_SPACE if self.count == 1 else f"{NPPA_SPACE}/{shard:03d}"

    def space_of(self, subject_id: str) -> str:
        return self.space(self.of(subject_id))

    def spaces(self) -> list[str]:
        return [self.space(n) for n in range(self.count)]

    def each(self, store: Store, fn: Callable[[int, Transaction], T]) -> list[T]:
        """``fn(shard, tx)`` read once in every shard, in shard order."""
        return [store.read(self.space(n), _bound(fn, n)) for n in range(self.count)]


def _bound(fn: Callable[[int, Transaction], T], shard: int) -> Callable[[Transaction], T]:
    return lambda tx: fn(shard, tx)


def adopt_layout(store: Store, layout: ShardLayout) -> None:
    """Record ``layout`` as the store's, or refuse (`NppaLayoutError`) when the store's current
    layout differs and still holds live state. A store that never recorded one holds the
    single space of earlier releases (a one-shard layout)."""
    recorded = store.read(NPPA_SPACE, lambda tx: tx.get(LAYOUT_KEY)) or {"shards": 1}
    before = int(recorded["shards"])
    if before == layout.count and recorded.get("recorded"):
        return
    if before != layout.count:
        held = _live_state(store, ShardLayout(before))
        if held:
            what = ", ".join(f"{n} {name}" for name, n in held.items())
            raise NppaLayoutError(
                f"YOUTHMODE_NPPA_SHARDS is {layout.count}, but this store's NPPA reporting "
                f"state is laid out in {before} shard(s) and still holds {what}: moving them "
                f"would lose or duplicate records. Set YOUTHMODE_NPPA_SHARDS={before}, stop the "
                "API instances (no new usage), run `youthmode nppa report` until its backlog is "
                "0 (the session gap plus one round), then start with the new count"
            )
    earlier = sorted({*recorded.get("earlier", []), before} - {layout.count})
    doc = {"shards": layout.count, "recorded": True, "earlier": earlier}
    store.atomic(NPPA_SPACE, lambda tx: tx.put(LAYOUT_KEY, doc))


def earlier_layouts(store: Store) -> list[ShardLayout]:
    """Layouts the store used before its current one (their dead letters are still kept)."""
    recorded: dict[str, Any] = store.read(NPPA_SPACE, lambda tx: tx.get(LAYOUT_KEY)) or {}
    return [ShardLayout(n) for n in recorded.get("earlier", [])]


def _live_state(store: Store, layout: ShardLayout) -> dict[str, int]:
    def count(_shard: int, tx: Transaction) -> dict[str, int]:
        return {name: len(tx.keys(prefix)) for prefix, name in LIVE_PREFIXES.items()}

    totals: dict[str, int] = {}
    for held in layout.each(store, count):
        for name, n in held.items():
            totals[name] = totals.get(name, 0) + n
    return {name: n for name, n in totals.items() if n}
