"""Opening a store by URL: the one module that knows every backend (the protocol, in
`store.py`, knows none of them)."""

from __future__ import annotations

from typing import Any

from youthmode.ledger.store import Store


def open_store(url: str, **options: Any) -> Store:
    """`sqlite:///path/to/file.db`, `redis://host:port/db` (with `?prefix=...`) or
    `redis-cluster://host:port[,host:port...]` (seed nodes; `?prefix=...&wait=1`)."""
    if url.startswith("sqlite:"):
        from youthmode.ledger.sqlite_store import SqliteStore

        if url.rstrip("/") in ("sqlite:", "sqlite:/", "sqlite://"):
            raise ValueError(
                "a SQLite store needs a file: sqlite:///relative.db or sqlite:////absolute/path.db"
            )
        return SqliteStore(url, **options)
    if url.startswith("redis-cluster://"):
        from youthmode.ledger.redis_cluster_store import RedisClusterStore

        return RedisClusterStore(url, **options)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from youthmode.ledger.redis_store import RedisStore

        return RedisStore(url, **options)
    raise ValueError(
        f"unknown store URL `{url}`; use sqlite:///file.db, redis://host:port/db "
        "or redis-cluster://host:port,host:port"
    )
