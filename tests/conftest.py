"""Shared fixtures: the shipped policy packs, loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

import youthmode

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"


@pytest.fixture(scope="session")
def engine() -> youthmode.Engine:
    return youthmode.Engine.from_path(CONFIGS)
