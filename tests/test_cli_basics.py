"""The command itself: `--version`, `python -m youthmode`, the public names of the package."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import youthmode

ROOT = Path(__file__).resolve().parent.parent


def test_the_version_comes_from_pyproject_alone() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert youthmode.__version__ == declared
    shown = subprocess.run(
        [sys.executable, "-m", "youthmode", "--version"], capture_output=True, text=True
    )
    assert shown.returncode == 0 and shown.stdout.strip() == f"youthmode {declared}"


def test_python_dash_m_runs_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "youthmode", "check", str(ROOT / "configs")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_every_error_has_one_public_base() -> None:
    assert issubclass(youthmode.PolicyError, youthmode.YouthmodeError)
    assert issubclass(youthmode.RequestError, youthmode.YouthmodeError)
    assert set(youthmode.__all__) <= set(dir(youthmode))
