"""Day types for a policy: `workday`, `weekend`, `holiday` or `makeup_workday`.

Official rest days come from the `holidays` package, plus per-policy overrides from TOML. For
countries whose rest days are set each year by a published notice (China's 调休 schedule), a
year counts as official only when the data has that year's schedule (its make-up working days
are known) or an override declares it. Other years fall back to plain weekdays and are reported
by ``coverage()`` rather than guessed: the package computes holidays for unpublished years
without the make-up working days, which would silently give children extra game days.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import holidays

DayType = Literal["workday", "weekend", "holiday", "makeup_workday"]
DAY_TYPES: tuple[DayType, ...] = ("workday", "weekend", "holiday", "makeup_workday")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Countries whose rest days depend on a yearly government notice with swapped working days.
SCHEDULED_COUNTRIES = frozenset({"CN", "CHN"})


@dataclass(frozen=True, slots=True)
class CalendarOverrides:
    """Extra rest days and working days, and years an override file declares complete."""

    rest_days: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()
    declared_years: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class YearCoverage:
    year: int
    official: bool
    source: str


def supported_countries() -> list[str]:
    """Country codes (with aliases) the holidays package has a calendar for.

    Read from the package's registry, which names every country without importing it:
    `holidays.list_supported_countries()` imports all ~250 country modules (about 65 ms), a
    third of a policy load.
    """
    try:
        from holidays.registry import EntityLoader

        return sorted(EntityLoader.get_country_codes(include_aliases=True))
    except (ImportError, AttributeError):  # an older or reorganised package
        return sorted(holidays.list_supported_countries())


class Calendar:
    """Day types per local date, computed once per year and cached (thread-safe)."""

    def __init__(self, country: str | None, overrides: CalendarOverrides | None = None) -> None:
        self.country = country
        self.overrides = overrides or CalendarOverrides()
        self._years: dict[int, dict[date, DayType]] = {}
        self._official: dict[int, bool] = {}
        self._lock = threading.Lock()

    def day_type(self, day: date) -> DayType:
        year = self._years.get(day.year)
        if year is None:
            year = self._load_year(day.year)
        return year.get(day) or ("weekend" if day.weekday() >= 5 else "workday")

    def warm(self, years: Iterable[int]) -> None:
        """Compute these years now, so no decision pays for it (the first costs an import)."""
        for year in years:
            if year not in self._years:
                self._load_year(year)

    def is_official(self, year: int) -> bool:
        if year not in self._official:
            self._load_year(year)
        return self._official[year]

    def coverage(self, years: Iterable[int]) -> list[YearCoverage]:
        out = []
        for year in years:
            official = self.is_official(year)
            if year in self.overrides.declared_years:
                source = "policy overrides"
            elif official and self.country:
                source = f"holidays package ({self.country})"
            else:
                source = "plain weekdays (no official schedule)"
            out.append(YearCoverage(year, official, source))
        return out

    def _load_year(self, year: int) -> dict[date, DayType]:
        with self._lock:
            if year not in self._years:
                rest, working, official = self._package_year(year)
                self._official[year] = official or year in self.overrides.declared_years
                self._years[year] = _day_types(year, rest, working, self.overrides)
            return self._years[year]

    def _package_year(self, year: int) -> tuple[set[date], set[date], bool]:
        """Rest days and weekend working days the package has for the year, and if official."""
        if not self.country:
            return set(), set(), True
        # Neighbouring years too: a rest window can cross New Year.
        data = holidays.country_holidays(self.country, years=[year - 1, year, year + 1])
        working = {d for d in getattr(data, "weekend_workdays", set()) if abs(d.year - year) <= 1}
        if self.country in SCHEDULED_COUNTRIES:
            official = any(d.year == year for d in working)
            if not official:
                return set(), set(), False
        return set(data.keys()), working, True


def _day_types(
    year: int, rest: set[date], working: set[date], overrides: CalendarOverrides
) -> dict[date, DayType]:
    """Types of the non-plain days of ``year``; plain days are left out of the map."""
    rest = (rest | overrides.rest_days) - overrides.working_days
    working = (working | overrides.working_days) - overrides.rest_days
    out: dict[date, DayType] = {}
    day = date(year, 1, 1)
    while day.year == year:
        if day in working:
            out[day] = "makeup_workday" if day.weekday() >= 5 else "workday"
        elif day in rest or _inside_rest_window(day, rest, working):
            out[day] = "holiday"
        day += timedelta(days=1)
    return out


def _inside_rest_window(day: date, rest: set[date], working: set[date]) -> bool:
    """A weekend day joined to an official rest day by other days off is part of that window.

    The yearly notice announces windows such as "2月15日至23日放假": the weekend days inside
    are holiday days, while a weekend next to a make-up working day is an ordinary weekend.
    """
    if day.weekday() < 5:
        return False

    def off(d: date) -> bool:
        return d in rest or (d.weekday() >= 5 and d not in working)

    for step in (timedelta(days=-1), timedelta(days=1)):
        probe = day + step
        while off(probe):
            if probe in rest:
                return True
            probe += step
    return False
