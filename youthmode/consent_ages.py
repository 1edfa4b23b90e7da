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
from youthmode.policies.catalogue import Finding
from youthmode.policies.diagnostics_meta import UNSOURCED_CONSENT_AGE
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
        return {}, [_problem(None, name, "unreadable_file", f"cannot read `{name}`: {err.strerror}")]
    source, problems = parse_toml(data, name)
    if source is None:
        return {}, problems
    unknown = set(source.raw) - {"ages"}
    for key in sorted(unknown):
        problems.append(_problem(source, name, "unknown_key", f"unknown key `{key}`", (key,)))
    ages = source.raw.get("ages", {})
    if not isinstance(ages, dict):
        found = "`ages` must be a table of jurisdictions, e.g. [ages.FR]"
        return {}, [*problems, _problem(source, name, "invalid_type", found, ("ages",))]
    table: dict[str, ConsentAge] = {}
    for code, entry in ages.items():
        parsed = _entry(source, name, str(code), entry, problems)
        if parsed is not None:
            table[parsed.jurisdiction] = parsed
    return table, problems


def _entry(
    source: TomlSource, name: str, code: str, entry: Any, problems: list[Problem]
) -> ConsentAge | None:
    """One `[ages.XX]` table, or None with its problems added."""
    path = ("ages", code)
    before = len(problems)
    try:
        normal = jurisdictions.normalise(code)
    except jurisdictions.UnknownJurisdiction as err:
        problems.append(_problem(source, name, "invalid_jurisdiction", str(err), path))
        normal = code
    if not isinstance(entry, dict):
        problems.append(_problem(source, name, "invalid_type", f"`{code}` must be a table", path))
        return None
    for key in sorted(set(entry) - ENTRY_KEYS):
        found = f"unknown key `{key}` in the consent age of `{code}`"
        problems.append(_problem(source, name, "unknown_key", found, (*path, key)))
    age = entry.get("age")
    if not isinstance(age, int) or isinstance(age, bool) or age not in AGES:
        found = f"the consent age of `{code}` must be a whole number from 13 to 18, not {age!r}"
        problems.append(_problem(source, name, "invalid_value", found, (*path, "age")))
    checked, verified = entry.get("checked"), entry.get("verified", False)
    if checked is not None and not (isinstance(checked, date) and type(checked) is date):
        found = f"`checked` of `{code}` must be a date, e.g. checked = 2026-12-01"
        problems.append(_problem(source, name, "invalid_date", found, (*path, "checked")))
    if not isinstance(verified, bool):
        found = f"`verified` of `{code}` must be true or false"
        problems.append(_problem(source, name, "invalid_type", found, (*path, "verified")))
    text = entry.get("source")
    if not (isinstance(text, str) and text.strip()):
        problems.append(source.problem(path, UNSOURCED_CONSENT_AGE(code=code)))
    if any(p.severity == "error" for p in problems[before:]) or not isinstance(age, int):
        return None
    note = entry.get("note")
    return ConsentAge(normal, age, text or None, checked, verified, note)


def _problem(
    source: TomlSource | None,
    name: str,
    code: str,
    message: str,
    path: tuple[str, ...] = (),
) -> Problem:
    """An error of an existing code (the table's keys are checked like a policy's)."""
    found = Finding(code, message, None, "error")
    return source.problem(path, found) if source is not None else found.at(name)
