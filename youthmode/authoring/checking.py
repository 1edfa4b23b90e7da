"""Checking policy files, behind `youthmode check`.

`check` validates policy files and reports every problem as `file:line:col: code: message`
(with its hint), followed by a link to the page that explains the code, and warns about
calendars with no official schedule for this year or the next.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from youthmode.errors import Problem
from youthmode.policies import (
    CompiledPolicy,
    check_policies_noting,
    consent_ages,
    diagnostics,
    in_force,
)
from youthmode.shipped import error_page

ERRORS_DOCS = "docs/errors"


# -- check --------------------------------------------------------------------------------------
def doc_link(code: str) -> str:
    """The help page of a problem code: relative to the repository root in a checkout, the
    installed copy's path in an installed package (`youthmode.shipped`)."""
    return error_page(code)


def calendar_problems(policies: Sequence[CompiledPolicy], today: datetime) -> list[Problem]:
    """Warnings for policies whose calendar has no official schedule this year or next."""
    out = []
    for policy in policies:
        if policy.calendar.country is None:
            continue
        for row in policy.calendar.coverage([today.year, today.year + 1]):
            if not row.official:
                found = diagnostics.CALENDAR_UNOFFICIAL_YEAR(
                    policy=policy.id, country=policy.calendar.country, year=row.year
                )
                out.append(found.at(policy.files[-1]))
    return out


def consent_age_problems(paths: Sequence[str]) -> list[Problem]:
    """The problems of the consent-age table (`data/consent-ages.toml`) of each folder checked:
    the table is checked with the policies it serves."""
    out = []
    for folder in dict.fromkeys(Path(p) for p in paths if Path(p).is_dir()):
        table = consent_ages.table_beside(folder)
        if table is not None:
            out += consent_ages.check(table)[1]
    return out


def check(paths: Sequence[str], today: datetime) -> tuple[list[CompiledPolicy], list[Problem]]:
    """The policies of ``paths`` that load, and every problem found, calendar warnings for
    ``today``'s year and the next included, in file and line order."""
    policies, problems, _ = check_noting(paths, today)
    return policies, problems


def check_noting(
    paths: Sequence[str], today: datetime
) -> tuple[list[CompiledPolicy], list[Problem], list[str]]:
    """As `check`, plus what a problem kept from being checked (`check_policies_noting`)."""
    policies, problems, notes = check_policies_noting(list(paths))
    problems += consent_age_problems(paths)
    problems += calendar_problems(policies, today)
    problems += in_force.meta_warnings(policies, today)
    problems.sort(key=Problem.sort_key)
    return policies, problems, notes


def consent_age_uses(policies: Sequence[CompiledPolicy]) -> dict[str, str]:
    """Per `require_consent` rule with `below_age` (by `policy/rule`, each rule once), where its
    ages come from: the table, how many jurisdictions, and which unverified entries it used or
    refused (`unverified_ages`): the editor's choice, said where it is checked."""
    out: dict[str, str] = {}
    for policy in policies:
        for rule in policy.rules:
            below = getattr(rule, "below", None)
            if below is not None and rule.ref not in out:
                out[rule.ref] = below.summary()
    return out


def error_count(problems: Sequence[Problem]) -> int:
    """How many of ``problems`` are errors (the rest are warnings)."""
    return sum(1 for p in problems if p.severity == "error")


def check_report(
    policies: Sequence[CompiledPolicy], problems: Sequence[Problem], notes: Sequence[str] = ()
) -> dict[str, Any]:
    """The JSON form of a check: problems (each with its help page), what they kept from
    being checked, and the policies loaded."""
    errors = error_count(problems)
    return {
        "ok": not errors,
        "errors": errors,
        "warnings": len(problems) - errors,
        "problems": [{**p.to_dict(), "doc": doc_link(p.code)} for p in problems],
        "unchecked": list(notes),
        "policies": [p.summary() for p in policies],
        "consent_ages": consent_age_uses(policies),
    }


def problem_lines(problem: Problem) -> list[str]:
    """`file:line:col: code: message (at key); hint`, then where to read more."""
    link = f"see {doc_link(problem.code)}"
    if problem.severity == "warning":
        link = f"warning (does not fail the check); {link}"
    return [str(problem), f"  {link}"]


def check_lines(
    policies: Sequence[CompiledPolicy],
    problems: Sequence[Problem],
    paths: Sequence[str],
    notes: Sequence[str] = (),
) -> list[str]:
    """The text form of a check: every problem, what they kept from being checked, every
    policy loaded, one summary line."""
    lines = [line for p in problems for line in problem_lines(p)]
    lines += [f"not checked: {note}" for note in notes]
    for policy in policies:
        years = [row.year for row in policy.calendar.coverage(range(2020, 2031)) if row.official]
        span = f"{years[0]}-{years[-1]}" if years else "none"
        rules = len(policy.rules)
        lines.append(
            f"ok: {policy.id} {policy.version} ({rules} rule{'s' if rules != 1 else ''}, "
            f"official calendar years {span}) {policy.digest}"
        )
    for ref, summary in consent_age_uses(policies).items():
        lines.append(f"consent age: {ref}: {summary}")
    lines.append(_summary(problems, paths))
    return lines


def _summary(problems: Sequence[Problem], paths: Sequence[str]) -> str:
    errors = error_count(problems)
    warnings = len(problems) - errors
    where = ", ".join(paths)
    counts = f"{plural(errors, 'error')}, {plural(warnings, 'warning')}"
    if errors:
        return f"checked {where}: {counts}; fix the errors above"
    return f"checked {where}: {counts}"


def plural(count: int, word: str) -> str:
    """`1 error`, `2 errors`."""
    return f"{count} {word}{'' if count == 1 else 's'}"
