"""Shared fixtures: the shipped policy packs, loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

import youthmode

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
# CONTRACT section 2: every decision has these fields, in this order.
DECISION_FIELDS = (
    "decision_id", "effect", "allowed", "band", "reasons", "obligations", "remedies",
    "remaining_seconds", "valid_until", "next_allowed_at", "facts", "policy",
)  # fmt: skip


@pytest.fixture(scope="session")
def engine() -> youthmode.Engine:
    return youthmode.Engine.from_path(CONFIGS)
