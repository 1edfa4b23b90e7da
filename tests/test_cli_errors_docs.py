"""docs/errors/<code>.md: one page per policy error code, and each page's example is exact.

The codes are found by reading the loader's source (every code given to `Problem(...)`,
`check.add(...)`, `src.problem(...)` or assigned to `code`), so a new code without a page fails
here. Each page's example files are written to a folder and `youthmode check` is run on them: its
output must be the output the page shows (YOUTHMODE_UPDATE_GOLDEN=1 rewrites it after an intended
change of wording).
"""

from __future__ import annotations

import ast
import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from youthmode.calendar import Calendar
from youthmode.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
ERRORS = ROOT / "docs" / "errors"
SOURCES = [
    ROOT / "youthmode/policies/loader.py",
    ROOT / "youthmode/policies/validate.py",
    ROOT / "youthmode/policies/kinds.py",
    ROOT / "youthmode/policies/windows.py",
    ROOT / "youthmode/policies/__init__.py",
    ROOT / "youthmode/authoring/checking.py",
]
FROZEN = "2026-11-27T12:00:00Z"  # the day the pages' outputs were taken

build_parser()  # import every authoring module before any test freezes the clock


# -- codes in the source ------------------------------------------------------------------------
def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _string(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _assigned_codes(node: ast.Assign) -> list[str]:
    """`code = "x"` and `code, message = "x", ...`."""
    out = []
    for target in node.targets:
        names = target.elts if isinstance(target, ast.Tuple) else [target]
        values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
        for name, value in zip(names, values, strict=False):
            code = _string(value)
            if isinstance(name, ast.Name) and name.id == "code" and code:
                out.append(code)
    return out


def _codes_passed_through(node: ast.If) -> list[str]:
    """`if kind in {"invalid_duration", ...}: code, hint = kind, ...`: the codes in the test."""
    assigns_kind = any(
        isinstance(stmt, ast.Assign)
        and isinstance(stmt.value, ast.Tuple)
        and isinstance(stmt.value.elts[0], ast.Name)
        and stmt.value.elts[0].id == "kind"
        and any(
            isinstance(t, ast.Tuple) and isinstance(t.elts[0], ast.Name) and t.elts[0].id == "code"
            for t in stmt.targets
        )
        for stmt in node.body
    )
    if not assigns_kind:
        return []
    return [c for n in ast.walk(node.test) if (c := _string(n))]


def codes_in(path: Path) -> set[str]:
    """Every problem code a module can produce."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            name, args = _call_name(node), node.args
            position = {"Problem": 0, "problem": 1, "report": 1, "add": 2}.get(name)
            if position is not None and len(args) > position:
                code = _string(args[position])
                if code:
                    found.add(code)
        elif isinstance(node, ast.Assign):
            found.update(_assigned_codes(node))
        elif isinstance(node, ast.If):
            found.update(_codes_passed_through(node))
    return found


ALL_CODES = sorted(set().union(*(codes_in(p) for p in SOURCES)))


def test_the_scan_finds_the_codes() -> None:
    assert len(ALL_CODES) >= 40
    for code in ("no_policies", "toml_syntax", "unknown_key", "invalid_duration", "band_gap"):
        assert code in ALL_CODES
    assert "calendar_unofficial_year" in ALL_CODES
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)+", c) for c in ALL_CODES), ALL_CODES


@pytest.mark.parametrize("code", ALL_CODES)
def test_every_code_has_a_page(code: str) -> None:
    page = ERRORS / f"{code}.md"
    assert page.is_file(), f"write docs/errors/{code}.md (what it means, an example, the fix)"
    text = page.read_text(encoding="utf-8")
    assert text.startswith(f"# `{code}`\n")
    for section in ("## What it means", "## Example", "## Fix"):
        assert section in text, f"{page.name} has no `{section}` section"


def test_every_page_is_a_code_and_listed_in_the_index() -> None:
    pages = {p.stem for p in ERRORS.glob("*.md")} - {"README"}
    assert pages == set(ALL_CODES)
    index = (ERRORS / "README.md").read_text(encoding="utf-8")
    for code in ALL_CODES:
        assert f"[`{code}`]({code}.md)" in index


# -- the pages' examples ------------------------------------------------------------------------
FILE = re.compile(r"<!-- file: (\S+)(?: encoding: (\S+))? -->\n```toml\n(.*?)```\n", re.S)
CONSOLE = re.compile(r"```console\n\$ (.*?)\n(.*?)```\n", re.S)


def example(code: str) -> tuple[list[tuple[str, str, str]], str, str]:
    """The page's example files (name, encoding, text), command and expected output."""
    text = (ERRORS / f"{code}.md").read_text(encoding="utf-8")
    section = text.split("## Example", 1)[1].split("## Fix", 1)[0]
    files = [(m[1], m[2] or "utf-8", m[3]) for m in FILE.finditer(section)]
    console = CONSOLE.search(section)
    assert console, f"{code}.md shows no `$ youthmode check ...` output"
    return files, console[1], console[2]


@pytest.mark.parametrize("code", ALL_CODES)
def test_the_example_prints_what_the_page_shows(
    code: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    freezer: Any,
) -> None:
    if code == "calendar_unofficial_year" and Calendar("CN").is_official(2027):
        pytest.skip("the holidays data now has the 2027 CN schedule: take a new example")
    files, command, expected = example(code)
    for name, encoding, content in files:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode(encoding))
    monkeypatch.chdir(tmp_path)
    freezer.move_to(FROZEN)
    argv = shlex.split(command)
    assert argv[:2] == ["youthmode", "check"]
    status = main(argv[1:])
    out = capsys.readouterr().out
    if os.environ.get("YOUTHMODE_UPDATE_GOLDEN") and out != expected:
        page = ERRORS / f"{code}.md"
        old = f"$ {command}\n{expected}```"
        page.write_text(page.read_text(encoding="utf-8").replace(old, f"$ {command}\n{out}```"))
    assert out == expected, f"docs/errors/{code}.md shows other output (YOUTHMODE_UPDATE_GOLDEN=1)"
    assert f": {code}: " in out
    assert status == (0 if code == "calendar_unofficial_year" else 1)
