"""docs/errors/<code>.md: one page per policy problem code, and each page's example is exact.

The codes are the catalogue's (`youthmode/policies/diagnostics.py`, where every code is defined
with its wordings), so a new code without a page fails here, and so does a code written at a call
site instead of named from the catalogue. Each page's example is a case of the error corpus
(`error_corpus.py`): its files are written to a folder and `youthmode check` is run on them; the
output must be the output the page shows (YOUTHMODE_UPDATE_GOLDEN=1 rewrites it after an intended
change of wording).
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from error_corpus import page_case

from youthmode.calendar import Calendar
from youthmode.cli import build_parser, main
from youthmode.policies import diagnostics, diagnostics_meta, diagnostics_world

ROOT = Path(__file__).resolve().parent.parent
ERRORS = ROOT / "docs" / "errors"
FROZEN = "2026-11-27T12:00:00Z"  # the day the pages' outputs were taken

build_parser()  # import every authoring module before any test freezes the clock

ALL_CODES = [code.name for code in diagnostics.CODES]
# The catalogue itself: the machinery, and the codes and wordings (split by stage).
CATALOGUE_MODULES = {
    "catalogue.py",
    "diagnostics.py",
    "diagnostics_meta.py",
    "diagnostics_world.py",
}
# Where problems are made: each names a catalogue entry, none writes a code of its own.
PROBLEM_MAKERS = [
    *sorted((ROOT / "youthmode/policies").glob("*.py")),
    ROOT / "youthmode/authoring/checking.py",
]


def test_the_catalogue_has_the_codes() -> None:
    assert len(ALL_CODES) == len(set(ALL_CODES)) >= 40
    for code in ("no_policies", "toml_syntax", "unknown_key", "invalid_duration", "band_gap"):
        assert code in ALL_CODES
    assert diagnostics.BY_CODE["calendar_unofficial_year"].severity == "warning"
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)+", c) for c in ALL_CODES), ALL_CODES


@pytest.mark.parametrize("path", PROBLEM_MAKERS, ids=lambda p: p.name)
def test_no_code_is_written_outside_the_catalogue(path: Path) -> None:
    if path.name in CATALOGUE_MODULES:
        return
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"\bProblem\(", text), f"{path.name}: make problems from diagnostics"
    for code in ALL_CODES:
        assert f'"{code}"' not in text, f"{path.name} writes `{code}`: name a catalogue entry"


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
    for code in diagnostics.CODES:
        assert f"| [`{code.name}`]({code.name}.md) | {code.meaning} |" in index


def test_every_wording_is_used() -> None:
    """A catalogue entry no call site names is a wording nobody can see: remove it."""
    names = [
        n
        for module in (diagnostics, diagnostics_meta, diagnostics_world)
        for n, v in vars(module).items()
        if isinstance(v, diagnostics.Message)
    ]
    sources = "\n".join(p.read_text(encoding="utf-8") for p in PROBLEM_MAKERS)
    sources += (ROOT / "youthmode/policies/diagnostics.py").read_text(encoding="utf-8")
    unused = [n for n in names if not re.search(rf"(\bdw?|dm|diagnostics(_meta)?)\.{n}\b", sources)]
    assert unused == []


# -- the pages' examples: the corpus cases of the docs ---------------------------------------
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
    case = page_case(code)
    command, expected = case.command, case.output
    case.write(tmp_path)
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
    assert status == (0 if diagnostics.BY_CODE[code].severity == "warning" else 1)
