"""The cn-baseline calendar as an integrator would hard-code it: 2025 and 2026 official schedules.

Used by the hand-written floor and by the Cedar glue (Cedar has no calendar). The data is the
State Council notices as summarised in the team's research notes (regulations-cn section 3 and
its 2025 line): `holiday` = every day of an official rest window, weekend days included;
`makeup_workday` = a weekend day made a working day (调休上班). Other years: plain weekdays.
Shanghai has had no daylight saving time since 1991, so local time is a fixed UTC+8.
"""

from __future__ import annotations

from datetime import date, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")


def _span(first: str, last: str) -> list[date]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


REST_WINDOWS = [
    # 2025 (国办发明电〔2024〕12号)
    ("2025-01-01", "2025-01-01"),
    ("2025-01-28", "2025-02-04"),
    ("2025-04-04", "2025-04-06"),
    ("2025-05-01", "2025-05-05"),
    ("2025-05-31", "2025-06-02"),
    ("2025-10-01", "2025-10-08"),
    # 2026 (国务院办公厅 2025-11-04)
    ("2026-01-01", "2026-01-03"),
    ("2026-02-15", "2026-02-23"),
    ("2026-04-04", "2026-04-06"),
    ("2026-05-01", "2026-05-05"),
    ("2026-06-19", "2026-06-21"),
    ("2026-09-25", "2026-09-27"),
    ("2026-10-01", "2026-10-07"),
]
MAKEUP_WORKDAYS = [
    "2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11",
    "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10",
]  # fmt: skip

HOLIDAYS: frozenset[date] = frozenset(d for first, last in REST_WINDOWS for d in _span(first, last))
MAKEUP: frozenset[date] = frozenset(date.fromisoformat(d) for d in MAKEUP_WORKDAYS)
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def day_type(day: date) -> str:
    if day in HOLIDAYS:
        return "holiday"
    if day in MAKEUP:
        return "makeup_workday"
    return "weekend" if day.weekday() >= 5 else "workday"


def _game_days() -> frozenset[date]:
    out = set()
    for year in (2025, 2026):
        for day in _span(f"{year}-01-01", f"{year}-12-31"):
            kind = day_type(day)
            if kind == "holiday" or (day.weekday() >= 4 and kind != "makeup_workday"):
                out.add(day)
    return frozenset(out)


GAME_DAYS_2025_2026 = _game_days()


def is_game_day(day: date) -> bool:
    """A day of an official rest window, or a Fri/Sat/Sun that is not a make-up working day."""
    if 2025 <= day.year <= 2026:
        return day in GAME_DAYS_2025_2026
    return day.weekday() >= 4  # no official schedule: plain weekdays
