"""The PostgreSQL store's tables, created or brought up to date when a store opens.

Migrations are numbered and only ever appended. Opening a store applies the ones its schema
has not seen, in one transaction under an advisory lock, so the workers of `youthmode serve`
starting together against a fresh database apply each migration exactly once (two
`CREATE TABLE IF NOT EXISTS` at once can still collide on PostgreSQL's catalog).
"""

from __future__ import annotations

from typing import Any

# (version, statements). `{s}` is the store's schema, already quoted.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            # One row per subject: the row a writer locks (SELECT ... FOR UPDATE).
            'CREATE TABLE {s}.subjects (subject text COLLATE "C" PRIMARY KEY)',
            # One row per subject and document: the document's compact JSON, as written.
            "CREATE TABLE {s}.docs ("
            ' subject text COLLATE "C" NOT NULL,'
            ' key text COLLATE "C" NOT NULL,'
            " value text NOT NULL,"
            " PRIMARY KEY (subject, key))",
        ),
    ),
)
_LOCK_ID = 0x796D_6C65_6467_6572  # "ymledger": the advisory lock migrations hold


def migrate(conn: Any, schema: str) -> list[int]:
    """Apply the migrations ``schema`` lacks; the versions applied (none when up to date)."""
    quoted = f'"{schema}"'
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID - 2**63,))
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted}")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {quoted}.schema_version ("
            " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        row = conn.execute(f"SELECT max(version) FROM {quoted}.schema_version").fetchone()
        current = row[0] or 0
        applied = []
        for version, statements in MIGRATIONS:
            if version <= current:
                continue
            for statement in statements:
                conn.execute(statement.format(s=quoted))
            conn.execute(f"INSERT INTO {quoted}.schema_version (version) VALUES (%s)", (version,))
            applied.append(version)
    return applied
