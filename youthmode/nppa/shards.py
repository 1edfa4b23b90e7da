"""The NPPA reporting state, split into shards by subject so no one document space is hot.

Every usage write changes its subject's reporting state in one transaction; with one space for
the whole deployment, that was one Redis hash every writer WATCHed (one Cluster slot, one
PostgreSQL row lock). Each subject belongs to one of ``count`` shards by a stable hash of its
id, and its session state, the records it produces and its pending real-name check live in
that shard's space: still one transaction per write, now spread over ``count`` spaces.

The store remembers the layout it holds (``layout`` in the base space). A deployment that
starts with another shard count while the old layout (or the single space of releases before
sharding) still holds queued records, open sessions or pending checks is refused
(`NppaLayoutError`): a subject moving shards would lose its open session's log-out and queue a
second log-in. Drain first (docs/nppa.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

from youthmode.errors import YouthmodeError
from youthmode.ledger.store import Store, Transaction

# The reserved base space: longer than any subject id the ledger accepts (200 characters), so
# no subject can ever share its documents, nor those of a shard (the base name + "/NNN").
NPPA_SPACE = "youthmode-nppa-reporting/" + "~" * 200
# The single space of releases before sharding. Its NUL cannot be stored by PostgreSQL (so
# reporting never ran there before); on the other backends it may still hold live state.
LEGACY_SPACE = "\x00youthmode-nppa-reporting/" + "~" * 200
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
        return f"{NPPA_SPACE}/{shard:03d}"

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
    layout differs and still holds live state, or the single space of an earlier release
    does."""
    recorded = store.read(NPPA_SPACE, lambda tx: tx.get(LAYOUT_KEY))
    if recorded is not None and recorded["shards"] == layout.count:
        return
    if recorded is None:
        held = _live_in(store, legacy_spaces(store))
        how = "an earlier release's single space holds"
        fix = (
            "stop the API instances (no new usage), run that release's `youthmode nppa report` "
            "until its backlog is 0 (the session gap plus one round), then start this one"
        )
    else:
        before = ShardLayout(int(recorded["shards"]))
        held = _live_in(store, before.spaces())
        how = f"this store's state is laid out in {before.count} shard(s) and still holds"
        fix = (
            f"set YOUTHMODE_NPPA_SHARDS={before.count}, stop the API instances (no new usage), "
            "run `youthmode nppa report` until its backlog is 0 (the session gap plus one "
            "round), then start with the new count"
        )
    if held:
        what = ", ".join(f"{n} {name}" for name, n in held.items())
        raise NppaLayoutError(
            f"NPPA reporting is configured with {layout.count} shard(s) "
            f"(YOUTHMODE_NPPA_SHARDS), but {how} {what}: moving them would lose or duplicate "
            f"records. To change it, {fix}"
        )
    earlier = [] if recorded is None else [*recorded.get("earlier", []), recorded["shards"]]
    doc = {"shards": layout.count, "earlier": sorted(set(earlier) - {layout.count})}
    store.atomic(NPPA_SPACE, lambda tx: tx.put(LAYOUT_KEY, doc))


def earlier_spaces(store: Store) -> list[str]:
    """The spaces of layouts the store used before its current one, and an earlier release's
    single space: their dead letters are still kept."""
    recorded: dict[str, Any] = store.read(NPPA_SPACE, lambda tx: tx.get(LAYOUT_KEY)) or {}
    spaces = [space for n in recorded.get("earlier", []) for space in ShardLayout(n).spaces()]
    return legacy_spaces(store) + spaces


def legacy_spaces(store: Store) -> list[str]:
    return [] if store.backend == "postgresql" else [LEGACY_SPACE]


def _live_in(store: Store, spaces: list[str]) -> dict[str, int]:
    def count(tx: Transaction) -> dict[str, int]:
        return {name: len(tx.keys(prefix)) for prefix, name in LIVE_PREFIXES.items()}

    totals: dict[str, int] = {}
    for space in spaces:
        for name, n in store.read(space, count).items():
            totals[name] = totals.get(name, 0) + n
    return {name: n for name, n in totals.items() if n}
