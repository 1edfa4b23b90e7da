"""Where the packs and error pages are found: a checkout as before, an installed package its own.

An installed package is played here by pointing `youthmode.shipped.SHIPPED` at a folder laid out
as setup.py's build hook lays out `youthmode/_shipped/`; test_package.py does it for real with
a built wheel. `python -m youthmode` and `youthmode errors` are here too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CONFIGS, ROOT

import youthmode
from youthmode import shipped
from youthmode.cli import main


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`_shipped/` as a wheel has it (cn-baseline and the error pages), and an empty working
    directory with no configs/ folder."""
    folder = tmp_path / "_shipped"
    (folder / "configs").mkdir(parents=True)
    shutil.copy(CONFIGS / "cn-baseline.toml", folder / "configs")
    shutil.copytree(ROOT / "docs" / "errors", folder / "docs" / "errors")
    monkeypatch.setattr(shipped, "SHIPPED", folder)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return folder


def test_in_a_checkout_nothing_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert shipped.shipped_packs() is None and shipped.shipped_error_pages() is None
    monkeypatch.chdir(tmp_path)  # no configs/ here, and none shipped: `configs` as before
    assert shipped.default_policies() == "configs"
    assert shipped.error_page("band_gap") == "docs/errors/band_gap.md"
    assert shipped.error_page_text("band_gap") == (ROOT / "docs/errors/band_gap.md").read_text()


def test_an_installed_package_falls_back_to_its_packs_and_says_so(installed: Path) -> None:
    said: list[str] = []
    assert shipped.default_policies(said.append) == str(installed / "configs")
    assert said == [
        f"no configs/ folder in {Path.cwd()}: using the policy packs shipped with youthmode, "
        f"{installed / 'configs'} (give --policies PATH to use your own)"
    ]
    Path("configs").mkdir()  # a configs/ of one's own always wins
    assert shipped.default_policies(said.append) == "configs"
    assert len(said) == 1


def test_an_installed_package_links_to_its_own_pages(installed: Path) -> None:
    page = Path(shipped.error_page("unknown_key"))
    assert page == installed / "docs" / "errors" / "unknown_key.md"
    assert page.is_file()


def test_check_with_no_folder_checks_the_shipped_packs(
    installed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check"]) == 0
    out, err = capsys.readouterr()
    assert "using the policy packs shipped with youthmode" in err
    assert "ok: cn-baseline " in out
    assert f"checked {installed / 'configs'}: 0 errors" in out


def test_check_links_to_the_installed_page(
    installed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("acme.toml").write_text('[policy]\nid = "acme"\ncolour = "red"\n', encoding="utf-8")
    assert main(["check", "acme.toml"]) == 1
    out = capsys.readouterr().out
    links = [line.split("see ", 1)[1] for line in out.splitlines() if "see " in line]
    assert links and all(Path(link).is_file() for link in links), out
    assert f"see {installed}/docs/errors/unknown_key.md" in out


def test_engine_from_path_with_no_paths_loads_the_shipped_packs(installed: Path) -> None:
    engine = youthmode.Engine.from_path()
    assert list(engine.policies) == ["cn-baseline"]
    assert engine.default_policy == "cn-baseline"


def test_python_dash_m_youthmode_is_the_command(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "youthmode"]
    version = subprocess.run([*run, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout == f"youthmode {youthmode.__version__}\n"
    check = subprocess.run(
        [*run, "check", str(CONFIGS / "cn-baseline.toml")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "ok: cn-baseline " in check.stdout


def test_errors_prints_the_page(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["errors", "band_gap"]) == 0
    out = capsys.readouterr().out
    assert (
        out == "<!-- docs/errors/band_gap.md -->\n" + (ROOT / "docs/errors/band_gap.md").read_text()
    )


def test_errors_names_the_code_meant(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["errors", "band_gaps"]) == 2
    assert capsys.readouterr().err == (
        "youthmode errors: no problem code `band_gaps`; did you mean `band_gap`?\n"
    )
    assert main(["errors", "README"]) == 2  # the index is a page, not a code


def test_errors_without_a_code_lists_every_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["errors"]) == 0
    lines = capsys.readouterr().out.splitlines()
    pages = sorted(p.stem for p in (ROOT / "docs/errors").glob("*.md") if p.stem != "README")
    assert sorted(line.split()[0] for line in lines) == pages
