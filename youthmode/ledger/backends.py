"""Opening a store by URL: the one module that knows every backend (the protocol, in
`store.py`, knows none of them)."""

from __future__ import annotations

from typing import Any

from youthmode.ledger.store import Store


def open_store(url: str, **options: Any) -> Store:
    """`sqlite:///path/to/file.db`, `redis://host:port/db` (with `?prefix=...`),
    `redis-cluster://host:port[,host:port...]` (seed nodes; `?prefix=...&wait=1`) or
    `postgresql://user@host:port/database` (with `?schema=...`; `postgres://` too)."""
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
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from youthmode.ledger.postgres_store import PostgresStore
        except ModuleNotFoundError as missing:
            if not (missing.name or "").startswith("psycopg"):
                raise
            raise ValueError(
                f"a PostgreSQL store needs psycopg 3 and psycopg_pool, which are not installed "
                f"(no module `{missing.name}`): pip install 'youthmode[postgresql]'"
            ) from None
        return PostgresStore(url, **options)
    raise ValueError(
        f"unknown store URL `{url}`; use sqlite:///file.db, redis://host:port/db, "
        "redis-cluster://host:port,host:port or postgresql://user@host:port/database"
    )
