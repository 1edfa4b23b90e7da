"""The joint timeline: deny if any line denies, the least remaining time, and the first instant
at which every line allows, checked against deciding each line on its own."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime
from typing import Any

import pytest
from random_requests import random_request, shifted

import youthmode
from youthmode.joint import JointTimeline
from youthmode.request import read
from youthmode.timeline import Timeline


def lines_for_ages(
    engine: youthmode.Engine, request: dict[str, Any], ages: range
) -> tuple[list[Timeline], list[dict[str, Any]]]:
    policy, at, facts = read(request, engine.policies, engine.default_policy, datetime.now(UTC))
    lines, requests = [], []
    for age in ages:
        aged = dataclasses.replace(facts, declared_age=age, birthdate=None)
        lines.append(Timeline(policy, aged, at))
        subject = {k: v for k, v in request["subject"].items() if k != "birthdate"}
        requests.append(dict(request, subject=subject | {"age": age}))
    return lines, requests


def candidates(line: Timeline, start: int, end: int) -> set[int]:
    """Every instant in (start, end) where this line's verdict could change."""
    found, m = set(), line.moment(start)
    while True:
        ts = line._next_candidate(m, in_use=False)
        if ts >= end:
            return found
        found.add(ts)
        m = line.moment(ts)


def test_an_empty_joint_timeline_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one line"):
        JointTimeline([])


@pytest.mark.parametrize("seed", range(300))
def test_joint_answers_match_each_age_decided_alone(engine: youthmode.Engine, seed: int) -> None:
    rng = random.Random(seed)
    request = random_request(rng)
    low = rng.randrange(0, 20)
    ages = range(low, low + rng.randrange(1, 7))
    lines, requests = lines_for_ages(engine, request, ages)
    alone = [engine.decide(r) for r in requests]
    joint = JointTimeline(lines)
    moments = joint.start()
    denied = joint.denials(moments)
    assert [bool(d) for d in denied] == [not d.allowed for d in alone]
    if not any(denied):
        want = [d.remaining_seconds for d in alone if d.remaining_seconds is not None]
        assert joint.remaining_seconds(moments) == (min(want) if want else None)
        return
    found = joint.next_allowed(moments)
    at_ts = lines[0].at_ts
    singles = [d.next_allowed_at for d in alone if not d.allowed]
    if any(s is None for s in singles):
        assert found is None  # some age never allows within the horizon
        return
    if found is None:
        return  # every age allows at some point, never all together within 14 days
    assert found >= max(int(s.timestamp()) for s in singles if s is not None)
    when = datetime.fromtimestamp(found, UTC)
    for r in requests:  # every age is allowed at the answer...
        assert engine.decide(shifted(r, when, in_use=False)).allowed
    earlier = set().union(*(candidates(line, at_ts, found) for line in lines))
    for ts in sorted(earlier):  # ...and at no instant before it where a verdict could change
        instant = datetime.fromtimestamp(ts, UTC)
        verdicts = [engine.decide(shifted(r, instant, in_use=False)).allowed for r in requests]
        assert not all(verdicts), f"all ages allowed at {instant.isoformat()}, before {when}"


INTERLEAVED = """
[policy]
id = "interleaved"
version = "1"
timezone = "Asia/Shanghai"

[[bands]]
id = "young"
from = 0
to = 12

[[bands]]
id = "older"
from = 12

[catalog.actions."app.use"]
metered = true

[[rules]]
id = "young-hours"
kind = "allow_window"
bands = ["young"]
actions = ["app.use"]
windows = [
    { days = ["*"], between = ["10:00", "10:15"] },
    { days = ["*"], between = ["13:00", "14:00"] },
]
message = { zh-CN = "不在时段内", en = "Outside the hours" }

[[rules]]
id = "older-hours"
kind = "allow_window"
bands = ["older"]
actions = ["app.use"]
windows = [{ days = ["*"], between = ["12:00", "13:30"] }]
message = { zh-CN = "不在时段内", en = "Outside the hours" }
"""


def test_the_walk_goes_past_an_instant_where_one_line_denies_again(tmp_path: Any) -> None:
    (tmp_path / "interleaved.toml").write_text(INTERLEAVED, encoding="utf-8")
    engine = youthmode.Engine.from_path(tmp_path)
    request = {"subject": {"age": 11}, "action": "app.use", "at": "2026-11-23T09:00:00+08:00"}
    lines, _ = lines_for_ages(engine, request, range(11, 13))
    joint = JointTimeline(lines)
    moments = joint.start()
    assert all(joint.denials(moments))
    # Alone, 11 may go on at 10:00 and 12 at 12:00; at 12:00 the 11-year-old's window is shut
    # again, and both are first allowed together at 13:00.
    assert [
        datetime.fromtimestamp(line.next_allowed(m), UTC).hour
        for line, m in zip(lines, moments, strict=True)
    ] == [2, 4]
    found = joint.next_allowed(moments)
    assert found is not None
    assert datetime.fromtimestamp(found, UTC).isoformat() == "2026-11-23T05:00:00+00:00"
    assert not any(joint.denials([line.moment(found) for line in lines]))


def test_the_least_remaining_time_wins(tmp_path: Any) -> None:
    (tmp_path / "interleaved.toml").write_text(INTERLEAVED, encoding="utf-8")
    engine = youthmode.Engine.from_path(tmp_path)
    request = {"subject": {"age": 11}, "action": "app.use", "at": "2026-11-23T13:10:00+08:00"}
    lines, _ = lines_for_ages(engine, request, range(11, 13))
    joint = JointTimeline(lines)
    moments = joint.start()
    assert not any(joint.denials(moments))
    # 11 may go on until 14:00, 12 until 13:30: together, 20 minutes.
    assert [line.remaining_seconds(m) for line, m in zip(lines, moments, strict=True)] == [
        3000,
        1200,
    ]
    assert joint.remaining_seconds(moments) == 1200
