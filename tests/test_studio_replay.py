"""The studio's Replay view over HTTP: the real `youthmode studio --logs-dir DIR --log FILE`
replays a log the real decision-log writer wrote against the edited text (the curfew moved
from 22:00 to 21:00) and answers the exact flips; bad logs and paths outside the allowed ones
are located problems; the served `/studio` has replay off and says why; nothing is written."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIGS
from studio_support import Studio, copy_policies, snapshot
from test_replay import CURFEW, FLIPS_TO_DENY, OTHER_REASONS, UNCHANGED, curfew_at_nine, write_log
from test_server import Server

import youthmode
from youthmode.authoring.replay import Replayer
from youthmode.studio.logs import MAX_LINE_BYTES, CappedLines

BASELINE = "cn-baseline.toml"
TEXT = (CONFIGS / BASELINE).read_text(encoding="utf-8")
AT_NINE = TEXT.replace(CURFEW, 'between = ["21:00", "06:00"]')
REQUESTS = FLIPS_TO_DENY + OTHER_REASONS + UNCHANGED  # lines 1-4 flip, line 5 gains `curfew`


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("studio-replay")
    copy_policies(root / "policies")
    logs = root / "logs"
    logs.mkdir()
    engine = youthmode.Engine.from_path(CONFIGS)
    write_log(logs / "decisions.jsonl", REQUESTS, engine)
    (logs / "server.log").write_text("[INFO] Starting gunicorn 23.0.0\n", encoding="utf-8")
    (logs / "older").mkdir()
    write_log(root / "outside.jsonl", REQUESTS, engine)
    (logs / "escape.jsonl").symlink_to(root / "outside.jsonl")
    os.mkfifo(logs / "pipe.jsonl")  # reading it would block forever: it must be refused
    write_log(root / "given.jsonl", REQUESTS[:2], engine)
    return root


@pytest.fixture(scope="module")
def studio(root: Path) -> Iterator[Studio]:
    before = snapshot(root / "policies"), snapshot_of(root / "logs"), snapshot_of(root)
    running = Studio(
        root / "policies", ["--logs-dir", str(root / "logs"), "--log", str(root / "given.jsonl")]
    )
    yield running
    running.stop()
    after = snapshot(root / "policies"), snapshot_of(root / "logs"), snapshot_of(root)
    assert after == before


def snapshot_of(folder: Path) -> dict[str, bytes | int]:
    """The regular files' bytes, and what every other entry is (a FIFO is never opened)."""
    return {
        p.name: p.read_bytes() if p.is_file() and not p.is_symlink() else p.stat().st_mode
        for p in sorted(folder.iterdir())
    }


def replay(studio: Studio, log: str, text: str = AT_NINE, **more: Any) -> tuple[int, Any]:
    return studio.call("/studio/api/replay", {"file": BASELINE, "text": text, "log": log, **more})


def test_the_page_is_offered_the_given_logs(studio: Studio, root: Path) -> None:
    status, body = studio.call("/studio/api/logs")
    assert status == 200 and body["enabled"] and body["folders"] == [str(root / "logs")]
    offered = [entry["log"] for entry in body["logs"]]
    assert offered[0] == str(root / "given.jsonl")
    assert str(root / "logs" / "decisions.jsonl") in offered
    assert str(root / "logs" / "older") not in offered  # a folder is not a log
    assert str(root / "logs" / "escape.jsonl") not in offered  # a link out of the folder
    assert str(root / "logs" / "pipe.jsonl") not in offered
    sizes = {entry["log"]: entry["size"] for entry in body["logs"]}
    assert sizes[offered[0]] == (root / "given.jsonl").stat().st_size


