"""Replay (issue 14): a decision log re-decided against another policy set.

The logs here are written by the real writer: `youthmode serve` with the decision log on a file
(the server tests), or `DecisionLog` itself. The edit replayed is the one the issue names: the
curfew moved from 22:00 to 21:00 in a copy of configs/.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIGS, ROOT
from random_requests import random_request
from test_server import Server

import youthmode
from youthmode.api import create_app  # imported before any test freezes the clock
from youthmode.authoring.replay import (
    ALLOW_TO_DENY,
    DENY_TO_ALLOW,
    REASONS_CHANGED,
    Replayer,
    ReplayError,
    replay,
)
from youthmode.server.config import ServerConfig
from youthmode.server.decision_log import DecisionLog

CURFEW = 'between = ["22:00", "06:00"]'
KID = {"age": 12, "verified": True}


def curfew_at_nine(folder: Path) -> Path:
    """A copy of configs/ (the packs, not the examples) with cn-baseline's curfew from 21:00."""
    shutil.copytree(CONFIGS, folder, ignore=shutil.ignore_patterns("examples"))
    pack = folder / "cn-baseline.toml"
    text = pack.read_text(encoding="utf-8")
    assert text.count(CURFEW) == 1
    pack.write_text(text.replace(CURFEW, 'between = ["21:00", "06:00"]'), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> youthmode.Engine:
    return youthmode.Engine.from_path(curfew_at_nine(tmp_path_factory.mktemp("p") / "edited"))


def at(clock: str, day: str = "2026-11-25") -> str:
    return f"{day}T{clock}+08:00"


def app_use(clock: str, **more: Any) -> dict[str, Any]:
    return {"subject": KID, "action": "app.use", "at": at(clock), "usage": {}, **more}


# What moving the curfew to 21:00 does, request by request (a Wednesday, a workday).
FLIPS_TO_DENY = [
    app_use("21:30:00"),
    app_use("21:00:00"),  # windows are half-open: 21:00:00 is inside the new curfew
    {**app_use("21:15:00"), "subject": {"birthdate": "2014-03-02", "verified": True}},
    {**app_use("21:40:00"), "action": "comment.post"},
]
OTHER_REASONS = [app_use("21:30:00", usage={"today_seconds": 3600})]  # daily_limit, now curfew too
UNCHANGED = [
    app_use("20:59:59"),
    app_use("22:30:00"),  # curfew before and after
    {**app_use("21:30:00"), "subject": {"age": 30, "verified": True}},
    app_use("21:30:00", resource={"category": "filed_education"}),
    app_use("21:30:00", guardian={"exemptions": ["curfew"]}),
]


def write_log(path: Path, requests: list[dict[str, Any]], engine: youthmode.Engine) -> Path:
    """Decide each request and log it with the real writer (as `youthmode serve` does)."""
    log = DecisionLog(str(path), b"k" * 32)
    for request in requests:
        log.record(engine.parse(request), engine.decide(request), 0.001)
    return path


def replay_file(path: Path, engine: youthmode.Engine, examples: int = 3) -> Any:
    with path.open("rb") as lines:
        return Replayer(engine, examples=examples).feed(lines, str(path))


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "youthmode.cli", "replay", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


# -- the real server's log ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The decision log of a real `youthmode serve`: single decisions, a batch, a subject whose
    usage the ledger fills, and a reservation-free mix of flips and non-flips."""
    root = tmp_path_factory.mktemp("served")
    server = Server(root)
    try:
        for request in FLIPS_TO_DENY[:2] + OTHER_REASONS + UNCHANGED:
            assert server.call("POST", "/v1/decisions", request)[0] == 200
        batch = {"requests": [FLIPS_TO_DENY[2], FLIPS_TO_DENY[3], {"action": "nope"}]}
        assert server.call("POST", "/v1/decisions/batch", batch)[0] == 200
        ledger = {"subject": {"id": "u-7", **KID}, "action": "app.use", "at": at("21:20:00")}
        assert server.call("POST", "/v1/decisions", ledger)[0] == 200
        # A guardian's stored waiver of the curfew: the logged request must carry it, or the
        # replay against the 21:00 curfew would flip this decision.
        waiver = {"actor": "parent", "settings": {"waivers": ["curfew"]}}
        assert server.call("PATCH", "/v1/subjects/u-8/guardian", waiver)[0] == 200
        waived = {**ledger, "subject": {"id": "u-8", **KID}, "at": at("21:30:00", "2026-12-03")}
        assert server.call("POST", "/v1/decisions", waived)[0] == 200
    finally:
        server.stop()
    yield server.decision_log


def test_moving_the_curfew_flips_exactly_the_decisions_between_21_and_22(
    server_log: Path, edited: youthmode.Engine
) -> None:
    report = replay_file(server_log, edited)
    assert report.total == report.replayed == 12  # the invalid batch item is not logged
    assert report.changes == {ALLOW_TO_DENY: 5, REASONS_CHANGED: 1}
    assert report.flipped == 5 and report.unchanged == 6 and not report.skipped
    assert report.by_action == {
        "app.use": {ALLOW_TO_DENY: 4, REASONS_CHANGED: 1},
        "comment.post": {ALLOW_TO_DENY: 1},
    }
    assert report.by_band == {"12-16": {ALLOW_TO_DENY: 5, REASONS_CHANGED: 1}}
    assert report.by_reason == {"curfew": {ALLOW_TO_DENY: 5, REASONS_CHANGED: 1}}
    flips = report.examples[ALLOW_TO_DENY]
    assert [e.at for e in flips] == [at("21:30:00"), at("21:00:00"), at("21:15:00")]
    first = flips[0]
    assert (first.before.effect, first.before.reasons) == ("allow", ())
    assert (first.after.effect, first.after.reasons, first.after.band) == (
        "deny",
        ("curfew",),
        "12-16",
    )
    assert first.source == str(server_log) and first.line == 1
    logged = json.loads(server_log.read_text(encoding="utf-8").splitlines()[0])
    assert first.decision_id == logged["decision_id"]
    [other] = report.examples[REASONS_CHANGED]
    assert (other.before.reasons, other.after.reasons) == (
        ("daily_limit",),
        ("curfew", "daily_limit"),
    )


def test_the_same_policies_flip_nothing_in_the_server_log(server_log: Path) -> None:
    report = replay_file(server_log, youthmode.Engine.from_path(CONFIGS))
    assert report.replayed == 12 and report.unchanged == 12 and not report.changes
    [(digest, count)] = report.policies["cn-baseline"].logged.items()
    assert digest == report.policies["cn-baseline"].new_digest and count == 12


def test_cli_reports_flips_and_exits_1(server_log: Path, tmp_path: Path) -> None:
    folder = curfew_at_nine(tmp_path / "edited")
    done = run_cli(server_log, "--policies", folder)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:5] == [
        "12 decisions read: 12 replayed, 0 skipped",
        "  flipped: 5 (allow → deny 5, deny → allow 0)",
        "  same effect, other reasons: 1",
        "  same outcome, other band: 0",
        "  unchanged: 6",
    ]
    assert "  curfew  allow → deny 5, same effect, other reasons 1" in lines
    assert (
        "    before: allow, band 12-16" in lines
        and "    after:  deny (curfew), band 12-16" in lines
    )
    as_json = run_cli(server_log, "--policies", folder, "--json", "--examples", "1")
    body = json.loads(as_json.stdout)
    assert as_json.returncode == 1 and body["flipped"] == 5
    assert body["changes"] == {
        ALLOW_TO_DENY: 5,
        DENY_TO_ALLOW: 0,
        REASONS_CHANGED: 1,
        "band_changed": 0,
    }
    assert [len(body["examples"][kind]) for kind in (ALLOW_TO_DENY, REASONS_CHANGED)] == [1, 1]
    assert body["examples"][ALLOW_TO_DENY][0]["after"] == {
        "effect": "deny",
        "band": "12-16",
        "reasons": ["curfew"],
    }


def test_cli_exits_0_when_nothing_flips(server_log: Path) -> None:
    done = run_cli(server_log, server_log, "--policies", CONFIGS)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("24 decisions read: 24 replayed, 0 skipped\n  flipped: 0 ")
    help_text = " ".join(run_cli("--help").stdout.split())
    assert "Exit 0: nothing flips; 1: some decision flips;" in help_text


# -- the log writer's log -----------------------------------------------------------------------
def test_same_policies_flip_nothing_on_random_requests(
    tmp_path: Path, engine: youthmode.Engine
) -> None:
    """Property: replaying a log against the policies that wrote it changes no decision (ages
    near birthdays, 29 February, every window edge, caps, guardian settings: random_requests)."""
    rng = random.Random(14)
    requests = [random_request(rng) for _ in range(1500)]
    log = write_log(tmp_path / "d.jsonl", requests, engine)
    report = replay_file(log, youthmode.Engine.from_path(CONFIGS))
    assert report.total == report.replayed == 1500
    assert report.unchanged == 1500 and not report.changes and not report.skipped


def test_library_function_on_lines_and_the_deny_to_allow_direction(
    tmp_path: Path, edited: youthmode.Engine, engine: youthmode.Engine
) -> None:
    """Replaying the edited policy's log against the shipped one: the same flips, reversed."""
    log = write_log(tmp_path / "d.jsonl", FLIPS_TO_DENY + UNCHANGED, edited)
    text = log.read_text(encoding="utf-8").splitlines(keepends=True)
    report = replay(text, engine)
    assert report.changes == {DENY_TO_ALLOW: 4} and report.unchanged == 5
    assert report.by_reason == {"curfew": {DENY_TO_ALLOW: 4}}
    assert report.examples[DENY_TO_ALLOW][0].source == "<log>"


def test_malformed_lines_are_skipped_with_their_line_numbers(
    tmp_path: Path, edited: youthmode.Engine, engine: youthmode.Engine
) -> None:
    log = write_log(tmp_path / "d.jsonl", FLIPS_TO_DENY, engine)
    good = log.read_text(encoding="utf-8").splitlines(keepends=True)
    bad = ["{not json\n", "\n", '{"effect": "allow"}\n', "[1, 2]\n"]
    log.write_text("".join([good[0], bad[0], good[1], bad[1], bad[2], good[2], bad[3], good[3]]))
    report = replay_file(log, edited)
    assert report.total == 7 and report.replayed == 4 and report.changes == {ALLOW_TO_DENY: 4}
    assert report.skipped == {"unreadable": 3}
    where = [(s.line, s.detail) for s in report.skipped_examples["unreadable"]]
    assert [line for line, _ in where] == [2, 5, 7]
    assert where[1][1] == "no `policy.id`" and where[2][1] == "not a JSON object"


def test_a_truncated_last_line_is_skipped_as_cut_off(
    tmp_path: Path, engine: youthmode.Engine
) -> None:
    """A server killed in the middle of a line leaves it without its newline: skipped, named."""
    log = write_log(tmp_path / "d.jsonl", FLIPS_TO_DENY + UNCHANGED, engine)
    data = log.read_bytes()
    log.write_bytes(data[: len(data) - 40])
    report = replay_file(log, engine)
    assert report.total == 9 and report.replayed == 8 and report.unchanged == 8
    assert report.skipped == {"truncated": 1}
    assert report.skipped_examples["truncated"][0].line == 9
    done = run_cli(log, "--policies", CONFIGS)
    assert done.returncode == 0 and "a cut-off last line (truncated): 1" in done.stdout


def test_a_policy_the_new_set_lacks_is_skipped(
    tmp_path: Path, engine: youthmode.Engine, edited: youthmode.Engine
) -> None:
    vn = {"policy": "vn-decree-147", "subject": KID, "action": "game.play", "at": at("21:30:00")}
    log = write_log(tmp_path / "d.jsonl", [vn, FLIPS_TO_DENY[0], vn], engine)
    only_cn = tmp_path / "only-cn"
    only_cn.mkdir()
    shutil.copy(CONFIGS / "cn-baseline.toml", only_cn)
    report = replay_file(log, youthmode.Engine.from_path(only_cn))
    assert report.skipped == {"unknown_policy": 2} and report.replayed == 1
    assert report.policies["vn-decree-147"].new_digest is None
    assert report.policies["vn-decree-147"].decisions == 2
    detail = report.skipped_examples["unknown_policy"][0].detail
    assert detail == "policy `vn-decree-147` is not in the new policy set"
    assert replay_file(log, edited).changes == {ALLOW_TO_DENY: 1}  # vn unchanged, cn flips


def test_fail_closed_denials_are_skipped(tmp_path: Path, engine: youthmode.Engine) -> None:
    log = DecisionLog(str(tmp_path / "d.jsonl"), b"k")
    request = {**app_use("12:00:00"), "usage": None, "subject": {"id": "u-1", **KID}}
    decision = engine.decide(request, store_unavailable=True)
    assert decision.reason_codes == ["store_unavailable"]
    log.record(engine.parse(request), decision, 0.001)
    report = replay_file(tmp_path / "d.jsonl", engine)
    assert report.skipped == {"failed_closed": 1} and report.replayed == 0


def test_a_reservation_record_replays_with_the_spend_in_its_facts(
    tmp_path: Path, engine: youthmode.Engine
) -> None:
    """A reservation is logged without usage (the ledger's spend is in the facts): replay reads
    the facts, or a capped purchase would wrongly flip to allow."""
    decided = {
        "subject": KID,
        "action": "game.purchase",
        "at": at("20:30:00", "2026-11-27"),
        "usage": {"month_spent": "180.00"},
        "resource": {"amount": "30.00", "currency": "CNY"},
    }
    decision = engine.decide(decided)
    assert decision.reason_codes == ["monthly_cap"]
    logged = {key: value for key, value in decided.items() if key != "usage"}
    log = DecisionLog(str(tmp_path / "d.jsonl"), b"k")
    log.record(engine.parse(logged), decision, 0.001)  # as server/ledger.py logs a reservation
    report = replay_file(tmp_path / "d.jsonl", engine)
    assert report.replayed == 1 and report.unchanged == 1


def test_replay_reads_the_logged_time_never_the_clock(
    tmp_path: Path, engine: youthmode.Engine, edited: youthmode.Engine, freezer: Any
) -> None:
    """At 23:00 in Shanghai every minor is in curfew: a replay that read the clock would flip
    the noon decisions. One record lacks `request.at`: the facts' local time stands in."""
    freezer.move_to("2026-11-25T15:00:00Z")
    log = write_log(tmp_path / "d.jsonl", [app_use("12:00:00"), app_use("12:00:00")], engine)
    first, second = log.read_text(encoding="utf-8").splitlines()
    entry = json.loads(second)
    del entry["request"]["at"]
    log.write_text(first + "\n" + json.dumps(entry) + "\n", encoding="utf-8")
    report = replay_file(log, edited)
    assert report.replayed == 2 and report.unchanged == 2
    del entry["facts"]["local_time"]
    log.write_text(first + "\n" + json.dumps(entry) + "\n", encoding="utf-8")
    assert replay_file(log, edited).skipped == {"no_time": 1}


def test_examples_are_bounded_whatever_the_log_length(
    tmp_path: Path, engine: youthmode.Engine, edited: youthmode.Engine
) -> None:
    """Streaming: a generator of lines, counted in full, with at most N examples kept."""
    log = write_log(tmp_path / "d.jsonl", FLIPS_TO_DENY, engine)
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    many = (lines[i % len(lines)] for i in range(2000))
    report = replay(many, edited, examples=2)
    assert report.changes == {ALLOW_TO_DENY: 2000}
    assert len(report.examples[ALLOW_TO_DENY]) == 2
    assert replay(iter(lines), edited, examples=0).examples == {ALLOW_TO_DENY: []}


# -- bad input ----------------------------------------------------------------------------------
def test_a_file_that_is_not_a_decision_log_is_an_error_naming_file_and_line(
    tmp_path: Path, engine: youthmode.Engine
) -> None:
    other = tmp_path / "server.log"
    other.write_text("\n[2026-11-25 12:00:00] Booting worker\nmore\n", encoding="utf-8")
    with pytest.raises(ReplayError) as caught:
        replay_file(other, engine)
    assert (caught.value.source, caught.value.line) == (str(other), 2)
    done = run_cli(other, "--policies", CONFIGS)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(
        f"youthmode: cannot replay: {other}:2: not a decision log: not JSON"
    )
    records = tmp_path / "records.jsonl"
    records.write_text('{"ts": "2026-11-25T04:00:00Z", "level": "info"}\n', encoding="utf-8")
    done = run_cli(records, "--policies", CONFIGS)
    assert done.returncode == 2
    assert f"{records}:1: not a decision log: no `policy.id`" in done.stderr


def test_a_missing_log_or_bad_flags_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    done = run_cli(missing, "--policies", CONFIGS)
    assert done.returncode == 2
    assert done.stderr == f"youthmode: cannot replay: {missing}: no such file\n"
    done = run_cli(tmp_path, "--policies", CONFIGS)
    assert done.returncode == 2 and f"{tmp_path}: not a file" in done.stderr
    done = run_cli(missing, "--examples", "-1")
    assert done.returncode == 2 and "`-1` is not a whole number of examples" in done.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "p.toml").write_text("[policy]\nid = \n", encoding="utf-8")
    done = run_cli(missing, "--policies", broken)
    assert done.returncode == 2 and "cannot load policies" in done.stderr


