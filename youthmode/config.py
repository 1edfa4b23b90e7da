"""Moved to `youthmode.server.config`; this path stays for code that imports it from here."""

from youthmode.server.config import ServerConfig as ServerConfig

__all__ = ["ServerConfig"]
