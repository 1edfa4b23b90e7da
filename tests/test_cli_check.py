"""`youthmode check`, `explain` and `decide`: output lines and exit codes.

Run through `youthmode.cli.main`, as the console script does. Golden files under tests/golden/
hold whole outputs; set YOUTHMODE_UPDATE_GOLDEN=1 to rewrite them after an intended change.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from youthmode.authoring.checking import ERRORS_DOCS, calendar_problems, doc_link
from youthmode.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
GOLDEN = Path(__file__).parent / "golden"
FRIDAY = "2026-11-27T12:00:00Z"  # a Friday, in 2026: the 2027 CN schedule is not yet known

build_parser()  # import every authoring module before any test freezes the clock

BROKEN = """[policy]
id = "tiny"
version = "2026.1"
timezone = "Asia/Shanghai"

[[bands]]
id = "child"
from = 0
to = 18

[[bands]]
id = "adult"
from = 18

[catalog.actions."app.use"]
metered = true

[[rules]]
id = "curfew"
kind = "deny_window"
reason = "curfew"
bands = ["children"]
actions = ["app.usage"]
between = ["22:00", "06:00"]
days = ["friday"]
message = { zh-CN = "每日22时至次日6时不提供服务", en = "No service from 22:00 to 06:00" }
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("YOUTHMODE_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"differs from {path}"


@pytest.fixture
def broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with one policy that has three cross-check errors; the working directory."""
    (tmp_path / "tiny.toml").write_text(BROKEN, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- check --------------------------------------------------------------------------------------
SHIPPED_PACKS = [
    "au-smma",
    "br-eca-digital",
    "cn-baseline",
    "eu-dsa28-av",
    "eu-dsa28",
    "kr",
    "uk-aadc",
    "us-al",
    "us-ca",
    "us-co",
    "us-la",
    "us-ny",
    "us-tx-sb2420",
    "us-ut",
    "vn-decree-147",
]
# The shipped warnings: cn-baseline's 2027 calendar, then one `not_in_force` per pack or rule
# recorded but not enforced (kr's repealed shutdown law, us-ca's two enjoined notification
# limits, us-ny as a whole).
SHIPPED_WARNINGS = ["calendar_unofficial_year"] + ["not_in_force"] * 4


def test_shipped_policies_pass_with_a_calendar_warning(
    capsys: pytest.CaptureFixture[str], freezer: Any
) -> None:
    freezer.move_to(FRIDAY)
    code, out, _ = run(capsys, "check", str(CONFIGS))
    lines = out.splitlines()
    assert code == 0
    assert lines[0].startswith(f"{CONFIGS}/cn-baseline.toml: calendar_unofficial_year: ")
    assert "no official CN holiday schedule for 2027" in lines[0]
    assert lines[1] == (
        "  warning (does not fail the check); see docs/errors/calendar_unofficial_year.md"
    )
    oks = [line for line in lines if line.startswith("ok: ")]
    assert [line.split()[1] for line in oks] == SHIPPED_PACKS
    assert any(
        line.startswith("ok: cn-baseline 2024.11 (20 rules, official calendar years 2020-")
        for line in oks
    )
    assert (
        f"{CONFIGS}/kr.toml:78:1: not_in_force: rule `kr/shutdown-law` has status `repealed`" in out
    )
    not_in_force = [line for line in lines if ": not_in_force: " in line]
    assert len(not_in_force) == 4
    assert lines[-1] == f"checked {CONFIGS}: 0 errors, 5 warnings"


def test_policy_tests_beside_the_policies_are_not_checked_as_policies(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "check", str(CONFIGS))
    assert code == 0
    assert "_test.toml" not in out


def test_every_problem_is_printed_with_hint_and_page(
    capsys: pytest.CaptureFixture[str], broken: Path
) -> None:
    code, out, _ = run(capsys, "check", "tiny.toml")
    assert code == 1
    golden("check_broken.txt", out)
    lines = out.splitlines()
    assert lines[0] == (
        "tiny.toml:22:10: unknown_band: unknown band or group `children` "
        "(at `rules[0].bands[0]`); did you mean `child`?"
    )
    assert lines[1] == "  see docs/errors/unknown_band.md"
    assert lines[-1] == "checked tiny.toml: 3 errors, 0 warnings; fix the errors above"


def test_every_linked_page_exists(capsys: pytest.CaptureFixture[str], broken: Path) -> None:
    _, out, _ = run(capsys, "check", "tiny.toml")
    links = [line.split("see ", 1)[1] for line in out.splitlines() if "see docs/" in line]
    assert len(links) == 3
    assert all((ROOT / link).is_file() for link in links)


def test_check_json(capsys: pytest.CaptureFixture[str], broken: Path) -> None:
    code, out, _ = run(capsys, "check", "--format", "json", ".")
    report = json.loads(out)
    assert code == 1
    assert report["ok"] is False
    assert (report["errors"], report["warnings"], report["policies"]) == (3, 0, [])
    first = report["problems"][0]
    assert first["code"] == "unknown_band"
    assert (first["file"], first["line"], first["column"]) == ("tiny.toml", 22, 10)
    assert first["hint"] == "did you mean `child`?"
    assert first["rule"] == "curfew"
    assert first["doc"] == "docs/errors/unknown_band.md"
    assert [p["code"] for p in report["problems"]] == [
        "unknown_band",
        "unknown_action",
        "unknown_day",
    ]


def test_check_json_of_good_policies(capsys: pytest.CaptureFixture[str], freezer: Any) -> None:
    freezer.move_to(FRIDAY)
    code, out, _ = run(capsys, "check", "--format", "json", str(CONFIGS))
    report = json.loads(out)
    assert code == 0
    assert report["ok"] is True
    assert [p["code"] for p in report["problems"]] == SHIPPED_WARNINGS
    assert {p["severity"] for p in report["problems"]} == {"warning"}
    assert [p["id"] for p in report["policies"]] == SHIPPED_PACKS


def test_no_policies(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    code, out, _ = run(capsys, "check", "empty")
    assert code == 1
    assert out.splitlines() == [
        "<policy>: no_policies: no policy files (*.toml) found in `empty`",
        "  see docs/errors/no_policies.md",
        "checked empty: 1 error, 0 warnings; fix the errors above",
    ]


def test_calendar_warnings_name_the_year(freezer: Any) -> None:
    from youthmode.policies import load_policies

    freezer.move_to(FRIDAY)
    from datetime import UTC, datetime

    [problem] = calendar_problems(load_policies([CONFIGS]), datetime.now(UTC))
    assert problem.severity == "warning"
    assert problem.hint is not None and "official_years = [2027]" in problem.hint


def test_doc_link_is_relative_to_the_repository() -> None:
    assert doc_link("unknown_key") == "docs/errors/unknown_key.md"
    assert (ROOT / ERRORS_DOCS).is_dir()


# -- explain ------------------------------------------------------------------------------------
FRIDAY_GAME = [
    "explain",
    "--policies",
    str(CONFIGS),
    "--age",
    "12",
    "--verified",
    "--action",
    "game.play",
    "--at",
    "2026-11-27T20:30+08:00",
    "--session",
    "40m",
]


def test_explain_from_flags(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *FRIDAY_GAME)
    assert code == 0
    golden("explain_game_friday.txt", out)
    lines = out.splitlines()
    assert lines[:4] == [
        "effect:   allow",
        "band:     12-16 (age 12, verified)",
        "policy:   cn-baseline 2024.11",
        "time:     2026-11-27T20:30:00+08:00 (Friday, workday)",
    ]
    assert "remaining: 1800 s (30m, until 2026-11-27T21:00:00+08:00)" in lines
    assert "obligation: rest_reminder (cn-baseline/rest-reminder)" in lines


def test_explain_table_lists_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, *FRIDAY_GAME)
    table = out.split("\n\n", 1)[1].splitlines()
    assert table[0].split() == ["rule", "kind", "outcome", "detail"]
    assert len(table) == 1 + 20
    rows = {line.split()[0]: line.split()[2] for line in table[1:]}
    assert rows["cn-baseline/game-window"] == "pass"
    assert rows["cn-baseline/no-tipping"] == "not_applicable"
    assert rows["cn-baseline/rest-reminder"] == "obligation"


def test_explain_deny_shows_both_messages_and_when(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "explain",
        "--policies",
        str(CONFIGS),
        "--age=12",
        "--verified",
        "--action=game.play",
        "--at=2026-11-25T20:30+08:00",
        "--applicable",
    )
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == "effect:   deny"
    at = lines.index("  outside_allowed_window (cn-baseline/game-window)")
    assert lines[at + 1].startswith("    zh-CN: 未成年人仅可在周五、周六、周日和法定节假日")
    assert lines[at + 2].startswith("    en:    Minors may play online games only 20:00-21:00")
    assert "next allowed: 2026-11-27T20:00:00+08:00 (in 47h30m)" in lines
    assert "remedy:   wait (until 2026-11-27T20:00:00+08:00)" in lines
    assert lines[-1] == "(14 rules out of scope not shown)"


def test_explain_json_from_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    request.write_text(
        json.dumps(
            {
                "subject": {"age": 12, "verified": True},
                "action": "app.use",
                "at": "2026-11-25T22:00:00+08:00",
            }
        )
    )
    code, out, _ = run(
        capsys, "explain", str(request), "--policies", str(CONFIGS), "--format", "json"
    )
    explanation = json.loads(out)
    assert code == 0
    assert explanation["decision"]["effect"] == "deny"
    assert [r["code"] for r in explanation["decision"]["reasons"]] == ["curfew"]
    assert len(explanation["trace"]) == 20


def test_explain_from_stdin_with_flags_on_top(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    request = {"subject": {"age": 12, "verified": True}, "action": "app.use"}
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(request)))
    code, out, _ = run(
        capsys,
        "explain",
        "-",
        "--policies",
        str(CONFIGS),
        "--age",
        "17",
        "--at",
        "2026-11-25T10:00+08:00",
        "--today",
        "7200",
        "--format",
        "json",
    )
    decision = json.loads(out)["decision"]
    assert code == 0
    assert decision["band"] == "16-18"
    assert decision["facts"]["today_seconds"] == 7200
    assert [r["code"] for r in decision["reasons"]] == ["daily_limit"]


@pytest.mark.parametrize(
    ("flags", "effect"),
    [
        (["--action", "app.use", "--at", "2026-11-25T23:00+08:00"], "deny"),
        (
            ["--action", "app.use", "--at", "2026-11-25T23:00+08:00", "--exempt", "curfew"],
            "allow",
        ),
        (["--action", "livestream.host", "--age", "16", "--at", "2026-11-25T10:00+08:00"], "deny"),
        (
            [
                "--action",
                "livestream.host",
                "--age",
                "16",
                "--at",
                "2026-11-25T10:00+08:00",
                "--consent",
                "livestream.host",
            ],
            "allow",
        ),
        (
            ["--action", "game.purchase", "--at", "2026-11-27T20:30+08:00", "--amount", "50.01"],
            "deny",
        ),
        (
            [
                "--action",
                "app.use",
                "--at",
                "2026-11-25T23:00+08:00",
                "--category",
                "filed_education",
            ],
            "allow",
        ),
    ],
)
def test_explain_flags_reach_the_request(
    capsys: pytest.CaptureFixture[str], flags: list[str], effect: str
) -> None:
    base = ["explain", "--policies", str(CONFIGS), "--verified", "--format", "json"]
    if "--age" not in flags:
        base += ["--age", "12"]
    code, out, _ = run(capsys, *base, *flags)
    assert code == 0
    assert json.loads(out)["decision"]["effect"] == effect


def test_explain_an_invalid_request(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "explain", "--policies", str(CONFIGS), "--age", "12", "--action", "game.ply"
    )
    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        "youthmode explain: invalid request:",
        "  action: unknown action `game.ply` for policy `cn-baseline` [unknown_action]; "
        "did you mean `game.play`?",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--age", "12"], "no action: give --action (e.g. --action app.use) or a request file"),
        (["--action", "app.use", "--today", "forty"], "--today: `forty` is not a duration"),
        (["missing.json"], "cannot read `missing.json`"),
        (
            ["--action", "app.use", "--at", "2026-11-27T20:30"],
            "--at: `2026-11-27T20:30` has no UTC offset; add the policy's, "
            "e.g. 2026-11-27T20:30+08:00",
        ),
        (["--action", "app.use", "--at", "tonight"], "--at: `tonight` is not a date and time"),
    ],
)
def test_explain_usage_errors_name_the_fix(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, "explain", "--policies", str(CONFIGS), *argv)
    assert code == 2
    assert out == ""
    assert message in err


def test_explain_bad_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    request.write_text('{"action": "app.use",}')
    code, _, err = run(capsys, "explain", str(request), "--policies", str(CONFIGS))
    assert code == 2
    assert f"{request}:1:22: not valid JSON" in err


def test_explain_with_broken_policies(capsys: pytest.CaptureFixture[str], broken: Path) -> None:
    code, _, err = run(capsys, "explain", "--policies", ".", "--action", "app.use")
    assert code == 2
    lines = err.splitlines()
    assert lines[0] == "youthmode explain: the policies do not load:"
    assert lines[1].startswith("  tiny.toml:22:10: unknown_band:")
    assert lines[-1] == "  run `youthmode check .` for help on each problem"


# -- decide -------------------------------------------------------------------------------------
def test_decide_prints_the_decision(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    request = {
        "subject": {"age": 12, "verified": True},
        "action": "app.use",
        "at": "2026-11-25T21:59:59+08:00",
    }
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(request)))
    code, out, _ = run(capsys, "decide", "-", "--policies", str(CONFIGS))
    decision = json.loads(out)
    assert code == 0
    assert (decision["effect"], decision["remaining_seconds"]) == ("allow", 1)
    assert "trace" not in decision


def test_decide_invalid_request_is_json_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "decide", "--policies", str(CONFIGS), "--action", "game.purchase", "--age", "12"
    )
    assert code == 2
    assert out == ""
    [problem] = json.loads(err)["errors"]
    assert problem["code"] == "missing_amount"
    assert problem["loc"] == ["resource", "amount"]


def test_the_command_keeps_serve_and_keys() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    choices = getattr(commands, "choices", None) or {}
    assert {"check", "explain", "decide", "test", "schema", "serve", "keys"} <= set(choices)