# -- age signals, jurisdictions, floors (CONTRACT sections 6 and 7) ------------------------------
WORLD_AT = "2026-11-27T15:00:00+07:00"
WORLD = [
    {  # acme-global with the VN floor: the per-game limit is the floor pack's
        "policy": "acme-global",
        "subject": {"age": 14, "verified": True, "jurisdiction": "VN"},
        "action": "game.play",
        "at": WORLD_AT,
        "usage": {"app_today_seconds": 2400, "today_seconds": 2400},
        "resource": {"app": "com.acme.racer"},
    },
    {  # a birthdate beaten by a narrower age range, under the AU floor
        "policy": "acme-global",
        "subject": {
            "birthdate": "2008-05-01",
            "jurisdiction": "AU",
            "age_signals": [
                {"source": "k-id", "lower": 13, "upper": 15, "method": "estimation"},
                {"source": "self_declared", "lower": 19, "upper": None, "method": "self_declared"},
            ],
        },
        "action": "app.use",
        "at": WORLD_AT,
    },
    {
        "policy": "us-tx-sb2420",
        "subject": {"age": 15, "jurisdiction": "US-TX"},
        "action": "game.purchase",
        "guardian": {"app_consent": "approved", "linked": True, "consents": ["game.purchase"]},
        "resource": {"app": "com.acme.racer", "amount": "4.99", "currency": "USD"},
        "at": WORLD_AT,
    },
]


