"""Moved to `youthmode.server.auth`; this path stays for code that imports it from here."""

from youthmode.server.auth import ApiKey as ApiKey
from youthmode.server.auth import KeyFileError as KeyFileError
from youthmode.server.auth import KeyRing as KeyRing
from youthmode.server.auth import create_key as create_key
from youthmode.server.auth import hash_key as hash_key
from youthmode.server.auth import load_keys as load_keys

__all__ = ["ApiKey", "KeyFileError", "KeyRing", "create_key", "hash_key", "load_keys"]
