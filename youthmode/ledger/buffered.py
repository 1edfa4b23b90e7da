"""What the SQL stores' transactions share: documents read once, writes held until commit.

A transaction of SQLite or PostgreSQL reads a subject's documents as rows, keeps each row it
read (a decision reads some documents twice) and holds its puts and deletes in `pending`, which
its store writes at commit. Only fetching rows differs between the two: `fetch_one` and
`stored_keys`.
"""

from __future__ import annotations

from typing import Any

from youthmode.ledger.store import decode_document, encode_document


class BufferedTransaction:
    def __init__(self, subject: str, writable: bool) -> None:
        self.subject, self.writable = subject, writable
        self.pending: dict[str, str | None] = {}  # the new text of a document; None: deleted
        self.fetched: dict[str, str | None] = {}  # read in this transaction: not read again

    def fetch_one(self, key: str) -> str | None:
        """The stored text of the document ``key`` (one query)."""
        raise NotImplementedError

    def stored_keys(self, prefix: str) -> set[str]:
        """The keys of the stored documents that start with ``prefix``."""
        raise NotImplementedError

    def get(self, key: str) -> Any:
        if key in self.pending:
            raw = self.pending[key]
        elif key in self.fetched:
            raw = self.fetched[key]
        else:
            raw = self.fetched[key] = self.fetch_one(key)
        return decode_document(raw) if raw is not None else None

    def text(self, key: str) -> str | None:
        """The document ``key`` as stored, not decoded (None: no such document)."""
        if key in self.pending:
            return self.pending[key]
        if key in self.fetched:
            return self.fetched[key]
        raw = self.fetched[key] = self.fetch_one(key)
        return raw

    def put(self, key: str, value: Any) -> None:
        if not self.writable:
            raise RuntimeError("write inside a read-only snapshot")
        self.pending[key] = encode_document(value)

    def delete(self, key: str) -> None:
        if not self.writable:
            raise RuntimeError("write inside a read-only snapshot")
        self.pending[key] = None

    def keys(self, prefix: str) -> list[str]:
        found = self.stored_keys(prefix)
        found |= {k for k, v in self.pending.items() if k.startswith(prefix) and v is not None}
        found -= {k for k, v in self.pending.items() if v is None}
        return sorted(found)