def test_world_requests_replay_through_their_floors(tmp_path: Path) -> None:
    shipped = youthmode.Engine.from_path(CONFIGS, CONFIGS / "examples")
    log = write_log(tmp_path / "d.jsonl", WORLD, shipped)
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [p["id"] for p in entries[0]["policies"]] == ["acme-global", "vn-decree-147"]
    assert entries[1]["request"]["subject"]["age"] == 18 and "birthdate" not in str(entries[1])
    same = replay_file(log, shipped)
    assert same.replayed == 3 and same.unchanged == 3
    # The VN pack's per-game limit cut from 60 to 30 minutes: acme-global's VN decision flips.
    edited = tmp_path / "edited"
    shutil.copytree(CONFIGS, edited)
    pack = edited / "vn-decree-147.toml"
    text = pack.read_text(encoding="utf-8")
    assert text.count('limit = "60m"') == 1
    pack.write_text(text.replace('limit = "60m"', 'limit = "30m"'), encoding="utf-8")
    report = replay_file(log, youthmode.Engine.from_path(edited, edited / "examples"))
    assert report.changes == {ALLOW_TO_DENY: 1} and report.unchanged == 2
    [flip] = report.examples[ALLOW_TO_DENY]
    assert (flip.policy, flip.line, flip.after.reasons) == ("acme-global", 1, ("app_daily_limit",))


