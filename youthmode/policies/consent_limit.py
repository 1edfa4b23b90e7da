"""A `require_consent` rule bounded by age: consent is needed only below an age.

The age is fixed (`below_age = 13`) or the digital age of consent of the subject's jurisdiction
(`below_age = "consent_age"`), read from the consent-age table beside the rule's file
(`data/consent-ages.toml`, `consent_ages.py`). The table is read once, at load, into a dict
jurisdiction -> age: a decision looks up the subject's subdivision, then its country, and
nothing more. A subject with no jurisdiction, or one the table does not list, gets the rule's
`fallback_age` (required with `"consent_age"`: the editor says what holds where the table is
silent). An entry the table marks unverified is used or refused as the rule says
(`unverified_ages`, default `"refuse"`): a refused entry is left out of the dict, so the
fallback applies there; `youthmode check` lists which entries each rule used and refused.

An unknown age is below every age: consent is required (the rule's `bands` decide whether it
applies to the `unknown` band at all).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from youthmode.errors import Problem
from youthmode.policies import consent_ages
from youthmode.policies import diagnostics_world as dw
from youthmode.policies.kind_checks import RuleCheck
from youthmode.shipped import shipped_consent_table

FROM_TABLE = "consent_age"  # `below_age = "consent_age"`: the table's age for the jurisdiction
MAX_AGE = 150

# The JSON Schema annotations of the keys (the `keys` of `require_consent` in kinds.py).
KEYS: dict[str, dict[str, Any]] = {
    "below_age": {
        "description": "consent needed only below this age: whole years, or "
        '"consent_age", the digital age of consent of subject.jurisdiction from the '
        "consent-age table beside the pack (data/consent-ages.toml)"
    },
    "fallback_age": {
        "description": 'with below_age = "consent_age": the age where the subject has '
        "no jurisdiction or the table has no entry for it"
    },
    "unverified_ages": {
        "enum": ["use", "refuse"],
        "description": "whether the table's entries marked `verified = false` count "
        "(default refuse: the fallback_age applies there)",
    },
}


@dataclass(frozen=True, slots=True)
class AppliedAge:
    """The age below which a decision required consent, and where the figure came from."""

    age: int
    jurisdiction: str | None  # the table entry used, else the subject's (None: none given)
    fallback: bool  # the rule's `fallback_age` (or its fixed age), not a table entry
    source: str | None = None
    verified: bool | None = None
    fixed: bool = False  # a fixed `below_age`, no table (reported as a fallback)

    def to_dict(self) -> dict[str, Any]:
        return {
            "age": self.age,
            "jurisdiction": self.jurisdiction,
            "fallback": self.fallback,
            "source": self.source,
            "verified": self.verified,
        }

    def describe(self) -> str:
        where = f"in {self.jurisdiction}" if self.jurisdiction else "with no jurisdiction"
        if self.fixed:
            return f"{self.age} (the rule's below_age)"
        if self.fallback:
            return f"{self.age} ({where}: the rule's fallback_age)"
        checked = "verified" if self.verified else "unverified"
        return f"{self.age} ({where}: consent-age table, {checked})"


@dataclass(frozen=True, slots=True)
class ConsentAgeLimit:
    """Per jurisdiction, the age from which a rule's consent is no longer needed."""

    fallback: int
    entries: Mapping[str, AppliedAge] = field(default_factory=dict)
    table: str | None = None  # the table's path; None: a fixed age
    digest: str | None = None  # the table's sha256, part of the policy digest
    data: bytes = field(default=b"", repr=False, compare=False)  # the table as read
    refused: tuple[str, ...] = ()  # unverified entries left out: the fallback applies there
    unverified_used: tuple[str, ...] = ()

    def applied(self, jurisdiction: str | None) -> AppliedAge:
        """The age for a subject of ``jurisdiction`` (its subdivision's entry, else its
        country's, else the fallback)."""
        if jurisdiction is not None:
            found = self.entries.get(jurisdiction)
            if found is None and "-" in jurisdiction:
                found = self.entries.get(jurisdiction.split("-", 1)[0])
            if found is not None:
                return found
        return AppliedAge(self.fallback, jurisdiction, True, fixed=self.table is None)

    def ages(self) -> frozenset[int]:
        """Every age this limit can take: where a comparison must cut the ages."""
        return frozenset({self.fallback, *(e.age for e in self.entries.values())})

    def summary(self) -> str:
        """One line for `youthmode check`: the table, and the entries used and refused."""
        if self.table is None:
            return f"below age {self.fallback} (fixed)"
        text = (
            f"{len(self.entries)} jurisdictions from {self.table}, fallback_age "
            f"{self.fallback} elsewhere"
        )
        if self.unverified_used:
            text += f"; unverified entries used: {', '.join(self.unverified_used)}"
        if self.refused:
            text += f"; unverified entries refused (fallback there): {', '.join(self.refused)}"
        return text


