"""Typed errors. Every problem carries where it is and why, so a person can fix it in one pass.

A policy problem names its file, line, column and key path, a stable ``code`` (one docs page per
code under ``docs/errors/``), a one-sentence ``message`` with user input in backticks, and an
optional ``hint`` ("did you mean `daily_limit`?").
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Self

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or worth a warning) in a policy file."""

    code: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    key: str | None = None
    hint: str | None = None
    rule: str | None = None
    severity: Severity = "error"

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file or "", self.line or 0, self.column or 0, self.code)

    def location(self) -> str:
        parts = [self.file or "<policy>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        text = f"{self.location()}: {self.code}: {self.message}"
        if self.key:
            text += f" (at `{self.key}`)"
        if self.hint:
            text += f"; {self.hint}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "key": self.key,
            "hint": self.hint,
            "rule": self.rule,
            "severity": self.severity,
        }


class YouthmodeError(Exception):
    """Base class of every error youthmode raises on purpose."""


class PolicyError(YouthmodeError):
    """A policy set that cannot be loaded; ``problems`` lists every error, sorted by position."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(sorted(problems, key=Problem.sort_key))
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in policy files"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))

    def to_dict(self) -> dict[str, Any]:
        return {"problems": [p.to_dict() for p in self.problems]}


@dataclass(frozen=True, slots=True)
class RequestProblem:
    """One thing wrong in a decision request; ``loc`` is the path of the field."""

    loc: tuple[str | int, ...]
    msg: str
    code: str = "invalid_request"
    hint: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"loc": list(self.loc), "msg": self.msg, "code": self.code}
        if self.hint:
            out["hint"] = self.hint
        out.update(self.extra)
        return out


class RequestError(YouthmodeError, ValueError):
    """An invalid decision request. Nothing was decided and nothing was changed."""

    def __init__(self, problems: Sequence[RequestProblem]) -> None:
        self.problems: tuple[RequestProblem, ...] = tuple(problems)
        lines = []
        for p in self.problems:
            where = ".".join(str(part) for part in p.loc) or "request"
            line = f"{where}: {p.msg}"
            if p.hint:
                line += f"; {p.hint}"
            lines.append(line)
        super().__init__("; ".join(lines) or "invalid request")

    @property
    def code(self) -> str:
        return self.problems[0].code if self.problems else "invalid_request"

    @classmethod
    def single(
        cls,
        loc: tuple[str | int, ...],
        msg: str,
        code: str = "invalid_request",
        hint: str | None = None,
        **extra: Any,
    ) -> Self:
        return cls([RequestProblem(loc, msg, code, hint, extra)])


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A "did you mean `x`?" hint for a likely typo, or None when nothing is close."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean `{matches[0]}`?" if matches else None