def test_a_request_the_new_set_rejects_is_skipped_with_why(
    tmp_path: Path, engine: youthmode.Engine
) -> None:
    log = write_log(tmp_path / "d.jsonl", [app_use("12:00:00")] * 3, engine)
    first, second, third = (json.loads(line) for line in log.read_text().splitlines())
    second["request"]["action"] = "app.teleport"
    third["request"]["at"] = "noon"
    log.write_text("".join(json.dumps(e) + "\n" for e in (first, second, third)))
    report = replay_file(log, engine)
    assert report.replayed == 1 and report.skipped == {"rejected": 2}
    teleport, noon = report.skipped_examples["rejected"]
    assert teleport.line == 2 and "app.teleport" in teleport.detail
    assert noon.line == 3 and "noon" in noon.detail


def test_a_reservation_is_logged_as_decided_with_the_ledgers_guardian_and_spend(
    tmp_path: Path, engine: youthmode.Engine, freezer: Any
) -> None:
    """POST /v1/purchases/reserve decides with the ledger's spend and the guardian settings it
    stores: the logged request carries both, so the replay decides as the server did."""
    freezer.move_to("2026-11-27T12:30:00Z")  # Friday 20:30 in Shanghai, 06:30 in Texas
    log = tmp_path / "decisions.jsonl"
    config = ServerConfig(
        policies=str(CONFIGS), state_dir=str(tmp_path / "s"), decision_log=str(log), log_key="k"
    )
    client = create_app(config).test_client()
    stored = {"consents": ["game.purchase"], "app_consent": "approved"}
    patch = {"actor": "parent", "settings": stored, "policy": "us-tx-sb2420"}
    assert client.patch("/v1/subjects/teen-1/guardian", json=patch).status_code == 200
    spent = {"subject_id": "kid-1", "id": "p-1", "at": "2026-11-27T20:00:00+08:00"}
    spent |= {"amount": "180.00", "currency": "CNY", "action": "game.purchase"}
    assert client.post("/v1/purchases", json=spent).status_code == 200
    orders = [
        {"subject_id": "teen-1", "order_id": "o-1", "policy": "us-tx-sb2420", "amount": "4.99"},
        {"subject_id": "kid-1", "order_id": "o-2", "amount": "30.00"},
    ]
    effects = []
    for order in orders:
        body = {**order, "action": "game.purchase", "subject": {"age": 15, "verified": True}}
        effects.append(client.post("/v1/purchases/reserve", json=body).get_json()["effect"])
    assert effects == ["allow", "deny"]  # consented in Texas; over the monthly cap in China
    teen, kid = (json.loads(line) for line in log.read_text().splitlines())
    assert teen["request"]["guardian"]["consents"] == ["game.purchase"]
    assert teen["request"]["guardian"]["app_consent"] == "approved"
    assert kid["request"]["usage"]["month_spent"] == "180.00" and kid["reasons"] == ["monthly_cap"]
    report = replay_file(log, youthmode.Engine.from_path(CONFIGS))
    assert report.replayed == 2 and report.unchanged == 2, report.examples


