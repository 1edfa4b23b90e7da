"""API keys with scopes. The keys file stores only SHA-256 hashes; comparison is constant-time.

Keys file (TOML):

    [[keys]]
    id = "game-backend"
    sha256 = "9f86d0..."
    scopes = ["decide", "usage"]
    created = "2026-11-27T12:00:00Z"
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SCOPES = ("decide", "usage", "guardian", "admin")
KEY_PREFIX = "ym_"


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    sha256: str
    scopes: frozenset[str]


class KeyFileError(ValueError):
    """The keys file is unreadable or malformed."""


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def load_keys(path: str | Path) -> tuple[ApiKey, ...]:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise KeyFileError(f"cannot read keys file `{path}`: {err}") from None
    keys = []
    for i, entry in enumerate(data.get("keys", [])):
        try:
            scopes = frozenset(entry["scopes"])
            key = ApiKey(str(entry["id"]), str(entry["sha256"]).lower(), scopes)
        except (KeyError, TypeError):
            raise KeyFileError(f"keys[{i}] in `{path}` needs `id`, `sha256` and `scopes`") from None
        unknown = scopes - set(SCOPES)
        if unknown or len(key.sha256) != 64:
            raise KeyFileError(f"keys[{i}] (`{key.id}`) in `{path}`: bad scopes or hash")
        keys.append(key)
    return tuple(keys)


class KeyRing:
    """Looks up a presented secret among stored hashes without timing leaks."""

    def __init__(self, keys: tuple[ApiKey, ...]) -> None:
        self._keys = keys

    def find(self, secret: str) -> ApiKey | None:
        digest = hash_key(secret)
        found = None
        for key in self._keys:  # no early exit: every key is compared every time
            if hmac.compare_digest(key.sha256, digest):
                found = key
        return found


def create_key(path: str | Path, key_id: str, scopes: list[str]) -> str:
    """Append a new key to the keys file and return the secret (shown once, never stored)."""
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", key_id):
        raise KeyFileError("key id: use 1-64 letters, digits, `.`, `_` or `-`")
    unknown = set(scopes) - set(SCOPES)
    if unknown or not scopes:
        raise KeyFileError(f"scopes must be among {', '.join(SCOPES)}")
    target = Path(path)
    existing = load_keys(target) if target.exists() else ()
    if any(k.id == key_id for k in existing):
        raise KeyFileError(f"a key with id `{key_id}` already exists in `{path}`")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    entry = (
        f'\n[[keys]]\nid = "{key_id}"\nsha256 = "{hash_key(secret)}"\n'
        f"scopes = [{', '.join(repr(s).replace(chr(39), chr(34)) for s in scopes)}]\n"
        f'created = "{created}"\n'
    )
    with target.open("a", encoding="utf-8") as out:
        out.write(entry)
    target.chmod(0o600)
    return secret
