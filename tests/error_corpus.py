"""The corpus of policy error cases: `tests/policy_errors/*.toml` and each `docs/errors` page.

A case is a few files and what checking them must give.

- `tests/policy_errors/<name>.toml`: `check` (the paths given to `check_policies`, relative to
  the case's folder), `[[files]]` (`name` and `text`, with `encoding` for bytes that are not
  UTF-8, or `copy` of a file of the repository, e.g. `configs/cn-baseline.toml`), and
  `[[problems]]`: every problem expected, in order, each with `code`, `message`, `file`,
  `line`, `column`, `key`, `hint`, `rule` and `severity` (a key left out is `None`, or
  `"error"` for `severity`). `tests/test_policy_errors.py` runs these.
- `docs/errors/<code>.md`: the page's example is a case of the same corpus, written once, where
  readers see it: its files are the page's `<!-- file: name -->` blocks and what it must give is
  the `youthmode check` output the page shows. `tests/test_cli_errors_docs.py` runs these.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from youthmode.errors import Problem

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "policy_errors"
PAGES = ROOT / "docs" / "errors"


@dataclass(frozen=True)
class CaseFile:
    """One file of a case, as the bytes to write."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Case:
    name: str
    files: tuple[CaseFile, ...]

    def write(self, folder: Path) -> None:
        for item in self.files:
            path = folder / item.name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(item.data)


@dataclass(frozen=True)
class ProblemCase(Case):
    """A corpus file: the paths to check and every problem expected."""

    check: tuple[str, ...]
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class PageCase(Case):
    """A docs page's example: the command shown and the output it prints."""

    command: str
    output: str


def _file(entry: dict[str, Any]) -> CaseFile:
    if "copy" in entry:
        return CaseFile(entry["name"], (ROOT / entry["copy"]).read_bytes())
    return CaseFile(entry["name"], entry["text"].encode(entry.get("encoding", "utf-8")))


def problem_case(path: Path) -> ProblemCase:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return ProblemCase(
        name=path.stem,
        files=tuple(_file(f) for f in data.get("files", [])),
        check=tuple(data["check"]),
        problems=tuple(Problem(**p) for p in data["problems"]),
    )


def problem_cases() -> list[ProblemCase]:
    return [problem_case(p) for p in sorted(CASES.glob("*.toml"))]


FILE = re.compile(r"<!-- file: (\S+)(?: encoding: (\S+))? -->\n```toml\n(.*?)```\n", re.S)
CONSOLE = re.compile(r"```console\n\$ (.*?)\n(.*?)```\n", re.S)


def page_case(code: str) -> PageCase:
    """The example of `docs/errors/<code>.md`: its files, command and expected output."""
    text = (PAGES / f"{code}.md").read_text(encoding="utf-8")
    section = text.split("## Example", 1)[1].split("## Fix", 1)[0]
    files = tuple(CaseFile(m[1], m[3].encode(m[2] or "utf-8")) for m in FILE.finditer(section))
    console = CONSOLE.search(section)
    assert console, f"{code}.md shows no `$ youthmode check ...` output"
    return PageCase(name=code, files=files, command=console[1], output=console[2])
