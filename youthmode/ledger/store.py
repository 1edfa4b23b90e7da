"""The store interface: small JSON documents per subject, changed atomically.

Every write in the ledger is a read-modify-write of one subject's documents: a function given
to `store.atomic(subject, fn)`. SQLite runs it inside an immediate transaction; Redis inside an
optimistic WATCH/MULTI transaction, running `fn` again when another writer got there first (so
`fn` must do nothing but read and write through its transaction). Either way the change is all
or nothing: an exception inside `fn` writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

import orjson

from youthmode.errors import RequestError, YouthmodeError


class StoreUnavailable(YouthmodeError):
    """The store cannot be read or written right now. Nothing was changed."""


class StoreOutcomeUnknown(StoreUnavailable):
    """A write was sent but its answer was lost: it may or may not have been applied. Every
    ledger write is idempotent by its id, so the caller retries with the same id."""


class UnstorableText(RequestError):
    """A document holds text that cannot be written as UTF-8 (a lone surrogate)."""


def decode_document(raw: str | bytes) -> Any:
    """A stored document. orjson reads the ledger's own compact JSON (ints, strings, lists,
    objects) in a quarter of json's time; anything it refuses goes to json as before."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def encode_document(value: Any) -> str:
    """A document as stored: compact JSON, checked to encode as UTF-8 before anything is kept
    (a lone surrogate stored would break every later answer about the subject). orjson writes
    the same compact JSON; what it refuses (a lone surrogate, a key that is not a string)
    goes the standard way, which words the error or writes it as before."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except (orjson.JSONEncodeError, TypeError):
        pass
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UnstorableText.single(
            ("body",), "text that is not valid Unicode cannot be stored", code="invalid_value"
        ) from None
    return text


class LedgerConflict(RequestError):
    """The request conflicts with what the ledger holds (e.g. an order id reused)."""


class NotFound(RequestError):
    """No such order or request."""


class Transaction(Protocol):
    def get(self, key: str) -> Any: ...

    def text(self, key: str) -> str | bytes | None:
        """The document ``key`` as stored, not decoded (None: no such document): what `get`
        decodes, from the same read."""
        ...

    def prefetch(self, keys: Iterable[str]) -> None:
        """These keys are about to be read: fetch them at once. Only saves round trips; what
        `get` returns is the same with or without it."""
        ...

    def put(self, key: str, value: Any) -> None: ...

    def delete(self, key: str) -> None: ...

    def keys(self, prefix: str) -> list[str]: ...


T = TypeVar("T")


class Store(Protocol):
    backend: str
    url: str

    def atomic(self, subject: str, fn: Callable[[Transaction], T]) -> T:
        """Run ``fn`` as one all-or-nothing read-modify-write of the subject's documents."""
        ...

    def read(self, subject: str, fn: Callable[[Transaction], T], *, decision: bool = False) -> T:
        """Run ``fn`` against a read-only view (no lock); writes inside it are an error.

        ``decision``: a read on the decision path, which gives up after the store's short
        read deadline, without retries, and at once while the circuit breaker is open.
        """
        ...

    def ping(self) -> None: ...

    def close(self) -> None: ...
