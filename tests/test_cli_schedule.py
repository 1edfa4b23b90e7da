"""`youthmode schedule`: the week's allowed times as a grid, JSON and SVG."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from youthmode.authoring.schedule import parse_week
from youthmode.cli import main

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
GOLDEN = Path(__file__).resolve().parent / "golden"
SVG = "{http://www.w3.org/2000/svg}"
BASE = ["schedule", "--policies", str(CONFIGS), "--policy", "cn-baseline"]


def schedule_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main([*BASE, *argv, "--format", "json"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def test_text_grid_for_game_play_in_spring_festival_week(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--age", "12", "--action", "game.play", "--week", "2026-W07", "--verified"]
    assert main([*BASE, *argv]) == 0
    out = capsys.readouterr().out
    assert out == (GOLDEN / "schedule_game_play_2026-W07.txt").read_text(encoding="utf-8")
    rows = {line[:9]: line for line in out.splitlines() if line[:3] in ("Mon", "Fri", "Sat", "Sun")}
    assert rows["Fri 02-13"].endswith("██······  20:00–21:00")
    assert " M make-up workday " in rows["Sat 02-14"] and rows["Sat 02-14"].endswith("—")
    assert " H holiday " in rows["Sun 02-15"] and rows["Sun 02-15"].endswith("20:00–21:00")
    assert rows["Mon 02-09"].endswith("·  —")


def test_json_gives_exact_intervals_and_reasons(capsys: pytest.CaptureFixture[str]) -> None:
    report = schedule_json(
        capsys, "--age", "12", "--action", "game.play", "--week", "2026-W07", "--verified"
    )
    assert report["week"] == "2026-W07"
    assert report["policy"]["id"] == "cn-baseline"
    days = report["days"]
    assert [d["date"] for d in days] == [f"2026-02-{n:02d}" for n in range(9, 16)]
    assert [d["day_type"] for d in days] == [
        *["workday"] * 5,
        "makeup_workday",
        "holiday",
    ]
    game = [["20:00", "21:00"]]
    assert [d["allowed"] for d in days] == [[], [], [], [], game, [], game]
    assert days[4]["denied"] == [
        {"from": "00:00", "to": "06:00", "reasons": ["curfew", "outside_allowed_window"]},
        {"from": "06:00", "to": "20:00", "reasons": ["outside_allowed_window"]},
        {"from": "21:00", "to": "22:00", "reasons": ["outside_allowed_window"]},
        {"from": "22:00", "to": "24:00", "reasons": ["curfew", "outside_allowed_window"]},
    ]
    assert {d["band"] for d in days} == {"12-16"}


def test_usage_and_verification_change_the_schedule(capsys: pytest.CaptureFixture[str]) -> None:
    week = ["--week", "2026-W07", "--age", "12"]
    unverified = schedule_json(capsys, *week, "--action", "game.play")
    assert all(d["allowed"] == [] for d in unverified["days"])
    assert "unverified" in unverified["days"][4]["denied"][0]["reasons"]
    fresh = schedule_json(capsys, *week, "--action", "app.use", "--today-seconds", "3599")
    assert all(d["allowed"] == [["06:00", "22:00"]] for d in fresh["days"])
    used = schedule_json(capsys, *week, "--action", "app.use", "--today-seconds", "3600")
    assert all(d["allowed"] == [] for d in used["days"])
    waived = schedule_json(
        capsys, *week, "--action", "app.use", "--today-seconds", "3600", "--exempt", "daily_limit"
    )
    assert all(d["allowed"] == [["06:00", "22:00"]] for d in waived["days"])
    exempt = schedule_json(capsys, *week, "--action", "app.use", "--category", "system_core")
    assert all(d["allowed"] == [["00:00", "24:00"]] for d in exempt["days"])
    buy = schedule_json(capsys, *week, "--action", "purchase", "--amount", "50.01")
    assert all(d["allowed"] == [] for d in buy["days"])


def test_svg_picture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "week.svg"
    argv = ["--age", "12", "--action", "game.play", "--week", "2026-W07", "--verified"]
    assert main([*BASE, *argv, "--svg", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"wrote {path}" in captured.err
    root = ET.fromstring(path.read_text(encoding="utf-8"))
    assert root.tag == f"{SVG}svg"
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert texts[0] == "cn-baseline 2024.11 · game.play · age 12 (band 12-16)"
    assert any("Week 2026-W07" in t for t in texts)
    assert {"H", "M", "holiday", "make-up workday", "allowed", "denied"} <= set(texts)
    assert [t for t in texts if t.endswith("Feb")] == [
        f"{wd} {n:02d} Feb"
        for wd, n in zip(
            ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), range(9, 16), strict=True
        )
    ]
    spans = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert [r.find(f"{SVG}title").text for r in spans] == ["20:00–21:00", "20:00–21:00"]  # type: ignore[union-attr]
    assert {float(r.get("width", 0)) for r in spans} == {30.0}  # one hour, 30 px per hour
    assert main([*BASE, *argv, "--svg", str(path), "--format", "text"]) == 0
    assert "20:00–21:00" in capsys.readouterr().out


def test_policy_file_and_birthdate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (CONFIGS / "cn-baseline.toml").read_text(encoding="utf-8")
    variant = tmp_path / "cn-baseline.toml"
    old_window = 'between = ["20:00", "21:00"] }]'
    variant.write_text(text.replace(old_window, 'between = ["19:30", "21:00"] }]'), "utf-8")
    argv = ["schedule", "--policy", str(variant), "--action", "game.play", "--verified"]
    assert main([*argv, "--birthdate", "2014-02-10", "--week", "2026-W07", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["days"][4]["allowed"] == [["19:30", "21:00"]]
    # Born 2014-02-10: 12 from 2026-02-11 (the day after the birthday), 11 before.
    assert [d["band"] for d in report["days"]] == ["8-12", "8-12", "12-16", *["12-16"] * 4]


def test_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, "--action", "game.play", "--week", "2026-07"]) == 2
    assert "not an ISO week" in capsys.readouterr().err
    assert main([*BASE, "--action", "game.play", "--week", "2026-W54"]) == 2
    assert "no week 54" in capsys.readouterr().err
    assert main([*BASE, "--action", "game.fly", "--week", "2026-W07"]) == 2
    assert "unknown_action" in capsys.readouterr().err
    argv = ["schedule", "--policies", str(CONFIGS), "--policy", "nope", "--action", "app.use"]
    assert main(argv) == 2
    assert "unknown policy `nope`" in capsys.readouterr().err


def test_parse_week() -> None:
    assert parse_week("2026-W07")[0] == date(2026, 2, 9)
    assert parse_week("2026W01")[0] == date(2025, 12, 29)
    assert parse_week(None, today=date(2026, 2, 12))[0] == date(2026, 2, 9)
    with pytest.raises(ValueError):
        parse_week("W07")


def test_today_is_spelt_as_in_explain_and_the_old_flag_still_works(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ("--age", "12", "--verified", "--action", "game.play", "--week", "2026-W07")
    by_duration = schedule_json(capsys, *argv, "--today", "50m")
    by_seconds = schedule_json(capsys, *argv, "--today", "3000")
    by_old_flag = schedule_json(capsys, *argv, "--today-seconds", "3000")
    without = schedule_json(capsys, *argv)
    assert by_duration == by_seconds == by_old_flag != without
    assert main([*BASE, *argv, "--today", "4x"]) == 2
    assert "--today: `4x` is not a duration" in capsys.readouterr().err


def test_the_default_policy_is_the_engines_not_a_name_in_the_code(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["schedule", "--age", "12", "--action", "game.play", "--week", "2026-W07"]
    assert main([*argv, "--policies", str(CONFIGS)]) == 0  # cn-baseline is the default
    implicit = capsys.readouterr().out
    assert main([*BASE, *argv[1:]]) == 0
    assert implicit == capsys.readouterr().out
    two = tmp_path / "two"
    two.mkdir()
    source = (CONFIGS / "cn-baseline.toml").read_text(encoding="utf-8")
    source = source.replace("\ndefault = true", "\n")  # neither is marked the default
    (two / "a.toml").write_text(source, encoding="utf-8")
    (two / "b.toml").write_text(
        source.replace('id = "cn-baseline"', 'id = "cn-copy"', 1), encoding="utf-8"
    )
    assert main([*argv, "--policies", str(two)]) == 2
    assert "name one with --policy" in capsys.readouterr().err
