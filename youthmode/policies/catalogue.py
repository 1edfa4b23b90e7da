"""The machinery of the problem catalogue: `Code`, `Message` and the `Finding` a message gives.

`diagnostics.py` names every code and wording with these; codes are registered here (`register`)
before any wording of them is made, so a `Message` of an unknown code fails at import.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from pydantic_core import PydanticCustomError

from youthmode.errors import Problem, Severity


class _Computed(Enum):
    COMPUTED = "computed"


COMPUTED: Final = _Computed.COMPUTED  # the hint is worked out where the problem is found
Hint = str | None | _Computed


@dataclass(frozen=True, slots=True)
class Code:
    """One problem code: the name `check` prints, its docs page and its meaning."""

    name: str
    meaning: str  # the docs index's one line (docs/errors/README.md)
    severity: Severity = "error"

    @property
    def doc(self) -> str:
        """The page that explains the code, relative to the repository root."""
        return f"docs/errors/{self.name}.md"


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem's what, before the stage that found it says where."""

    code: str
    message: str
    hint: str | None
    severity: Severity

    def at(
        self,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        key: str | None = None,
        rule: str | None = None,
    ) -> Problem:
        return Problem(
            self.code, self.message, file, line, column, key, self.hint, rule, self.severity
        )


@dataclass(frozen=True, slots=True)
class Message:
    """One wording of a code; call it with the template's values (and a computed hint)."""

    code: str
    template: str
    hint: Hint = None

    def __post_init__(self) -> None:
        if self.code not in REGISTERED:
            raise ValueError(f"`{self.code}` is not in CODES: add it there, and its docs page")

    def __call__(self, *, hint: str | None = None, **values: object) -> Finding:
        if self.hint is COMPUTED:
            text = hint
        else:
            # INVARIANT: a fixed hint is never overridden, so the catalogue shows every wording.
            assert hint is None, f"{self.code}: this message's hint is fixed"
            text = None if self.hint is None else self.hint.format(**values)
        severity = REGISTERED[self.code].severity
        return Finding(self.code, self.template.format(**values), text, severity)

    def pydantic_error(self, **values: object) -> PydanticCustomError:
        """This wording raised from a schema validator: pydantic fills in the template, and
        the loader reads the error back as this code, message and hint."""
        hint = self.hint.format(**values) if isinstance(self.hint, str) else None
        return PydanticCustomError(self.code, self.template, {**values, "hint": hint})


REGISTERED: dict[str, Code] = {}


def register(codes: tuple[Code, ...]) -> dict[str, Code]:
    """Make ``codes`` known to `Message`; returns them by name."""
    for code in codes:
        REGISTERED[code.name] = code
    return {c.name: c for c in codes}
