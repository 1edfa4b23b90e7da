"""The timeline's cheap moments agree with a full time-zone conversion, daylight saving or not.

Inside a day whose offset does not change, the timeline finds the second of the day by
subtraction from the day's start (facts.Day). These tests walk across daylight-saving changes,
including zones whose clocks jump at midnight, and compare every moment with one built from
`datetime.fromtimestamp` as the engine used to.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import CONFIGS

import youthmode
from youthmode.facts import Moment
from youthmode.request import read_plain
from youthmode.timeline import Timeline

ZONES = (
    "Asia/Shanghai",
    "Europe/Berlin",  # 02:00 -> 03:00 and back
    "America/New_York",
    "America/Santiago",  # clocks jump at midnight: some days have no 00:00
    "America/Havana",  # 00:00 -> 01:00 as well
    "Australia/Lord_Howe",  # half-hour changes
)
# Days around each zone's changes in 2026, and a plain one.
STARTS = ("2026-03-06", "2026-03-27", "2026-04-03", "2026-09-04", "2026-10-02", "2026-10-30")


def engine_in(zone: str, tmp_path: Path) -> youthmode.Engine:
    text = (CONFIGS / "cn-baseline.toml").read_text(encoding="utf-8")
    folder = tmp_path / zone.replace("/", "_")
    folder.mkdir()
    (folder / "pack.toml").write_text(
        text.replace('timezone = "Asia/Shanghai"', f'timezone = "{zone}"'), encoding="utf-8"
    )
    return youthmode.Engine.from_path(folder)


def fields(m: Moment) -> tuple[Any, ...]:
    return (m.ts, m.date, m.sod, m.weekday, m.day_type, m.previous_day(), m.local)


@pytest.mark.parametrize("zone", ZONES)
def test_moments_across_daylight_saving_changes_match_a_full_conversion(
    zone: str, tmp_path: Path
) -> None:
    engine = engine_in(zone, tmp_path)
    policy = engine.policy(None)
    tz = ZoneInfo(zone)
    rng = random.Random(zone)
    for start in STARTS:
        at = datetime.fromisoformat(f"{start}T12:00:00").replace(tzinfo=tz)
        request = {"subject": {"age": 12}, "action": "app.use", "at": at.isoformat()}
        assert engine.decide(request).facts.local_time.utcoffset() == at.utcoffset()
        read = read_plain(request, engine.policies, engine.default_policy, at)
        assert read is not None
        line = Timeline(policy, read[2], read[1])
        ts = line.at_ts
        for _ in range(500):  # forward, as the search goes, in steps of up to 3 hours
            ts += rng.choice((1, 59, 60, 900, 1800, 3599, 3600, rng.randrange(1, 10800)))
            fast = line.moment(ts)
            slow = Moment(ts, datetime.fromtimestamp(ts, tz), policy.calendar)
            assert fields(fast) == fields(slow), (zone, datetime.fromtimestamp(ts, tz))
            for edge in (0, 3600, 7200, 21600, 72000, 79200):
                hours, rest = divmod(edge, 3600)
                wall = datetime.combine(fast.date, time(hours, rest // 60), tzinfo=tz)
                assert line._local_ts(fast, edge) == int(wall.timestamp())
            following = datetime.combine(fast.date + timedelta(days=1), time(0), tzinfo=tz)
            assert line._midnight(fast, next_day=True) == int(following.timestamp())


@pytest.mark.parametrize("zone", ZONES)
def test_decisions_near_midnight_and_curfew_on_change_days(zone: str, tmp_path: Path) -> None:
    """Curfew answers and the next allowed instant agree with the local wall clock."""
    engine = engine_in(zone, tmp_path)
    tz = ZoneInfo(zone)
    for start in STARTS:
        day = datetime.fromisoformat(start).date()
        for offset in range(3):
            for hh, mm in ((21, 59), (22, 0), (23, 30), (0, 30), (5, 59), (6, 0)):
                local = datetime.combine(day + timedelta(days=offset), time(hh, mm), tzinfo=tz)
                decision = engine.decide(
                    {"subject": {"age": 12}, "action": "app.use", "at": local.isoformat()}
                )
                wall = decision.facts.local_time
                in_curfew = wall.hour >= 22 or wall.hour < 6
                assert ("curfew" in decision.reason_codes) == in_curfew, wall
                if decision.next_allowed_at is not None:
                    assert decision.next_allowed_at.astimezone(tz).time() == time(6, 0)