# -- reading the table, once per load ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Read:
    table: dict[str, consent_ages.ConsentAge]
    problems: list[Problem]
    digest: str
    data: bytes  # the exact bytes read, for the last-good snapshot


_READ: dict[tuple[str, int, int], _Read] = {}


def table_path(rule_file: str) -> Path:
    """The table a rule defined in ``rule_file`` reads: the one beside the file, in data/;
    else, when there is none there, the one youthmode comes with (`shipped.py`)."""
    beside = Path(rule_file).parent / consent_ages.TABLE_PATH
    if beside.is_file():
        return beside
    return shipped_consent_table() or beside


def read_table(path: Path) -> _Read | None:
    """The table at ``path`` with its problems (None: no such file). Memoised by path, size
    and modification time, so validating and compiling one load read it once."""
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    found = _READ.get(key)
    if found is None:
        table, problems = consent_ages.check(path)
        try:
            data = path.read_bytes()
        except OSError:
            data = b""
        if len(_READ) > 64:
            _READ.clear()
        found = _READ[key] = _Read(table, problems, hashlib.sha256(data).hexdigest(), data)
    return found


# -- the kind's check and compile ----------------------------------------------------------------
def check(ctx: RuleCheck) -> None:
    """`below_age`, `fallback_age` and `unverified_ages` together, and the table they read."""
    rule, path = ctx.rule, ctx.path
    below = rule.below_age
    if (isinstance(below, str) and below != FROM_TABLE) or (
        isinstance(below, int) and not 1 <= below <= MAX_AGE
    ):
        found = dw.CONSENT_BELOW_AGE_TEXT(id=rule.id, value=below)
        ctx.report((*path, "below_age"), found, rule=rule.id)
        return
    if below != FROM_TABLE:
        for key in ("fallback_age", "unverified_ages"):
            if getattr(rule, key) is not None:
                ctx.report(
                    (*path, key), dw.CONSENT_ONLY_WITH_TABLE(id=rule.id, key=key), rule=rule.id
                )
        return
    if rule.fallback_age is None:
        ctx.report(path, dw.CONSENT_FALLBACK_NEEDED(id=rule.id), rule=rule.id)
    where = table_path(ctx.file)
    read = read_table(where)
    if read is None:
        ctx.report((*path, "below_age"), dw.CONSENT_NO_TABLE(id=rule.id, path=where), rule=rule.id)
        return
    errors = [p for p in read.problems if p.severity == "error"]
    if errors:
        count = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
        found = dw.CONSENT_BAD_TABLE(id=rule.id, path=where, count=count, first=errors[0])
        ctx.report((*path, "below_age"), found, rule=rule.id)


def compile_limit(rule: Any, rule_file: str) -> ConsentAgeLimit | None:
    """The compiled `below_age` of a checked `require_consent` rule (None: no bound)."""
    below = rule.below_age
    if below is None:
        return None
    if below != FROM_TABLE:
        return ConsentAgeLimit(fallback=int(below))
    where = table_path(rule_file)
    read = read_table(where)
    if read is None or any(p.severity == "error" for p in read.problems):
        # INVARIANT: `check` passed on this load; the table changed on the disk since.
        raise ValueError(f"the consent-age table {where} changed while loading")
    use_unverified = rule.unverified_ages == "use"
    entries: dict[str, AppliedAge] = {}
    for code, entry in sorted(read.table.items()):
        if entry.verified or use_unverified:
            entries[code] = AppliedAge(entry.age, code, False, entry.source, entry.verified)
    unverified = tuple(code for code, e in sorted(read.table.items()) if not e.verified)
    return ConsentAgeLimit(
        fallback=rule.fallback_age,
        entries=entries,
        table=str(where),
        digest=read.digest,
        data=read.data,
        refused=() if use_unverified else unverified,
        unverified_used=unverified if use_unverified else (),
    )


__all__ = ["FROM_TABLE", "AppliedAge", "ConsentAgeLimit", "check", "compile_limit"]
