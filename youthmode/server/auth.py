"""API keys with scopes. The keys file stores only SHA-256 hashes; comparison is constant-time.

Keys file (TOML):

    [[keys]]
    id = "game-backend"
    sha256 = "9f86d0..."
    scopes = ["decide", "usage"]
    created = "2026-11-27T12:00:00Z"
    subjects = "acme:"      # optional: this key may only act on subject ids with this prefix
"""

from __future__ import annotations

import hashlib
import hmac
import json
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


def _parse_keys(text: str, path: str | Path) -> tuple[ApiKey, ...]:
    keys = []
    for i, entry in enumerate(tomllib.loads(text).get("keys", [])):
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
    """Looks up a presented secret among stored hashes without timing leaks."""

    def __init__(self, keys: tuple[ApiKey, ...]) -> None:
        self._keys = keys
        self.tenants = any(k.subjects is not None for k in keys)  # any key bound to a prefix?

    def find(self, secret: str) -> ApiKey | None:
        digest = hash_key(secret)
        found = None
        for key in self._keys:  # no early exit: every key is compared every time
            if hmac.compare_digest(key.sha256, digest):
                found = key
        return found


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
    existing = load_keys(target) if target.exists() else ()
    if any(k.id == key_id for k in existing):
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
