"""Changing the keys file after `create_key`: list, revoke and rotate keys.

The file is rewritten whole (to a temporary file, then renamed over it), so a server that
re-reads it (`KeyRing.from_file`) sees the old file or the new one, never half of one. A
revoked key stays in the file with its `revoked` time, for `keys list` and for audit; its id
cannot be taken again. Comments in the file are not kept by a rewrite.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from youthmode.server.auth import KEY_PREFIX, KeyFileError, hash_key, key_entries

HEADER = "# youthmode API keys: SHA-256 hashes only (`youthmode keys --help`)\n"
# The order fields are written in; any other field is written after these.
FIELD_ORDER = ("id", "sha256", "scopes", "subjects", "created", "rotated", "revoked")


@dataclass(frozen=True)
class KeySummary:
    """One key as `keys list` shows it: everything but its hash."""

    id: str
    scopes: tuple[str, ...]
    subjects: str | None
    created: str | None
    rotated: str | None
    revoked: str | None

    @property
    def status(self) -> str:
        return "revoked" if self.revoked else "active"


def list_keys(path: str | Path) -> list[KeySummary]:
    """Every key in the file, in file order, revoked ones included."""
    return [
        KeySummary(
            str(e["id"]),
            tuple(e["scopes"]),
            e.get("subjects"),
            _text(e.get("created")),
            _text(e.get("rotated")),
            _text(e.get("revoked")),
        )
        for e in key_entries(_existing(path))
    ]


def revoke_key(path: str | Path, key_id: str) -> None:
    """Mark the key revoked: from the next re-read of the file on, no server accepts it."""
    entries = key_entries(_existing(path))
    entry = _active_entry(entries, key_id, path)
    entry["revoked"] = _now()
    _write(Path(path), entries)


def rotate_key(path: str | Path, key_id: str) -> str:
    """Give the key a new secret (same id, scopes and tenant) and return it: shown once,
    never stored. The old secret stops working when servers re-read the file."""
    entries = key_entries(_existing(path))
    entry = _active_entry(entries, key_id, path)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    entry["sha256"] = hash_key(secret)
    entry["rotated"] = _now()
    _write(Path(path), entries)
    return secret


def _existing(path: str | Path) -> Path:
    target = Path(path)
    if not target.exists():
        raise KeyFileError(f"no keys file `{path}` (create one with `youthmode keys create`)")
    return target


def _active_entry(entries: list[dict[str, Any]], key_id: str, path: str | Path) -> dict[str, Any]:
    for entry in entries:
        if entry.get("id") == key_id:
            if entry.get("revoked"):
                raise KeyFileError(f"key `{key_id}` in `{path}` was revoked at {entry['revoked']}")
            return entry
    known = ", ".join(f"`{e['id']}`" for e in entries if not e.get("revoked")) or "none"
    raise KeyFileError(f"no key `{key_id}` in `{path}` (active keys: {known})")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):  # a TOML date-time written by hand
        return value.isoformat()
    return str(value)


def _write(target: Path, entries: list[dict[str, Any]]) -> None:
    """Replace the file with ``entries``, atomically, readable by its owner only."""
    text = HEADER + "".join(_table(entry) for entry in entries)
    fd, staging = tempfile.mkstemp(prefix=".keys-", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(staging, 0o600)
        os.replace(staging, target)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise


def _table(entry: dict[str, Any]) -> str:
    order = [k for k in FIELD_ORDER if k in entry] + [k for k in entry if k not in FIELD_ORDER]
    return "\n[[keys]]\n" + "".join(f"{k} = {_value(entry[k], k)}\n" for k in order)


def _value(value: Any, key: str) -> str:
    """A TOML value: strings (JSON escapes are TOML's), lists of them, numbers, booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v, key) for v in value) + "]"
    raise KeyFileError(f"cannot rewrite the keys file: `{key}` holds a {type(value).__name__}")
