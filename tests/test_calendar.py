"""Day types: the official CN calendar, per-policy overrides, and unofficial years."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import CONFIGS

import youthmode
from youthmode.calendar import Calendar, CalendarOverrides

CN = Calendar("CN")


def _days(first: str, last: str) -> list[date]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("2026-01-01", "2026-01-03"),
        ("2026-02-15", "2026-02-23"),
        ("2026-04-04", "2026-04-06"),
        ("2026-05-01", "2026-05-05"),
        ("2026-06-19", "2026-06-21"),
        ("2026-09-25", "2026-09-27"),
        ("2026-10-01", "2026-10-07"),
        ("2025-01-28", "2025-02-04"),
        ("2025-10-01", "2025-10-08"),
    ],
)
def test_official_rest_windows_are_holidays(first: str, last: str) -> None:
    assert {CN.day_type(d) for d in _days(first, last)} == {"holiday"}


@pytest.mark.parametrize(
    "day",
    [
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
        "2025-01-26",
        "2025-02-08",
        "2025-04-27",
        "2025-09-28",
        "2025-10-11",
    ],
)
def test_makeup_working_days(day: str) -> None:
    assert CN.day_type(date.fromisoformat(day)) == "makeup_workday"


def test_plain_days_and_days_next_to_windows() -> None:
    assert CN.day_type(date(2026, 11, 27)) == "workday"
    assert CN.day_type(date(2026, 11, 28)) == "weekend"
    assert CN.day_type(date(2025, 1, 25)) == "weekend"  # before a make-up Sunday: ordinary
    assert CN.day_type(date(2026, 6, 1)) == "workday"  # Children's Day is not a rest day
    assert CN.day_type(date(2026, 12, 31)) == "workday"


def test_2026_has_163_game_days() -> None:
    days = _days("2026-01-01", "2026-12-31")
    game_days = [
        d
        for d in days
        if CN.day_type(d) == "holiday" or (d.weekday() >= 4 and CN.day_type(d) != "makeup_workday")
    ]
    assert len(game_days) == 163


def test_unofficial_year_falls_back_to_plain_weekdays() -> None:
    assert CN.is_official(2026) and not CN.is_official(2027)
    # The package computes a 2027 Spring Festival without make-up days; we do not trust it.
    assert CN.day_type(date(2027, 2, 9)) == "workday"
    assert CN.day_type(date(2027, 2, 6)) == "weekend"
    [row] = CN.coverage([2027])
    assert not row.official and "plain weekdays" in row.source


def test_overrides_declare_a_year_and_add_days() -> None:
    calendar = Calendar(
        "CN",
        CalendarOverrides(
            rest_days=frozenset(_days("2027-02-06", "2027-02-14")),
            working_days=frozenset({date(2027, 2, 20)}),
            declared_years=frozenset({2027}),
        ),
    )
    assert calendar.is_official(2027)
    assert calendar.day_type(date(2027, 2, 9)) == "holiday"
    assert calendar.day_type(date(2027, 2, 20)) == "makeup_workday"
    assert calendar.coverage([2027])[0].source == "policy overrides"


def test_override_can_turn_an_official_day_around() -> None:
    calendar = Calendar(
        "CN",
        CalendarOverrides(
            rest_days=frozenset({date(2026, 11, 27)}),
            working_days=frozenset({date(2026, 1, 2)}),
        ),
    )
    assert calendar.day_type(date(2026, 11, 27)) == "holiday"
    assert calendar.day_type(date(2026, 1, 2)) == "workday"


def test_no_country_means_plain_weekdays() -> None:
    plain = Calendar(None)
    assert plain.day_type(date(2026, 10, 1)) == "workday"
    assert plain.is_official(2031)


def test_pack_with_2027_schedule_gives_game_days(tmp_path: Path) -> None:
    (tmp_path / "cn-baseline.toml").write_bytes((CONFIGS / "cn-baseline.toml").read_bytes())
    (tmp_path / "school.toml").write_text(
        '[policy]\nid = "school"\nversion = "1"\nextends = "cn-baseline"\n\n'
        "[calendar]\nofficial_years = [2027]\n"
        'rest_days = ["2027-02-06..2027-02-14", 2027-01-01]\n'
        "working_days = [2027-02-20]\n",
        encoding="utf-8",
    )
    engine = youthmode.Engine.from_path(tmp_path, default_policy="cn-baseline")
    request = {
        "policy": "school",
        "subject": {"age": 12, "verified": True},
        "action": "game.play",
        "at": "2027-02-09T20:30:00+08:00",
    }
    d = engine.decide(request)
    assert d.allowed and d.facts.day_type == "holiday" and d.facts.calendar_official
    base = engine.decide({**request, "policy": "cn-baseline"})
    assert base.reason_codes == ["outside_allowed_window"]
    assert not base.facts.calendar_official
    saturday = engine.decide({**request, "at": "2027-02-20T20:30:00+08:00"})
    assert saturday.reason_codes == ["outside_allowed_window"]
