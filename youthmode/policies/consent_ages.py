"""The digital age of consent by jurisdiction, as data: `configs/data/consent-ages.toml`.

Below this age a service relying on consent needs the guardian's (GDPR art. 8: 16 unless a
member state set 13, 14 or 15). Packs and app policies read it to know from which age a
`require_consent` rule stops applying (`consent_age("FR")`); `youthmode check` reads it with the
policies of a folder and warns about an entry without a source (`unsourced_consent_age`), since
a compliance table is only as good as the citation of each figure.

The file:

    [ages.FR]
    age = 15
    source = "Loi 78-17 art. 45, https://www.legifrance.gouv.fr/..."
    checked = 2026-12-01        # when the source was read
    verified = true             # false: from a secondary source only, to be checked

A malformed file (not TOML, an unknown key, an age outside 13-18, a code that is not ISO 3166)
is an error carrying the file, the entry and why (`ConsentAgeError`, or problems for `check`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from youthmode import jurisdictions
from youthmode.errors import Problem
from youthmode.policies import diagnostics as d
from youthmode.policies import diagnostics_meta as dm
from youthmode.policies import diagnostics_world as dw
from youthmode.policies.source import TomlSource, parse_toml

TABLE_PATH = Path("data") / "consent-ages.toml"  # under a policy folder, e.g. configs/
AGES = range(13, 19)  # GDPR art. 8 allows 13-16; some laws outside the EU set 18
ENTRY_KEYS = frozenset({"age", "source", "checked", "verified", "note"})


class ConsentAgeError(ValueError):
    """A consent-age table that cannot be used: `problems` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass(frozen=True)
class ConsentAge:
    """One jurisdiction's digital age of consent and where the figure comes from."""

    jurisdiction: str
    age: int
    source: str | None
    checked: date | None
    verified: bool
    note: str | None = None


def table_beside(folder: Path) -> Path | None:
    """The consent-age table of a policy folder, if it has one."""
    path = folder / TABLE_PATH
    return path if path.is_file() else None


def load(path: Path) -> dict[str, ConsentAge]:
    """The table at ``path`` by jurisdiction code, or ConsentAgeError with every problem."""
    table, problems = check(path)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ConsentAgeError(errors)
    return table


def consent_age(table: Mapping[str, ConsentAge], code: str) -> ConsentAge | None:
    """The entry for ``code`` (a subdivision's own, else its country's), or None."""
    normal = jurisdictions.normalise(code)
    for key in jurisdictions.lookup_order(normal):
        if key in table:
            return table[key]
    return None


def check(path: Path) -> tuple[dict[str, ConsentAge], list[Problem]]:
    """The well-formed entries of ``path`` and every problem (unsourced ones as warnings)."""
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        return {}, [d.UNREADABLE_FILE(name=name, reason=err.strerror).at(name)]
    source, problems = parse_toml(data, name)
    if source is None:
        return {}, problems
    unknown = set(source.raw) - {"ages"}
    for key in sorted(unknown):
        problems.append(source.problem((key,), dw.CONSENT_AGE_UNKNOWN_KEY(key=key)))
    ages = source.raw.get("ages", {})
    if not isinstance(ages, dict):
        found = dw.CONSENT_AGE_NOT_TABLE(key="ages", found=type(ages).__name__)
        return {}, [*problems, source.problem(("ages",), found)]
    table: dict[str, ConsentAge] = {}
    for code, entry in ages.items():
        parsed = _entry(source, str(code), entry, problems)
        if parsed is not None:
            table[parsed.jurisdiction] = parsed
    return table, problems


def _entry(source: TomlSource, code: str, entry: Any, problems: list[Problem]) -> ConsentAge | None:
    """One `[ages.XX]` table, or None with its problems added."""
    path = ("ages", code)
    before = len(problems)
    try:
        normal = jurisdictions.normalise(code)
    except jurisdictions.UnknownJurisdiction as err:
        problems.append(source.problem(path, dm.INVALID_JURISDICTION(detail=str(err))))
        normal = code
    if not isinstance(entry, dict):
        found = dw.CONSENT_AGE_NOT_TABLE(key=f"ages.{code}", found=type(entry).__name__)
        problems.append(source.problem(path, found))
        return None
    for key in sorted(set(entry) - ENTRY_KEYS):
        problems.append(source.problem((*path, key), dw.CONSENT_AGE_UNKNOWN_KEY(key=key)))
    age = entry.get("age")
    if not isinstance(age, int) or isinstance(age, bool) or age not in AGES:
        found = dw.CONSENT_AGE_VALUE(code=code, value=repr(age))
        problems.append(source.problem((*path, "age"), found))
    checked, verified = entry.get("checked"), entry.get("verified", False)
    if checked is not None and not (isinstance(checked, date) and type(checked) is date):
        found = dw.CONSENT_AGE_DATE(code=code, value=repr(checked))
        problems.append(source.problem((*path, "checked"), found))
    if not isinstance(verified, bool):
        found = dw.CONSENT_AGE_VERIFIED(code=code, value=repr(verified))
        problems.append(source.problem((*path, "verified"), found))
    text = entry.get("source")
    if not (isinstance(text, str) and text.strip()):
        problems.append(source.problem(path, dm.UNSOURCED_CONSENT_AGE(code=code)))
    if any(p.severity == "error" for p in problems[before:]) or not isinstance(age, int):
        return None
    note = entry.get("note")
    return ConsentAge(normal, age, text or None, checked, verified, note)