def test_moving_the_curfew_flips_exactly_the_requests_between_nine_and_ten(
    studio: Studio, root: Path
) -> None:
    log = str(root / "logs" / "decisions.jsonl")
    status, report = replay(studio, log, examples=5)
    assert status == 200, report
    assert (report["total"], report["replayed"], report["flipped"]) == (10, 10, 4)
    assert report["changes"] == {
        "allow_to_deny": 4,
        "deny_to_allow": 0,
        "reasons_changed": 1,
        "band_changed": 0,
    }
    assert report["unchanged"] == 5 and report["skipped"] == {}
    flips = report["examples"]["allow_to_deny"]
    assert [(e["line"], e["action"], e["at"][11:19]) for e in flips] == [
        (1, "app.use", "21:30:00"),
        (2, "app.use", "21:00:00"),
        (3, "app.use", "21:15:00"),
        (4, "comment.post", "21:40:00"),
    ]
    assert all(e["before"]["effect"] == "allow" for e in flips)
    assert all(
        e["after"] == {"effect": "deny", "band": "12-16", "reasons": ["curfew"]} for e in flips
    )
    other = report["examples"]["reasons_changed"][0]
    assert (other["line"], other["before"]["reasons"], other["after"]["reasons"]) == (
        5,
        ["daily_limit"],
        ["curfew", "daily_limit"],
    )
    assert report["by_reason"] == {"curfew": {"allow_to_deny": 4, "reasons_changed": 1}}
    assert report["by_action"]["comment.post"] == {"allow_to_deny": 1}
    assert report["by_band"] == {"12-16": {"allow_to_deny": 4, "reasons_changed": 1}}
    size = (root / "logs" / "decisions.jsonl").stat().st_size
    assert report["read"]["lines"] == 10 and report["read"]["capped"] is None
    assert report["read"]["bytes"] == report["read"]["size"] == size
    assert report["log"] == log and report["file"].endswith(BASELINE)


def test_the_unedited_text_flips_nothing(studio: Studio, root: Path) -> None:
    status, report = replay(studio, str(root / "logs" / "decisions.jsonl"), TEXT)
    assert status == 200 and report["flipped"] == 0 and report["unchanged"] == 10


def test_a_given_log_and_a_path_relative_to_where_the_studio_started(
    studio: Studio, root: Path
) -> None:
    status, report = replay(studio, str(root / "given.jsonl"))
    assert status == 200 and report["flipped"] == 2
    relative = os.path.relpath(root / "logs" / "decisions.jsonl", Path.cwd())
    status, report = replay(studio, relative)  # the studio runs in the tests' folder
    assert status == 200 and report["flipped"] == 4


def test_a_replay_stops_at_the_line_limit_and_says_so(studio: Studio, root: Path) -> None:
    status, report = replay(studio, str(root / "logs" / "decisions.jsonl"), max_lines=3)
    assert status == 200
    assert report["read"]["capped"] == "lines" and report["read"]["lines"] == 3
    assert (report["total"], report["flipped"]) == (3, 3)
    assert 0 < report["read"]["bytes"] < report["read"]["size"]


@pytest.mark.parametrize(
    ("log", "more", "status", "field"),
    [
        ("logs/nothing.jsonl", {}, 404, "log"),
        ("logs/server.log", {}, 422, "log"),  # not a decision log
        ("logs/older", {}, 422, "log"),  # a folder
        ("logs/pipe.jsonl", {}, 422, "log"),  # not a regular file
        ("outside.jsonl", {}, 400, "log"),  # not under --logs-dir, not a --log
        ("logs/../outside.jsonl", {}, 400, "log"),
        ("logs/escape.jsonl", {}, 400, "log"),  # a link out of the folder
        ("/etc/passwd", {}, 400, "log"),
        ("logs", {}, 400, "log"),  # the folder itself
        ("logs/decisions.jsonl", {"examples": -1}, 400, "examples"),
        ("logs/decisions.jsonl", {"examples": True}, 400, "examples"),
        ("logs/decisions.jsonl", {"max_lines": "all"}, 400, "max_lines"),
        ("logs/decisions.jsonl", {"max_lines": 10**9}, 400, "max_lines"),
        ("logs/decisions.jsonl", {"text": "[policy"}, 422, "text"),
        ("logs/decisions.jsonl", {"text": 5}, 400, "text"),
        ("logs/decisions.jsonl", {"log": 7}, 400, "log"),
        ("logs/decisions.jsonl", {"log": "x\u0000y"}, 400, "log"),
        ("logs/decisions.jsonl", {"log": "a" * 5000}, 400, "log"),
    ],
)
def test_bad_logs_and_fields_are_located_problems(
    studio: Studio, root: Path, log: str, more: dict[str, Any], status: int, field: str
) -> None:
    body = {"file": BASELINE, "text": AT_NINE, "log": str(root / log), **more}
    got, problem = studio.call("/studio/api/replay", body)
    assert (got, problem["status"]) == (status, status), problem
    assert problem["errors"][0]["loc"] == ["body", field], problem


