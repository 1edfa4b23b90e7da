"""IANA time zones a request may name (`subject.timezone`): one lookup for both request routes.

Only names of the IANA database count (`zoneinfo.available_timezones()`): `ZoneInfo` alone also
opens other files under its search path, and a request must not pick those.
"""

from __future__ import annotations

import zoneinfo
from functools import cache

from youthmode.errors import did_you_mean

# Files of a zoneinfo folder that are no place: the host's own zone (`localtime`, which a
# decision must never read) and the placeholders.
NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})


@cache
def names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - NOT_PLACES


@cache
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def known_zone(name: str) -> zoneinfo.ZoneInfo | None:
    """The zone of an IANA name, or None when it is not one."""
    return _zone(name) if name in names() else None


def why_not(name: str) -> str:
    """Why ``name`` is not a zone, with the nearest names."""
    near = did_you_mean(name, names()) if len(name) <= 64 else None  # difflib is quadratic
    hint = near or "e.g. America/Los_Angeles"
    return f"`{name}` is not an IANA time zone name; {hint}"
