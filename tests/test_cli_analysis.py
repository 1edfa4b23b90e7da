"""`youthmode diff` and `youthmode floor`, run through the CLI, and the domain they share."""

from __future__ import annotations

import io
import json
import random
import re
import time
from pathlib import Path
from typing import Any

import pytest

import youthmode
from youthmode.authoring.domain import Domain, describe_when, load_set
from youthmode.authoring.progress import Progress
from youthmode.cli import main

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
BASELINE = CONFIGS / "cn-baseline.toml"
GOLDEN = Path(__file__).resolve().parent / "golden"
GAME_WINDOW = 'between = ["20:00", "21:00"] }]'
LIMIT_16_18 = 'limit = "2h"'


def variant(tmp_path: Path, name: str, old: str, new: str, version: str = "2024.12") -> Path:
    """A copy of cn-baseline with one change (and a new version), in its own folder."""
    text = BASELINE.read_text(encoding="utf-8")
    assert text.count(old) == 1
    text = text.replace(old, new).replace('version = "2024.11"', f'version = "{version}"')
    folder = tmp_path / name
    folder.mkdir()
    path = folder / "cn-baseline.toml"
    path.write_text(text, encoding="utf-8")
    return path


def pack(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.toml"
    head = f'[policy]\nid = "{name}"\nversion = "2026.1"\nextends = "cn-baseline"\n\n'
    path.write_text(head + body, encoding="utf-8")
    return path


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = main([*argv, "--format", "json", "--year", "2026"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def decide(paths: list[Path], request: dict[str, Any]) -> youthmode.Decision:
    return youthmode.Engine.from_path(*paths).decide(request)


def all_regions(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for c in report["comparisons"] for r in c["regions"]]


# -- diff ------------------------------------------------------------------------------------
def test_diff_of_a_policy_with_itself_is_empty(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["diff", str(BASELINE), str(BASELINE), "--year", "2026"])
    out = capsys.readouterr().out
    assert code == 0
    assert "no change in the effect anywhere in the domain" in out
    assert "also" not in out


def test_diff_finds_exactly_the_widened_game_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = variant(tmp_path, "wide", GAME_WINDOW, 'between = ["19:00", "21:00"] }]')
    code, report = run_json(capsys, "diff", str(BASELINE), str(new))
    assert code == 1
    assert report["changed"] is True
    (comparison,) = report["comparisons"]
    assert comparison["old"]["version"] == "2024.11"
    assert comparison["new"]["version"] == "2024.12"
    regions = comparison["regions"]
    assert regions
    minors = {"under-3", "3-8", "8-12", "12-16", "16-18"}
    covered: dict[str, set[str]] = {"game.play": set(), "game.purchase": set()}
    for region in regions:
        assert set(region["actions"]) <= set(covered)
        for action in region["actions"]:
            covered[action] |= set(region["bands"]["new"])
        assert region["old"] == {"effect": "deny", "reasons": ["outside_allowed_window"]}
        assert region["new"] == {"effect": "allow", "reasons": []}
        assert [w["spans"] for w in region["when"]] == [[["19:00", "20:00"]]]
        assert region["when"][0]["days"] == ["Fri workday", "any weekend", "any holiday"]
        assert region["conditions"]["verified"] == ["true"]
        assert region["confirmed"] is True
        example = region["counterexample"]
        assert "T19:00:00+08:00" in example["at"]
        old = decide([BASELINE], example)
        new_decision = decide([new], example)
        assert (old.effect, new_decision.effect) == ("deny", "allow")
    assert covered["game.play"] == minors
    assert covered["game.purchase"] == minors - {"under-3", "3-8"}  # no spending under 8


def test_diff_finds_the_raised_limit_for_16_to_18(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = variant(tmp_path, "limit", LIMIT_16_18, 'limit = "3h"')
    code, report = run_json(capsys, "diff", str(BASELINE), str(new))
    assert code == 1
    regions = all_regions(report)
    assert regions
    for region in regions:
        assert region["bands"] == {"old": ["16-18"], "new": ["16-18"]}
        assert region["old"]["reasons"] == ["daily_limit"]
        assert region["new"]["effect"] == "allow"
        assert set(region["conditions"]["today_seconds"]) <= {
            "7200s (2h)",
            "10799s (2h59m59s)",
        }
        example = region["counterexample"]
        assert 7200 <= example["usage"]["today_seconds"] < 10800
        assert decide([BASELINE], example).effect == "deny"
        assert decide([new], example).effect == "allow"
    actions = {a for r in regions for a in r["actions"]}
    assert {"app.use", "game.play", "dm.send", "purchase"} <= actions
    assert "livestream.tip" not in actions  # forbidden for minors either way


def test_diff_text_matches_golden(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = variant(tmp_path, "wide", GAME_WINDOW, 'between = ["19:00", "21:00"] }]')
    code = main(["diff", str(BASELINE), str(new), "--year", "2026"])
    out = capsys.readouterr().out
    assert code == 1
    out = out.replace(str(new), "NEW").replace(str(BASELINE), "OLD")
    out = re.sub(r"in \d+\.\d+s", "in T", out)
    golden = GOLDEN / "diff_game_window.txt"
    assert out == golden.read_text(encoding="utf-8")


def test_diff_reasons_mode_reports_reason_only_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = BASELINE.read_text(encoding="utf-8")
    new = tmp_path / "cn-baseline.toml"
    new.write_text(text.replace('after = "30m"', 'after = "45m"'), encoding="utf-8")
    assert main(["diff", str(BASELINE), str(new), "--year", "2026"]) == 0
    capsys.readouterr()
    code, report = run_json(capsys, "diff", str(BASELINE), str(new), "--compare", "reasons")
    assert code == 1
    regions = all_regions(report)
    assert regions
    for region in regions:
        assert region["old"] == {"effect": "allow", "reasons": [], "obligations": ["rest_reminder"]}
        assert region["new"] == {"effect": "allow", "reasons": []}
        assert region["conditions"]["session_seconds"] == ["1801s (30m1s)", "2700s (45m)"]


def test_diff_reports_catalog_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = BASELINE.read_text(encoding="utf-8")
    new = tmp_path / "cn-baseline.toml"
    extra = '\n[catalog.actions."video.watch"]\nmetered = true\n'
    new.write_text(text.replace("[[rules]]", extra + "\n[[rules]]", 1), encoding="utf-8")
    code, report = run_json(capsys, "diff", str(BASELINE), str(new))
    assert code == 1
    (comparison,) = report["comparisons"]
    assert comparison["actions_added"] == ["video.watch"]
    assert comparison["regions"] == []


def test_diff_loads_a_child_with_its_parent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = pack(tmp_path, "cn-school", "")
    body = """
[[rules]]
id = "school-night"
kind = "deny_window"
reason = "curfew"
bands = ["minors"]
actions = ["*"]
between = ["21:00", "22:00"]
days = ["sun", "mon", "tue", "wed", "thu"]
message = { zh-CN = "上学日21点后休息", en = "No use after 21:00 on school nights" }
"""
    newer = tmp_path / "new"
    newer.mkdir()
    new = pack(newer, "cn-school", body)
    assert main(["diff", str(old), str(new), "--year", "2026"]) == 2
    assert "unknown_policy" in capsys.readouterr().err
    code, report = run_json(capsys, "diff", str(old), str(new), "--with", str(CONFIGS))
    assert code == 1
    (comparison,) = report["comparisons"]
    assert comparison["old"]["id"] == comparison["new"]["id"] == "cn-school"
    for region in comparison["regions"]:
        assert region["old"]["effect"] == "allow"
        assert region["new"] == {"effect": "deny", "reasons": ["curfew"]}
        assert [w["spans"] for w in region["when"]] == [[["21:00", "22:00"]]]
        assert region["confirmed"] is True


def test_diff_exit_2_on_load_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('[policy]\nid = "x"\n', encoding="utf-8")
    assert main(["diff", str(BASELINE), str(broken)]) == 2
    err = capsys.readouterr().err
    assert "cannot load policies" in err
    assert "missing_key" in err
    assert main(["diff", str(BASELINE), str(tmp_path / "none")]) == 2


def test_diff_of_two_variants_is_fast(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = variant(tmp_path, "a", LIMIT_16_18, 'limit = "3h"', version="a")
    new = variant(tmp_path, "b", GAME_WINDOW, 'between = ["19:00", "21:30"] }]', version="b")
    started = time.perf_counter()
    code, report = run_json(capsys, "diff", str(old), str(new))
    elapsed = time.perf_counter() - started
    assert code == 1
    assert report["comparisons"][0]["points"] > 40_000
    assert elapsed < 10


# -- floor -----------------------------------------------------------------------------------
LOOSE = """
[[rules]]
id = "game-window"
override = true
kind = "allow_window"
bands = ["minors"]
actions = ["game.play", "game.purchase"]
days = ["fri", "sat", "sun", "holiday"]
except_days = ["makeup_workday"]
between = ["20:00", "21:30"]
loosens = "half an hour more on game days: the loosening `floor` must find"
message = { zh-CN = "周五、周末和节假日 20:00–21:30", en = "Games 20:00-21:30 on game days" }
"""

STRICT = """
[catalog.actions."video.watch"]
metered = true
tags = ["video"]

[[rules]]
id = "curfew"
override = true
kind = "deny_window"
reason = "curfew"
bands = ["minors"]
actions = ["*"]
waivable = true
category_exemptions = true
windows = [
  { between = ["21:00", "06:00"], days = ["sun", "mon", "tue", "wed", "thu"] },
  { between = ["22:00", "06:00"], days = ["fri", "sat"] },
]
message = { zh-CN = "今天的使用时间已结束", en = "No more use tonight" }

[[rules]]
id = "video-limit"
kind = "daily_budget"
bands = ["minors"]
tags = ["video"]
limit = "30m"
message = { zh-CN = "今天的视频时间已用完", en = "Today's video time is used up" }
"""


def test_floor_flags_a_loosening_pack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = pack(tmp_path, "cn-loose", LOOSE)
    code, report = run_json(capsys, "floor", str(path), "--baseline-path", str(CONFIGS))
    assert code == 1
    assert report["ok"] is False
    (result,) = report["packs"]
    assert result["pack"]["id"] == "cn-loose"
    assert result["baseline"]["id"] == "cn-baseline"
    regions = result["counterexamples"]
    assert regions
    for region in regions:
        assert set(region["actions"]) <= {"game.play", "game.purchase"}
        assert region["baseline"]["effect"] == "deny"
        assert region["pack"]["effect"] == "allow"
        assert [w["spans"] for w in region["when"]] == [[["21:00", "21:30"]]]
        assert region["confirmed"] is True
        example = region["counterexample"]
        engine = youthmode.Engine.from_path(CONFIGS, path)
        assert engine.decide({**example, "policy": "cn-baseline"}).effect == "deny"
        assert engine.decide(example).effect == "allow"
    code = main(["floor", str(path), "--baseline-path", str(CONFIGS), "--year", "2026"])
    out = capsys.readouterr().out
    assert code == 1
    assert "pack cn-loose allows what cn-baseline denies" in out
    assert "deny → allow" in out


def test_floor_flags_an_extra_exempt_category(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = '[catalog]\nexempt_categories = ["system_core", "games"]\n'
    path = pack(tmp_path, "cn-games", body)
    code, report = run_json(capsys, "floor", str(path), "--baseline-path", str(CONFIGS))
    assert code == 1
    regions = report["packs"][0]["counterexamples"]
    assert regions
    assert all(r["conditions"]["category"] == ["games"] for r in regions)
    assert {"curfew", "daily_limit"} <= {c for r in regions for c in r["baseline"]["reasons"]}


def test_floor_passes_a_tightening_pack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = pack(tmp_path, "cn-strict", STRICT)
    code = main(["floor", str(path), "--baseline-path", str(CONFIGS), "--year", "2026"])
    out = capsys.readouterr().out
    assert code == 0
    assert re.search(r"pack cn-strict never allows what cn-baseline denies \([\d,]+ points", out)
    assert "cn-baseline has no say on video.watch" in out
    code, report = run_json(capsys, "floor", str(path), "--baseline-path", str(CONFIGS))
    assert code == 0
    assert report["ok"] is True
    assert report["packs"][0]["counterexamples"] == []
    assert report["packs"][0]["actions_not_in_baseline"] == ["video.watch"]


def test_floor_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    baseline = str(CONFIGS / "cn-baseline.toml")
    assert main(["floor", baseline, "--baseline-path", baseline]) == 2
    assert "defines no policy other than the baseline" in capsys.readouterr().err
    path = pack(tmp_path, "cn-x", "")
    assert main(["floor", str(path), "--baseline", "nope", "--baseline-path", str(CONFIGS)]) == 2
    assert "baseline `nope` is not loaded" in capsys.readouterr().err


def test_floor_is_fast(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = pack(tmp_path, "cn-strict", STRICT)
    started = time.perf_counter()
    assert main(["floor", str(path), "--baseline-path", str(CONFIGS), "--year", "2026"]) == 0
    assert time.perf_counter() - started < 10
    capsys.readouterr()


# -- the domain ------------------------------------------------------------------------------
def test_fast_evaluation_agrees_with_the_engine(tmp_path: Path) -> None:
    """Every point of the domain is evaluated without `decide`: a sample must match it."""
    path = pack(tmp_path, "cn-loose", LOOSE + '\n[catalog]\nexempt_categories = ["games"]\n')
    loaded = load_set([path], [CONFIGS])
    base, loose = loaded.policies["cn-baseline"], loaded.policies["cn-loose"]
    domain = Domain([base, loose], years=[2026], obligations=True)
    hits = list(domain.run(lambda sigs: True))
    assert len(hits) == domain.checked > 50_000
    engine = youthmode.Engine(loaded.policies.values())
    rng = random.Random(7)
    for hit in rng.sample(hits, 1500):
        for policy, sig in zip((base, loose), hit.signatures, strict=True):
            decision = engine.decide(hit.request(domain.zone, policy.id))
            assert decision.allowed == sig[0]
            assert tuple(decision.reason_codes) == sig[1]
            if decision.allowed:
                due = tuple(o.type for o in decision.obligations if o.type == "rest_reminder")
                assert due == sig[2]


def test_domain_covers_day_kinds_and_thresholds() -> None:
    loaded = load_set([BASELINE])
    policy = loaded.policies["cn-baseline"]
    domain = Domain([policy, policy], years=[2026])
    types = {d.keys[0][1] for d in domain.days}
    assert types == {"workday", "weekend", "holiday", "makeup_workday"}
    assert {d.keys[0][0] for d in domain.days if d.keys[0][1] == "holiday"} == set(range(7))
    assert domain.ages == [0, 3, 8, 12, 16, 18, None]
    unit = domain.unit("game.purchase", 12)
    assert unit is not None
    assert unit.todays == [0, 3599, 3600]
    amounts = {g.amount for g in unit.guards}
    assert any(a is not None and a > 50 for a in amounts)
    assert any(a is not None and a <= 50 for a in amounts)
    assert {g.verified for g in unit.guards} == {True, False}
    dm = domain.unit("dm.send", 12)
    assert dm is not None
    assert {dict(g.extra).get("recipient") for g in dm.guards} == {None, "stranger"}
    adult = domain.unit("app.use", 18)
    assert adult is not None and adult.size == 1  # nothing applies: one point
    when = describe_when([(d.index, 0, 86400) for d in domain.days], domain.days)
    assert when[0][0] == ["every day"]


# -- progress --------------------------------------------------------------------------------
class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_a_tty_only_after_a_second() -> None:
    now = [0.0]
    stream = FakeTTY()
    with Progress("diff", 10, stream=stream, clock=lambda: now[0]) as progress:
        progress.advance()
        assert stream.getvalue() == ""
        now[0] = 1.5
        progress.advance(detail="game.play")
        drawn = stream.getvalue()
        assert "diff" in drawn and "2/10" in drawn and "game.play" in drawn
        now[0] = 1.52
        progress.advance()  # throttled
        assert stream.getvalue() == drawn
    assert stream.getvalue().endswith("\r\x1b[2K")


def test_progress_is_silent_when_not_a_tty_or_quick() -> None:
    now = [0.0]
    pipe = io.StringIO()
    with Progress("floor", 3, stream=pipe, clock=lambda: now[0]) as progress:
        now[0] = 5.0
        progress.advance()
    assert pipe.getvalue() == ""
    quick = FakeTTY()
    with Progress("floor", 3, stream=quick, clock=lambda: 0.0) as progress:
        progress.advance(3)
    assert quick.getvalue() == ""
