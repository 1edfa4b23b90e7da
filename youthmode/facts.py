"""Facts a decision rests on: the request's static facts, and the facts of one moment.

`RequestFacts` is built once per decision from the parsed request. A `Moment` is the state at one
instant: local time in the policy's zone, day type, age and band, and the usage counters as they
stand then. The timeline builds moments for the instants where a decision could change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from youthmode.calendar import WEEKDAYS, Calendar


def flip_date(birth: date, year: int, rollover: str) -> date:
    """The local date on which someone born on ``birth`` is one year older, in ``year``.

    `next_day` follows the Civil Code's period rules (arts. 201-202): the year completes at the
    end of the anniversary, so the new age starts the day after. For a 29 February birth the
    anniversary in a common year is 28 February, the month's last day, so both readings give
    1 March.
    """
    try:
        anniversary = date(year, birth.month, birth.day)
    except ValueError:  # 29 February in a common year
        return date(year, 3, 1)
    return anniversary + timedelta(days=1) if rollover == "next_day" else anniversary


def age_on(birth: date, day: date, rollover: str) -> int:
    years = day.year - birth.year
    if day < flip_date(birth, day.year, rollover):
        years -= 1
    return max(years, 0)


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What does not change over a decision's timeline."""

    action: str
    metered: bool
    verified: bool
    birthdate: date | None
    declared_age: int | None
    amount: Decimal | None
    category: str | None
    app: str | None
    min_age: int | None
    recipient: str | None
    resource: Mapping[str, Any]
    consents: frozenset[str]
    exemptions: frozenset[str]
    exempt_apps: frozenset[str]
    today_seconds: int
    session_seconds: int
    day_spent: Decimal
    month_spent: Decimal
    at_date: date | None = None
    guardian_daily_limit: int | None = None
    guardian_curfews: tuple[tuple[int, int], ...] = ()
    extra_seconds: int = 0


class Moment:
    """The facts at one instant. Plain slots class: built many times per decision."""

    __slots__ = (
        "age",
        "band",
        "calendar",
        "date",
        "day_spent",
        "day_type",
        "local",
        "month_spent",
        "session_seconds",
        "sod",
        "today_seconds",
        "ts",
        "weekday",
    )

    def __init__(self, ts: int, local: datetime, calendar: Calendar) -> None:
        self.ts = ts
        self.local = local
        self.date = local.date()
        self.sod = local.hour * 3600 + local.minute * 60 + local.second
        self.weekday = self.date.weekday()
        self.calendar = calendar
        self.day_type: str = calendar.day_type(self.date)
        self.age: int | None = None
        self.band = "unknown"
        self.today_seconds = 0
        self.session_seconds = 0
        self.day_spent = Decimal(0)
        self.month_spent = Decimal(0)

    def previous_day(self) -> tuple[int, str]:
        day = self.date - timedelta(days=1)
        return day.weekday(), self.calendar.day_type(day)

    def clock(self) -> str:
        return self.local.strftime("%H:%M:%S")

    def weekday_name(self) -> str:
        return WEEKDAYS[self.weekday]
