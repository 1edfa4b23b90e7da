"""The flags several commands share (`youthmode/cli/flags.py`): one spelling each, the former
spellings still accepted, and no policy id named in the code as a default."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from youthmode.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
BASELINE = CONFIGS / "cn-baseline.toml"
REQUEST = ["--age", "12", "--action", "app.use", "--at", "2026-11-25T10:00+08:00"]

build_parser()  # import every authoring module before any test freezes the clock


def decide(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(["decide", *argv]) == 0
    answer: dict[str, Any] = json.loads(capsys.readouterr().out)
    answer.pop("decision_id")
    return answer


def test_today_takes_seconds_a_duration_or_the_former_spelling(
    capsys: pytest.CaptureFixture[str],
) -> None:
    seconds = decide(capsys, *REQUEST, "--today", "2400")
    assert decide(capsys, *REQUEST, "--today", "40m") == seconds
    assert decide(capsys, *REQUEST, "--today-seconds", "2400") == seconds
    assert seconds["facts"]["today_seconds"] == 2400


def test_policies_is_repeatable_everywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = str(_pack(tmp_path))
    one = decide(capsys, *REQUEST, "--policies", str(CONFIGS))
    both = decide(capsys, *REQUEST, "--policies", str(CONFIGS), "--policies", pack)
    assert both["policy"]["id"] == "cn-baseline"
    assert both == one
    named = decide(
        capsys, *REQUEST, "--policies", str(CONFIGS), "--policies", pack, "--policy", "acme"
    )
    assert named["policy"]["id"] == "acme"
    week = ["schedule", "--age", "12", "--action", "game.play", "--week", "2026-W07"]
    assert main([*week, "--policy", "acme", "--policies", str(CONFIGS), pack]) == 0
    several = capsys.readouterr().out
    assert main([*week, "--policy", "acme", "--policies", str(CONFIGS), "--policies", pack]) == 0
    assert capsys.readouterr().out == several
    assert several.startswith("acme 2026.1")


def test_schedule_accepts_unverified(capsys: pytest.CaptureFixture[str]) -> None:
    week = ["schedule", "--age", "12", "--action", "game.play", "--week", "2026-W07"]
    assert main(week) == 0
    default = capsys.readouterr().out
    assert main([*week, "--unverified"]) == 0
    assert capsys.readouterr().out == default
    assert "not verified" in default


def _pack(tmp_path: Path) -> Path:
    path = tmp_path / "acme.toml"
    path.write_text(
        '[policy]\nid = "acme"\nversion = "2026.1"\nextends = "cn-baseline"\n', encoding="utf-8"
    )
    return path


@pytest.mark.parametrize("spelling", ["--policies", "--with"])
def test_diff_and_floor_load_more_policies_with_either_spelling(
    spelling: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = _pack(tmp_path)
    argv = ["diff", str(BASELINE), str(pack), "--policy", "cn-baseline", "--year", "2026"]
    assert main([*argv, spelling, str(CONFIGS)]) == 0
    assert "no change in the effect" in capsys.readouterr().out
    floor = ["floor", str(pack), "--baseline-path", str(tmp_path), "--year", "2026"]
    assert main([*floor, spelling, str(CONFIGS)]) == 0
    assert "pack acme never allows what cn-baseline denies" in capsys.readouterr().out


def test_floor_baseline_is_the_default_policy_beside_the_pack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = _pack(tmp_path)
    assert main(["floor", str(pack), "--year", "2026"]) == 0  # configs: cn-baseline, the default
    implicit = capsys.readouterr().out
    assert main(["floor", str(pack), "--baseline", "cn-baseline", "--year", "2026"]) == 0
    named = capsys.readouterr().out
    assert (
        implicit.split("(")[0]
        == named.split("(")[0]
        == ("pack acme never allows what cn-baseline denies ")
    )
    other = tmp_path / "other"
    other.mkdir()
    source = BASELINE.read_text(encoding="utf-8").replace('id = "cn-baseline"', 'id = "vn"', 1)
    (other / "vn.toml").write_text(source, encoding="utf-8")
    vn_pack = tmp_path / "vn-pack.toml"
    vn_pack.write_text(
        '[policy]\nid = "vn-pack"\nversion = "1"\nextends = "vn"\n', encoding="utf-8"
    )
    assert main(["floor", str(vn_pack), "--baseline-path", str(other), "--year", "2026"]) == 0
    assert "pack vn-pack never allows what vn denies" in capsys.readouterr().out


def test_floor_without_a_default_baseline_asks_for_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    two = tmp_path / "two"
    two.mkdir()
    source = BASELINE.read_text(encoding="utf-8").replace("\ndefault = true", "\n")
    (two / "a.toml").write_text(source, encoding="utf-8")
    (two / "b.toml").write_text(source.replace('id = "cn-baseline"', 'id = "cn-copy"', 1))
    pack = _pack(tmp_path)
    assert main(["floor", str(pack), "--baseline-path", str(two), "--year", "2026"]) == 2
    err = capsys.readouterr().err
    assert "no default baseline among the policies loaded" in err
    assert "name one with --baseline" in err


WORLD = ["--action", "livestream.host", "--verified", "--at", "2026-11-24T10:00+08:00"]


@pytest.mark.parametrize(
    ("spec", "signal"),
    [
        ("13-15:guardian_declared", {"lower": 13, "upper": 15, "method": "guardian_declared"}),
        ("16+:gov_id:apple", {"lower": 16, "upper": None, "method": "gov_id"}),
        ("-12:self_declared", {"lower": 0, "upper": 12, "method": "self_declared"}),
        ("14:payment", {"lower": 14, "upper": 14, "method": "payment"}),
    ],
)
def test_age_signals_from_flags(
    capsys: pytest.CaptureFixture[str], spec: str, signal: dict[str, Any]
) -> None:
    answer = decide(capsys, *WORLD, f"--age-signal={spec}")  # `=`: -12 is not an option
    source = spec.split(":")[2] if spec.count(":") == 2 else "cli"
    assert answer["facts"]["age_range"] == signal | {"source": source}


def test_a_declined_signal_and_the_rest_of_section_6(capsys: pytest.CaptureFixture[str]) -> None:
    answer = decide(
        capsys, *WORLD, "--age-signal", "?:self_declared", "--jurisdiction", "cn-sh",
        "--app-consent", "revoked", "--linked", "--app-today", "10m", "--week-used", "2h",
    )  # fmt: skip
    assert answer["band"] == "unknown"
    assert answer["facts"]["jurisdiction"] == "CN-SH"


@pytest.mark.parametrize(
    ("spec", "words"),
    [("13-x:gov_id", "is not a range"), ("13-15", "needs a method"), ("13-15:vibes", "method")],
)
def test_bad_age_signal_flags_say_why(
    capsys: pytest.CaptureFixture[str], spec: str, words: str
) -> None:
    assert main(["decide", *WORLD, "--age-signal", spec]) == 2
    assert words in capsys.readouterr().err


def test_schedule_takes_age_signals(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["schedule", "--action", "game.play", "--verified", "--week", "2026-W48"]
    assert main([*argv, "--age-signal", "13-17:gov_id", "--format", "json"]) == 0
    ranged = json.loads(capsys.readouterr().out)
    assert main([*argv, "--age", "13", "--format", "json"]) == 0
    thirteen = json.loads(capsys.readouterr().out)
    assert ranged["days"] == thirteen["days"]  # 13 to 17 play when 13 may: the same windows
