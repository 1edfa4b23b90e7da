"""Jurisdictions: ISO 3166-1 countries and ISO 3166-2 subdivisions, as `subject.jurisdiction`.

A subject's rules come from where it is: `VN`, `BR`, or a subdivision such as `US-TX`. Codes are
matched case-insensitively and checked against the ISO 3166 tables of the `pycountry` package
(a typo must be a 400, never a silent "no floor applies"). A subdivision's floors are looked up
before its country's (`US-TX`, then `US`).
"""

from __future__ import annotations

from functools import cache

from youthmode.errors import did_you_mean

MAX_CODE_LENGTH = 6  # ISO 3166-2: two letters, a hyphen, at most three characters


class UnknownJurisdiction(ValueError):
    """Not an ISO 3166-1 alpha-2 country nor an ISO 3166-2 subdivision code."""


@cache
def countries() -> frozenset[str]:
    """Every ISO 3166-1 alpha-2 code (`CN`, `VN`, ...)."""
    import pycountry  # ~0.2 s, paid once: at the first jurisdiction or by `warm`

    return frozenset(country.alpha_2 for country in pycountry.countries)


@cache
def subdivisions() -> frozenset[str]:
    """Every ISO 3166-2 subdivision code (`US-TX`, `CN-BJ`, `GB-ENG`, ...)."""
    import pycountry

    return frozenset(sub.code.upper() for sub in pycountry.subdivisions)


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