def test_a_moved_band_boundary_is_a_band_change_or_a_flip(
    tmp_path: Path, engine: youthmode.Engine
) -> None:
    """16-18 starting at 15: a 15-year-old's morning use is the same answer in another band; at
    90 minutes used, the 16-18 budget (120m) allows what the 12-16 budget (60m) denied."""
    fifteen = {"age": 15, "verified": True}
    requests = [
        {**app_use("10:00:00"), "subject": fifteen},
        {**app_use("10:00:00", usage={"today_seconds": 5400}), "subject": fifteen},
        app_use("10:00:00"),  # 12: unchanged
    ]
    log = write_log(tmp_path / "d.jsonl", requests, engine)
    edited = tmp_path / "edited"
    edited.mkdir()
    pack = (CONFIGS / "cn-baseline.toml").read_text(encoding="utf-8")
    moved = pack.replace('id = "12-16"\nfrom = 12\nto = 16', 'id = "12-16"\nfrom = 12\nto = 15')
    moved = moved.replace('id = "16-18"\nfrom = 16', 'id = "16-18"\nfrom = 15')
    assert moved.count("to = 15") == 1 and moved.count("from = 15") == 1
    (edited / "cn-baseline.toml").write_text(moved, encoding="utf-8")
    report = replay_file(log, youthmode.Engine.from_path(edited))
    assert report.changes == {"band_changed": 1, DENY_TO_ALLOW: 1} and report.unchanged == 1
    [moved_band] = report.examples["band_changed"]
    assert (moved_band.before.band, moved_band.after.band) == ("12-16", "16-18")
    assert report.by_band == {"12-16": {"band_changed": 1, DENY_TO_ALLOW: 1}}
    assert report.by_reason == {"daily_limit": {DENY_TO_ALLOW: 1}}