def test_problems_name_the_log_and_why(studio: Studio, root: Path) -> None:
    _, problem = replay(studio, str(root / "logs" / "server.log"))
    assert "not a decision log" in problem["detail"] and "server.log:1" in problem["detail"]
    _, problem = replay(studio, str(root / "logs" / "nothing.jsonl"))
    assert "does not exist" in problem["detail"]
    _, problem = replay(studio, str(root / "outside.jsonl"))
    assert "--logs-dir" in problem["detail"]


def test_the_served_studio_has_replay_off_and_says_why(tmp_path: Path) -> None:
    server = Server(tmp_path)  # development mode: every caller has the admin scope
    try:
        status, body = server.call("GET", "/studio/api/logs")
        assert status == 200 and not body["enabled"] and "youthmode studio" in body["reason"]
        body = {"file": BASELINE, "text": AT_NINE, "log": str(server.decision_log)}
        status, problem = server.call("POST", "/studio/api/replay", body)
        assert (status, problem["title"]) == (409, "Replay unavailable")
        assert problem["errors"][0]["loc"] == ["body", "log"]
    finally:
        server.stop()


def test_the_command_refuses_a_missing_log(tmp_path: Path) -> None:
    from youthmode.cli.parser import main

    assert main(["studio", "--policies", str(CONFIGS), "--log", str(tmp_path / "no")]) == 2
    assert main(["studio", "--policies", str(CONFIGS), "--logs-dir", str(tmp_path / "no")]) == 2


# -- reading a log: the limits, in process --------------------------------------------------------
def log_bytes(tmp_path: Path) -> bytes:
    engine = youthmode.Engine.from_path(CONFIGS)
    return write_log(tmp_path / "d.jsonl", REQUESTS, engine).read_bytes()


def test_the_time_limit_stops_a_replay_between_lines(tmp_path: Path) -> None:
    ticks = iter(range(100))  # one "second" per look at the clock: 4 s, then 3 lines read
    replayer = Replayer(youthmode.Engine.from_path(CONFIGS))
    lines = CappedLines(
        io.BytesIO(log_bytes(tmp_path)), replayer, "d.jsonl", 100, 3.5, ticks.__next__
    )
    replayer.feed(lines, "d.jsonl")
    assert (lines.capped, lines.lines, replayer.report.total) == ("time", 3, 3)


def test_an_overlong_line_is_skipped_without_being_held(tmp_path: Path) -> None:
    data = log_bytes(tmp_path)
    first, rest = data.split(b"\n", 1)
    huge = b"x" * (3 * MAX_LINE_BYTES) + b"\n"
    edited = youthmode.Engine.from_path(curfew_at_nine(tmp_path / "edited"))
    replayer = Replayer(edited)
    lines = CappedLines(io.BytesIO(first + b"\n" + huge + rest), replayer, "d.jsonl")
    report = replayer.feed(lines, "d.jsonl")
    assert (report.total, report.replayed, dict(report.skipped)) == (11, 10, {"unreadable": 1})
    assert report.skipped_examples["unreadable"][0].line == 2
    assert report.examples["allow_to_deny"][1].line == 3  # the numbers after it stay right
    assert lines.consumed == len(data) + len(huge) and lines.capped is None
