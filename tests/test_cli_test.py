"""`youthmode test`: policy test files, the pass/fail summary and per-rule coverage."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest

import youthmode
from youthmode.authoring.testing import find_test_files, jsonable, read_test_file
from youthmode.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
SHIPPED = CONFIGS / "cn-baseline_test.toml"
SCENARIOS = Path(__file__).parent / "scenarios" / "cn-baseline.json"

build_parser()  # import every authoring module before any test freezes the clock

CURFEW_CASE = """
[[case]]
name = "curfew at 22:00"
request.action = "app.use"
request.at = 2026-11-25T22:00:00+08:00
request.subject = { age = 12, verified = true }
expect.effect = "deny"
expect.reasons = ["curfew"]
expect.next_allowed_at = 2026-11-26T06:00:00+08:00
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(list(argv))
    return code, capsys.readouterr().out.splitlines()


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A policy folder holding a copy of cn-baseline; the working directory."""
    shutil.copy(CONFIGS / "cn-baseline.toml", tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(folder: Path, text: str, name: str = "cn-baseline_test.toml") -> str:
    (folder / name).write_text('policy = "cn-baseline"\n' + text, encoding="utf-8")
    return name


# -- the shipped tests --------------------------------------------------------------------------
def test_shipped_tests_pass_and_cover_every_rule(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    code, lines = run(capsys, "test")
    assert code == 0, "\n".join(lines)
    passed = int(lines[-1].split()[0])
    assert passed >= 40
    assert lines[-1] == f"{passed} passed, 0 failed"
    assert any(line.startswith("  cn-baseline: 20 of 20 rules exercised (100%)") for line in lines)
    assert not any("not exercised" in line for line in lines)
    # Rules recorded but never enforced (enjoined, proposed) are not counted: no case can make
    # them apply. tests/test_packs_ca_ny.py holds them with the status switched.
    assert not any("us-ca/night-notifications " in line for line in lines)
    assert any(line.startswith("  us-ny: 0 of 0 rules exercised") for line in lines), lines


def unenforced() -> set[str]:
    """The shipped rules whose status (with their pack's) is not `in_force`."""
    engine = youthmode.Engine.from_path(SHIPPED.parent)
    return {r.ref for p in engine.policies.values() for r in p.rules if r.status != "in_force"}


def test_every_rule_denies_or_fires_in_some_case(capsys: pytest.CaptureFixture[str]) -> None:
    """Every shipped pack's own tests (configs/*_test.toml) make each of its rules deny (or
    fire) and, unless it is a forbid, also pass."""
    code, lines = run(capsys, "test", str(SHIPPED.parent), "--format", "json")
    report = json.loads("\n".join(lines))
    assert code == 0
    packs = {c["policy"] for c in report["coverage"]}
    assert packs >= {"cn-baseline", "vn-decree-147", "br-eca-digital", "au-smma", "us-tx-sb2420"}
    never = unenforced()  # recorded, not enforced: no case can make them apply
    for coverage in report["coverage"]:
        assert set(coverage["not_exercised"]) <= never, coverage["policy"]
        for rule in coverage["rules"]:
            if rule["rule"] in never:
                continue
            assert rule["denied"] or rule["fired"], rule["rule"]
            if rule["kind"] != "forbid":  # a forbid denies whenever it applies
                assert rule["applied"] > rule["denied"], f"{rule['rule']} never seen passing"


def test_shipped_cases_agree_with_the_scenario_corpus() -> None:
    tests, _, problems = read_test_file(SHIPPED)
    assert tests is not None and not problems
    assert len(tests.case) >= 40
    corpus = {c["name"]: c for c in json.loads(SCENARIOS.read_text())["cases"]}
    from_corpus = [case for case in tests.case if case.name in corpus]
    assert len(from_corpus) >= 40
    for case in from_corpus:
        source = corpus[case.name]
        request = {k: v for k, v in source["request"].items() if k != "policy"}
        given = jsonable(case.request)
        assert datetime.fromisoformat(given.pop("at")) == datetime.fromisoformat(request.pop("at"))
        assert given == request, case.name
        expect = case.expect
        assert expect.effect == source["expect"]["effect"]
        assert expect.reasons == source["expect"]["reasons"]
        for key in ("remaining_seconds", "next_allowed_at", "band", "obligations"):
            if key in source["expect"]:
                assert jsonable(getattr(expect, key)) == source["expect"][key], case.name


def test_no_args_finds_test_files_under_configs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert Path("configs/cn-baseline_test.toml") in find_test_files(["configs"])


# -- results ------------------------------------------------------------------------------------
def test_a_failing_case(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    name = write(
        folder,
        CURFEW_CASE.replace('expect.effect = "deny"', 'expect.effect = "allow"').replace(
            "expect.next_allowed_at = 2026-11-26T06:00:00+08:00", 'expect.remaining_seconds = "1h"'
        ),
    )
    code, lines = run(capsys, "test", name)
    assert code == 1
    assert lines[:4] == [
        "FAIL cn-baseline_test.toml:3: curfew at 22:00",
        "  effect             expected allow, got deny",
        "  remaining_seconds  expected 3600, got none",
        "  explain it: youthmode explain --policies . - <<< '"
        '{"action": "app.use", "at": "2026-11-25T22:00:00+08:00", '
        '"subject": {"age": 12, "verified": true}, "policy": "cn-baseline"}\'',
    ]
    assert lines[-1] == "0 passed, 1 failed"


def test_a_passing_case_with_verbose(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    code, lines = run(capsys, "test", write(folder, CURFEW_CASE), "-v")
    assert code == 0
    assert lines[0] == "PASS cn-baseline_test.toml:3: curfew at 22:00"
    assert lines[-1] == "1 passed, 0 failed"


def test_coverage_lists_rules_no_case_exercised(
    capsys: pytest.CaptureFixture[str], folder: Path
) -> None:
    code, lines = run(capsys, "test", write(folder, CURFEW_CASE), "--coverage")
    assert code == 0
    at = lines.index("coverage (rules that applied in at least one case):")
    assert lines[at + 1] == "  cn-baseline: 4 of 20 rules exercised (20%) by 1 case"
    assert lines[at + 2].split() == [
        "rule",
        "kind",
        "applied",
        "denied",
        "fired",
        "waived",
        "exempt",
    ]
    assert lines[at + 12].split() == ["cn-baseline/curfew", "deny_window", "1", "1", "0", "0", "0"]
    assert "    not exercised by any case:" in lines
    assert "      cn-baseline/no-tipping (forbid)" in lines
    assert "      cn-baseline/curfew (deny_window)" not in lines


def test_json_report(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    failing = CURFEW_CASE.replace('name = "curfew at 22:00"', 'name = "wrong"').replace(
        'expect.reasons = ["curfew"]', 'expect.reasons = ["daily_limit"]'
    )
    code, lines = run(capsys, "test", write(folder, CURFEW_CASE + failing), "--format", "json")
    report = json.loads("\n".join(lines))
    assert code == 1
    assert (report["ok"], report["passed"], report["failed"], report["errors"]) == (
        False,
        1,
        1,
        0,
    )
    failure = report["cases"][1]
    assert failure["status"] == "fail"
    assert failure["failures"] == [
        {"key": "reasons", "expected": ["daily_limit"], "got": ["curfew"]}
    ]
    [coverage] = report["coverage"]
    assert coverage["rules_exercised"] == 4
    assert "cn-baseline/no-tipping" in coverage["not_exercised"]


def test_threshold(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    code, lines = run(capsys, "test", write(folder, CURFEW_CASE), "--threshold", "90")
    assert code == 1
    assert (
        "coverage of cn-baseline is 20%, under --threshold 90%: "
        "add cases for the rules not exercised"
    ) in lines
    assert lines[-1] == "1 passed, 0 failed"


def test_expected_request_errors(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    cases = """
[[case]]
name = "no amount"
request.action = "game.purchase"
request.at = 2026-11-27T20:30:00+08:00
request.subject = { age = 12, verified = true }
expect.error = "missing_amount"

[[case]]
name = "not that error"
request.action = "game.purchase"
request.at = 2026-11-27T20:30:00+08:00
expect.error = "unknown_action"

[[case]]
name = "rejected but a decision was expected"
request.action = "game.ply"
request.at = 2026-11-27T20:30:00+08:00
expect.effect = "allow"
"""
    code, lines = run(capsys, "test", write(folder, cases))
    assert code == 1
    assert "FAIL cn-baseline_test.toml:10: not that error" in lines
    assert "FAIL cn-baseline_test.toml:16: rejected but a decision was expected" in lines
    assert any(
        line.startswith("  request  expected effect allow, got rejected: action: unknown action")
        for line in lines
    )
    assert lines[-1] == "1 passed, 2 failed"


def test_none_durations_bands_rules_and_obligations(
    capsys: pytest.CaptureFixture[str], folder: Path
) -> None:
    cases = """
[[case]]
name = "rest reminder"
request.action = "app.use"
request.at = 2026-11-25T10:00:00+08:00
request.subject = { age = 12, verified = true }
request.usage = { today_seconds = 0, session_seconds = 1801 }
expect.effect = "allow"
expect.remaining_seconds = "1h"
expect.band = "12-16"
expect.obligations = ["rest_reminder"]

[[case]]
name = "tipping: no next time"
request.action = "livestream.tip"
request.at = "2026-11-25T10:00:00+08:00"
request.subject = { birthdate = 2014-03-02, verified = true }
request.resource = { amount = "1.00" }
expect.effect = "deny"
expect.rules = ["cn-baseline/no-tipping"]
expect.next_allowed_at = "none"
"""
    code, lines = run(capsys, "test", write(folder, cases))
    assert code == 0, lines
    assert lines[-1] == "2 passed, 0 failed"


# -- problems in test files ---------------------------------------------------------------------
def test_problems_in_a_test_file(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    cases = """
[[case]]
name = "no time"
request.action = "app.use"
expect.efect = "allow"

[[case]]
name = "local time"
request.action = "app.use"
request.at = 2026-11-25T10:00:00+08:00
expect.effect = "deny"
expect.next_allowed_at = 2026-11-26T06:00:00
"""
    code, lines = run(capsys, "test", write(folder, cases))
    assert code == 1
    assert lines == [
        "cn-baseline_test.toml:3:1: missing_key: case `no time` has no `request.at` "
        "(at `case[0].request.at`); give every case a fixed time, e.g. "
        "request.at = 2026-11-27T20:30:00+08:00, so the test does not depend on the day it runs",
        "cn-baseline_test.toml:6:1: unknown_key: unknown key `efect` (at `case[0].expect.efect`); "
        "did you mean `effect`?",
        "cn-baseline_test.toml:13:1: invalid_value: `2026-11-26T06:00:00` needs an offset, "
        "e.g. +08:00 (at `case[1].expect.next_allowed_at`)",
        "0 passed, 0 failed, 3 errors",
    ]


def test_toml_syntax_in_a_test_file(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    code, lines = run(capsys, "test", write(folder, "[[case]]\nname = curfew\n"))
    assert code == 1
    assert lines[0].startswith("cn-baseline_test.toml:3:8: toml_syntax: invalid value")


def test_broken_policies_beside_the_tests(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    (folder / "broken.toml").write_text('[policy]\nid = "broken"\n')
    code, lines = run(capsys, "test", write(folder, CURFEW_CASE))
    assert code == 1
    assert lines[0].startswith("broken.toml:")
    assert "missing_key" in lines[0]
    assert lines[-1].startswith("0 passed, 0 failed, ")


def test_policies_from_another_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tests").mkdir()
    monkeypatch.chdir(tmp_path)
    name = write(tmp_path / "tests", CURFEW_CASE)
    code, lines = run(capsys, "test", f"tests/{name}", "--policies", str(CONFIGS))
    assert code == 0, lines
    assert lines[-1] == "1 passed, 0 failed"


def test_name_filter(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(capsys, "test", str(SHIPPED), "-k", "GAME WINDOW FRI")
    assert code == 0
    assert lines[-1] == "3 passed, 0 failed"


def test_no_test_files(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    code, lines = run(capsys, "test", ".")
    assert code == 1
    assert lines == [
        "no test files (*_test.toml) in .: write one next to the policies, "
        "e.g. configs/my-policy_test.toml",
        "0 passed, 0 failed",
    ]


def test_a_test_file_that_is_not_there(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    code, lines = run(capsys, "test", "missing_test.toml")
    assert code == 1
    assert lines == [
        "missing_test.toml: unreadable_file: cannot read `missing_test.toml`: "
        "No such file or directory",
        "0 passed, 0 failed, 1 error",
    ]


def test_broken_test_files_are_read_as_policies_are(tmp_path: Path) -> None:
    """One TOML reader (policies/source.py) for policies and test files: same words, same
    positions, same hints."""
    bad_toml = tmp_path / "x_test.toml"
    bad_toml.write_text('policy = "cn-baseline"\n[[case]\nname = 1\n', encoding="utf-8")
    bad_bytes = tmp_path / "y_test.toml"
    bad_bytes.write_bytes(b'policy = "cn-baseline"\n\xff\xfe')
    for path, code, line, hint in (
        (bad_toml, "toml_syntax", 2, None),
        (bad_bytes, "invalid_encoding", 2, "save the file as UTF-8"),
    ):
        cases, positions, problems = read_test_file(path)
        assert cases is None and positions is None
        assert [(p.code, p.line, p.hint) for p in problems] == [(code, line, hint)]
