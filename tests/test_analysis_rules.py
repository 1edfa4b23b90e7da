"""`floor` and `diff` name the rules behind their regions (issue 14, part 3).

Two edits used to print 33 regions (about 160 lines) with no word of which rule let them
through. Now a line names each rule responsible first, and the regions follow by rule, a few of
each (`--max-per-rule`), with `rules` in the JSON forms. Run through the CLI on real packs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_cli_analysis import pack, variant

from youthmode.cli import main

# The pack: two overrides of cn-baseline, each looser (and saying so, or check refuses).
TWO_EDITS = """
[[rules]]
id = "curfew"
override = true
loosens = "one more hour in the evening"
kind = "deny_window"
reason = "curfew"
bands = ["minors"]
actions = ["*"]
between = ["23:00", "06:00"]
waivable = true
category_exemptions = true
message = { zh-CN = "每日23时至次日6时不提供服务", en = "No service from 23:00 to 06:00" }

[[rules]]
id = "daily-limit-under-16"
override = true
loosens = "two hours for the youngest"
kind = "daily_budget"
bands = ["under-3", "3-8", "8-12"]
actions = ["*"]
limit = "2h"
message = { zh-CN = "今日时长已用完", en = "Today's time is used up" }
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main([*argv, "--year", "2026"])
    return code, capsys.readouterr().out


def test_floor_names_the_rules_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = pack(tmp_path, "acme", TWO_EDITS)
    code, out = run(capsys, "floor", str(path))
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("pack acme allows what cn-baseline denies: 33 regions (838 of ")
    assert lines[1] == (
        "  2 rules loosen the floor: daily-limit-under-16 (overridden by acme; 20 regions, "
        "476 points), curfew (overridden by acme; 21 regions, 466 points)"
    )
    headings = [line for line in lines if line and line[0].isalpha() and ": " in line][1:]
    assert headings == [
        "daily-limit-under-16: 12 regions, 372 points",
        "curfew: 13 regions, 362 points",
        "curfew + daily-limit-under-16: 8 regions, 104 points",
    ]
    assert "   ... and 9 more of daily-limit-under-16 (--format json lists all)" in lines
    assert sum(1 for line in lines if line[:1].isdigit()) == 9  # 3 regions per rule
    assert len(lines) < 90  # was 163


def test_floor_json_lists_the_rules_of_every_region(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = pack(tmp_path, "acme", TWO_EDITS)
    code, out = run(capsys, "floor", str(path), "--format", "json")
    assert code == 1
    (result,) = json.loads(out)["packs"]
    regions: list[dict[str, Any]] = result["counterexamples"]
    groups = result["rules"]
    assert [(g["rules"], len(g["regions"]), g["points"]) for g in groups] == [
        (["cn-baseline/daily-limit-under-16"], 12, 372),
        (["cn-baseline/curfew"], 13, 362),
        (["cn-baseline/curfew", "cn-baseline/daily-limit-under-16"], 8, 104),
    ]
    assert sorted(i for g in groups for i in g["regions"]) == list(range(len(regions)))
    for group in groups:
        for index in group["regions"]:
            region = regions[index]
            assert sorted(region["rules"]) == sorted(group["rules"])
            codes = {
                "cn-baseline/curfew": "curfew",
                "cn-baseline/daily-limit-under-16": "daily_limit",
            }
            assert set(region["baseline"]["reasons"]) == {codes[r] for r in region["rules"]}


def test_fewer_regions_per_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = pack(tmp_path, "acme", TWO_EDITS)
    code, out = run(capsys, "floor", str(path), "--max-per-rule", "1")
    assert code == 1
    assert sum(1 for line in out.splitlines() if line[:1].isdigit()) == 3


def test_diff_names_the_changed_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = variant(tmp_path, "old", 'limit = "60m"', 'limit = "60m"', version="2024.11")
    new = variant(tmp_path, "new", 'between = ["22:00", "06:00"]', 'between = ["23:00", "06:00"]')
    code, out = run(capsys, "diff", str(old.parent), str(new.parent))
    assert code == 1
    assert (
        "  1 rule changes decisions: curfew (changed in cn-baseline; 9 regions, 330 points)"
        in out.splitlines()
    )
    code, out = run(capsys, "diff", str(old.parent), str(new.parent), "--format", "json")
    (comparison,) = json.loads(out)["comparisons"]
    assert [g["rules"] for g in comparison["rules"]] == [["cn-baseline/curfew"]]
    assert all(r["rules"] == ["cn-baseline/curfew"] for r in comparison["regions"])


def test_a_pack_that_keeps_the_floor_names_no_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = pack(
        tmp_path,
        "strict",
        TWO_EDITS.split('[[rules]]\nid = "daily')[0]
        .replace("23:00", "21:00")
        .replace('loosens = "one more hour in the evening"\n', ""),
    )
    code, out = run(capsys, "floor", str(path))
    assert code == 0
    assert out.startswith("pack strict never allows what cn-baseline denies")
    assert "loosen" not in out
