"""Jurisdictions: ISO 3166-1 countries and ISO 3166-2 subdivisions, as `subject.jurisdiction`.

A subject's rules come from where it is: `VN`, `BR`, or a subdivision such as `US-TX`. Codes are
matched case-insensitively and checked against the ISO 3166 tables of the `pycountry` package
(a typo must be a 400, never a silent "no floor applies"). A subdivision's floors are looked up
before its country's (`US-TX`, then `US`).
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path

from youthmode.errors import did_you_mean

MAX_CODE_LENGTH = 6  # ISO 3166-2: two letters, a hyphen, at most three characters


class UnknownJurisdiction(ValueError):
    """Not an ISO 3166-1 alpha-2 country nor an ISO 3166-2 subdivision code."""


@cache
def countries() -> frozenset[str]:
    """Every ISO 3166-1 alpha-2 code (`CN`, `VN`, ...)."""
    found = _table("iso3166-1.json", "3166-1", "alpha_2")
    if found is None:
        import pycountry

        found = frozenset(country.alpha_2 for country in pycountry.countries)
    return found


@cache
def subdivisions() -> frozenset[str]:
    """Every ISO 3166-2 subdivision code (`US-TX`, `CN-BJ`, `GB-ENG`, ...)."""
    found = _table("iso3166-2.json", "3166-2", "code")
    if found is None:
        import pycountry

        found = frozenset(sub.code.upper() for sub in pycountry.subdivisions)
    return found


def _table(file: str, table: str, field: str) -> frozenset[str] | None:
    """One column of one of pycountry's ISO tables, read from its JSON file, upper case.

    pycountry's own objects cost 50 ms to import and 115 ms to build the subdivisions, a
    third of loading the shipped packs; the same codes straight from its file take 12 ms.
    None when the package's files are not laid out as expected: the caller then asks
    pycountry itself (tests/test_jurisdictions.py holds the two to the same answer)."""
    spec = importlib.util.find_spec("pycountry")  # finds it without running it
    for folder in (spec and spec.submodule_search_locations) or ():
        try:
            rows = json.loads((Path(folder) / "databases" / file).read_bytes())[table]
            return frozenset(row[field].upper() for row in rows)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
    return None


def warm() -> None:
    """Load the tables now, so the first request that names a jurisdiction is not slow."""
    countries()
    subdivisions()


def normalise(text: str) -> str:
    """The code as written in policies (upper case), or UnknownJurisdiction saying why not."""
    code = text.strip().upper() if len(text) <= MAX_CODE_LENGTH + 2 else ""
    if len(code) == 2 and code in countries():
        return code
    if "-" in code and code in subdivisions():
        return code
    # Echo what was sent, escaped: it may hold anything, lone surrogates included.
    shown = text[:20].encode("ascii", "backslashreplace").decode("ascii")
    shown += "..." if len(text) > 20 else ""
    hint = _suggestion(code)
    raise UnknownJurisdiction(
        f"`{shown}` is not an ISO 3166-1 alpha-2 country (`VN`) or an ISO 3166-2 subdivision "
        f"(`US-TX`){f'; {hint}' if hint else ''}"
    )


# Codes people write that ISO spells otherwise.
_COMMON_MISTAKES = {"UK": "GB", "EL": "GR"}


def _suggestion(code: str) -> str | None:
    """A "did you mean" hint for a code that is close to, or another spelling of, a real one."""
    if code in _COMMON_MISTAKES:
        return f"did you mean `{_COMMON_MISTAKES[code]}`?"
    if "-" in code:
        country = code.split("-", 1)[0]
        same_country = [s for s in subdivisions() if s.startswith(country + "-")]
        return did_you_mean(code, same_country)
    if len(code) == 3:
        import pycountry

        found = pycountry.countries.get(alpha_3=code)
        return f"did you mean `{found.alpha_2}`?" if found is not None else None
    return None


def lookup_order(code: str) -> tuple[str, ...]:
    """The keys a policy's floors are matched against, most specific first."""
    country = country_of(code)
    return (code, country) if country != code else (code,)


def country_of(code: str) -> str:
    """`US` of `US-TX`; a country's own code of itself."""
    return code.partition("-")[0]
