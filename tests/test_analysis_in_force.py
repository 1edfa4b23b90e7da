"""`youthmode diff` and `youthmode floor` and rules in force (CONTRACT section 6): a dated rule
is evaluated as in force on exactly the dates it binds (jurisdiction floors:
tests/test_analysis_floors.py)."""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import youthmode
from youthmode.authoring.days import day_kinds, in_force_boundaries
from youthmode.authoring.domain import Domain, load_set
from youthmode.cli import main

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
BASELINE = CONFIGS / "cn-baseline.toml"
WINDOW = (
    'windows = [{ days = ["fri", "sat", "sun", "holiday"], except_days = ["makeup_workday"], '
    'between = ["20:00", "21:00"] }]'
)
FROM_JULY = '\nin_force = { from = "2026-07-01" }'


def variant(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """A copy of cn-baseline with one change, in its own folder."""
    text = BASELINE.read_text(encoding="utf-8")
    assert text.count(old) == 1
    text = text.replace(old, new).replace('version = "2024.11"', 'version = "2024.12"')
    folder = tmp_path / name
    folder.mkdir()
    path = folder / "cn-baseline.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = main([*argv, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_a_rule_in_force_from_july_changes_only_the_days_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The game window binds from 2026-07-01 only: before, minors may play at any hour."""
    new = variant(tmp_path, "dated", WINDOW, WINDOW + FROM_JULY)
    code, report = run_json(capsys, "diff", str(BASELINE), str(new), "--year", "2026")
    assert code == 1
    regions = report["comparisons"][0]["regions"]
    assert regions
    for region in regions:
        assert region["confirmed"] is True
        assert (region["old"]["effect"], region["new"]["effect"]) == ("deny", "allow")
        text = json.dumps(region["when"])
        assert "until 2026-07-01" in text and "from 2026-07-01" not in text
        assert all(d < "2026-07-01" for w in region["when"] for d in w["dates"])
        assert region["counterexample"]["at"] < "2026-07-01"
    main(["diff", str(BASELINE), str(new), "--year", "2026"])
    out = capsys.readouterr().out
    assert "(until 2026-07-01)" in out


def test_a_rule_in_force_outside_the_years_is_never_in_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    later = variant(tmp_path, "later", WINDOW, WINDOW + '\nin_force = { from = "2030-01-01" }')
    code, report = run_json(capsys, "diff", str(BASELINE), str(later), "--year", "2026")
    assert code == 1  # the window never binds in 2026: everything it denied is allowed
    regions = report["comparisons"][0]["regions"]
    assert regions and all(r["new"]["effect"] == "allow" for r in regions)
    assert all(r["confirmed"] is True for r in regions)
    assert all(r["when"][0]["days"] == ["every day"] for r in regions if len(r["when"]) == 1)
    # Ended before 2026 and starting after it: neither binds in 2026, so they decide alike.
    ended = variant(tmp_path, "ended", WINDOW, WINDOW + '\nin_force = { until = "2025-01-01" }')
    code, report = run_json(capsys, "diff", str(ended), str(later), "--year", "2026")
    assert code == 0 and report["changed"] is False


def test_kinds_of_day_never_straddle_an_in_force_boundary(tmp_path: Path) -> None:
    new = variant(tmp_path, "dated", WINDOW, WINDOW + FROM_JULY)
    policy = load_set([new]).policies["cn-baseline"]
    assert in_force_boundaries([policy]) == [date(2026, 7, 1)]
    kinds = day_kinds([policy], [2026])
    assert {k.period for k in kinds} == {(None, date(2026, 7, 1)), (date(2026, 7, 1), None)}
    before = [k for k in kinds if k.period[1] is not None]
    assert all(k.date < date(2026, 7, 1) for k in before)
    assert all(k.date >= date(2026, 7, 1) for k in kinds if k.period[0] is not None)
    assert sum(k.count for k in kinds) == 365
    undated = load_set([BASELINE]).policies["cn-baseline"]
    assert {k.period for k in day_kinds([undated], [2026])} == {(None, None)}


def test_fast_evaluation_agrees_with_the_engine_on_dated_rules(tmp_path: Path) -> None:
    """Dated rules (a window from July, a budget until October): a sample of the domain's points,
    decided by the engine, on both sides of each date."""
    text = BASELINE.read_text(encoding="utf-8")
    budget = 'limit = "60m"'
    assert budget in text
    new = variant(tmp_path, "dated", WINDOW, WINDOW + FROM_JULY)
    dated = new.read_text(encoding="utf-8").replace(
        budget, budget + '\nin_force = { until = "2026-10-01" }', 1
    )
    new.write_text(dated, encoding="utf-8")
    old = load_set([BASELINE]).policies["cn-baseline"]
    loaded = load_set([new])
    policy = loaded.policies["cn-baseline"]
    assert sum(r.dated for r in policy.rules) == 2
    domain = Domain([old, policy], years=[2026], obligations=True)
    hits = list(domain.run(lambda sigs: True))
    old_engine = youthmode.Engine([old])
    new_engine = youthmode.Engine(loaded.policies.values())
    rng = random.Random(11)
    months: set[int] = set()
    for hit in rng.sample(hits, 1500):
        for engine, sig in zip((old_engine, new_engine), hit.signatures, strict=True):
            decision = engine.decide(hit.request(domain.zone, "cn-baseline"))
            assert (decision.allowed, tuple(decision.reason_codes)) == sig[:2], hit.labels()
        months.add(hit.time_class.at.month)
    assert min(months) < 7 and max(months) >= 10


def test_a_rule_not_in_force_by_status_is_never_compared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    enjoined = variant(tmp_path, "enjoined", WINDOW, WINDOW + '\nstatus = "enjoined"')
    policy = load_set([enjoined]).policies["cn-baseline"]
    assert in_force_boundaries([policy]) == []
    code, report = run_json(capsys, "diff", str(BASELINE), str(enjoined), "--year", "2026")
    assert code == 1
    regions = report["comparisons"][0]["regions"]
    assert regions and all(r["new"]["effect"] == "allow" and r["confirmed"] for r in regions)


def test_a_pack_in_force_from_a_date_in_its_own_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """us-tx-sb2420 binds from 2026-05-28 (Chicago): the same pack without the date differs
    only before it, and every region's example is confirmed by the engine."""
    text = (CONFIGS / "us-tx-sb2420.toml").read_text(encoding="utf-8")
    line = 'in_force = { from = "2026-05-28" }\n'
    assert text.count(line) == 1
    folder = tmp_path / "undated"
    folder.mkdir()
    (folder / "us-tx-sb2420.toml").write_text(text.replace(line, ""), encoding="utf-8")
    old = CONFIGS / "us-tx-sb2420.toml"
    code, report = run_json(capsys, "diff", str(old), str(folder), "--year", "2026")
    assert code == 1
    regions = report["comparisons"][0]["regions"]
    assert regions
    for region in regions:
        assert region["confirmed"] is True
        assert region["old"]["effect"] == "allow" and region["new"]["effect"] == "deny"
        assert all(d < "2026-05-28" for w in region["when"] for d in w["dates"])
        assert "until 2026-05-28" in json.dumps(region["when"])
    code, _ = run_json(capsys, "diff", str(old), str(folder), "--year", "2027")
    assert code == 0
