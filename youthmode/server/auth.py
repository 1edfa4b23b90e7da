"""API keys with scopes. The keys file stores only SHA-256 hashes; comparison is constant-time.

Keys file (TOML):

    [[keys]]
    id = "game-backend"
    sha256 = "9f86d0..."
    scopes = ["decide", "usage"]
    created = "2026-11-27T12:00:00Z"
    subjects = "acme:"      # optional: this key may only act on subject ids with this prefix
    revoked = "2026-12-01T09:00:00Z"   # set by `youthmode keys revoke`: the key no longer works
    rotated = "2026-12-01T09:00:00Z"   # set by `youthmode keys rotate`: a new secret since then

A server re-reads the file within `KEYS_CHECK_SECONDS` of a change (`KeyRing.from_file`), so
a revoked or rotated key stops working without a restart. `keys_file.py` edits the file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import threading
import time
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCOPES = ("decide", "usage", "guardian", "admin", "nppa")  # nppa: real-name checks
KEY_PREFIX = "ym_"
# How stale a server's view of the keys file may be: a revoked key works at most this long.
KEYS_CHECK_SECONDS = 1.0
log = logging.getLogger("youthmode.keys")


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    sha256: str
    scopes: frozenset[str]
    subjects: str | None = None  # tenant: only subject ids starting with this prefix

    def may_act_on(self, subject_id: str) -> bool:
        return self.subjects is None or subject_id.startswith(self.subjects)


class KeyFileError(ValueError):
    """The keys file is unreadable or malformed."""


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def load_keys(path: str | Path) -> tuple[ApiKey, ...]:
    """Every key in the keys file; any problem at all with the file is a KeyFileError."""
    try:
        return _parse_keys(Path(path).read_text(encoding="utf-8"), path)
    except KeyFileError:
        raise
    except Exception as err:  # OSError, TOML errors, UnicodeDecodeError, RecursionError, ...
        reason = str(err) or type(err).__name__
        raise KeyFileError(f"cannot read keys file `{path}`: {reason}") from None


def key_entries(path: str | Path) -> list[dict[str, Any]]:
    """Every `[[keys]]` table of the file as written, revoked ones included (after checking
    that the file loads: a KeyFileError otherwise)."""
    load_keys(path)
    entries: list[dict[str, Any]] = tomllib.loads(Path(path).read_text("utf-8")).get("keys", [])
    return entries


def _parse_keys(text: str, path: str | Path) -> tuple[ApiKey, ...]:
    keys = []
    for i, entry in enumerate(tomllib.loads(text).get("keys", [])):
        if not isinstance(entry, dict):
            raise KeyFileError(f"keys[{i}] in `{path}` is not a table")
        if entry.get("revoked"):
            continue  # kept in the file for `keys list`; never accepted
        try:
            scopes = frozenset(entry["scopes"])
            key = ApiKey(
                str(entry["id"]),
                str(entry["sha256"]).lower(),
                scopes,
                _subjects(entry.get("subjects"), f"keys[{i}] in `{path}`"),
            )
        except (KeyError, TypeError, AttributeError):
            raise KeyFileError(f"keys[{i}] in `{path}` needs `id`, `sha256` and `scopes`") from None
        unknown = scopes - set(SCOPES)
        if unknown or len(key.sha256) != 64:
            raise KeyFileError(f"keys[{i}] (`{key.id}`) in `{path}`: bad scopes or hash")
        keys.append(key)
    return tuple(keys)


def _subjects(prefix: object, where: str) -> str | None:
    """A tenant's subject-id prefix: absent, or 1-256 printable characters."""
    if prefix is None:
        return None
    if not isinstance(prefix, str) or not 1 <= len(prefix) <= 256 or not prefix.isprintable():
        raise KeyFileError(f"{where}: `subjects` must be a prefix of 1-256 printable characters")
    return prefix


class KeyRing:
    """Looks up a presented secret among stored hashes without timing leaks.

    Made with `from_file`, it re-reads the keys file when the file changes (checked at most
    every `KEYS_CHECK_SECONDS`, on a lookup); a file that no longer parses changes nothing
    and is logged, so a half-written edit never locks every caller out.
    """

    def __init__(self, keys: tuple[ApiKey, ...], path: str | Path | None = None) -> None:
        # INVARIANT: keys and "any tenant key" change together (one reference), or the lane
        # could take a tenant-bound key for an unbound one.
        self._snapshot = (keys, _any_tenant(keys))
        self._path = None if path is None else Path(path)
        self._seen = _file_state(self._path) if self._path is not None else None
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: str | Path) -> KeyRing:
        """The keys of ``path``, kept in step with it (a KeyFileError if it is bad now)."""
        return cls(load_keys(path), path)

    @property
    def tenants(self) -> bool:
        """Is any key bound to a subject-id prefix?"""
        return self._current()[1]

    def find(self, secret: str) -> ApiKey | None:
        digest = hash_key(secret)
        found = None
        for key in self._current()[0]:  # no early exit: every key is compared every time
            if hmac.compare_digest(key.sha256, digest):
                found = key
        return found

    def _current(self) -> tuple[tuple[ApiKey, ...], bool]:
        if self._path is not None and time.monotonic() - self._checked >= KEYS_CHECK_SECONDS:
            self._refresh(self._path)
        return self._snapshot

    def _refresh(self, path: Path) -> None:
        if not self._lock.acquire(blocking=False):
            return  # another thread is re-reading it: use the keys in force meanwhile
        try:
            self._checked = time.monotonic()
            state = _file_state(path)
            if state == self._seen:
                return
            try:
                keys = load_keys(path)
            except KeyFileError as err:
                log.error("keys file not reloaded, keeping the previous keys: %s", err)
            else:
                self._snapshot = (keys, _any_tenant(keys))
                log.info("keys file %s reloaded: %d key(s) in force", path, len(keys))
            self._seen = state  # a bad file is reported once, not on every check
        finally:
            self._lock.release()


def _any_tenant(keys: tuple[ApiKey, ...]) -> bool:
    return any(k.subjects is not None for k in keys)


def _file_state(path: Path) -> tuple[int, int, int] | None:
    """What changes when the file is edited or replaced: inode, size, modification time."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def create_key(
    path: str | Path, key_id: str, scopes: list[str], subjects: str | None = None
) -> str:
    """Append a new key to the keys file and return the secret (shown once, never stored).

    ``subjects``: bind the key to the subject ids that start with this prefix (a tenant).
    """
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", key_id):
        raise KeyFileError("key id: use 1-64 letters, digits, `.`, `_` or `-`")
    unknown = set(scopes) - set(SCOPES)
    if unknown or not scopes:
        raise KeyFileError(f"scopes must be among {', '.join(SCOPES)}")
    _subjects(subjects, "--subjects")
    target = Path(path)
    existing = key_entries(target) if target.exists() else []
    if any(entry.get("id") == key_id for entry in existing):  # revoked ones too: ids stay unique
        raise KeyFileError(f"a key with id `{key_id}` already exists in `{path}`")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    entry = (
        f'\n[[keys]]\nid = "{key_id}"\nsha256 = "{hash_key(secret)}"\n'
        f"scopes = [{', '.join(repr(s).replace(chr(39), chr(34)) for s in scopes)}]\n"
        f'created = "{created}"\n'
        # A printable prefix as a JSON string is a TOML basic string (same escapes).
        + (f"subjects = {json.dumps(subjects, ensure_ascii=False)}\n" if subjects else "")
    )
    with target.open("a", encoding="utf-8") as out:
        out.write(entry)
    target.chmod(0o600)
    return secret
