"""The evaluators of issue 15's rule kinds: quiet hours read on another clock, and
cumulative-use warnings.

A `quiet_hours` rule reads the local time of its own zone (the subject's `subject.timezone`, a
fixed zone, or the policy's when the subject gave none), not the policy's. The timeline's
candidates are the policy zone's edges and midnights, so such a rule names its own next change
(`next_change`): the next window edge or local midnight of its zone, or the next change of that
zone's UTC offset, whichever comes first. Between two such instants its local time runs on
without jumps and crosses no edge, so its verdict cannot change there: `remaining_seconds` and
`next_allowed_at` stay exact across daylight-saving changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from youthmode.calendar import WEEKDAYS
from youthmode.policies.rules import CompiledRule, DayKey
from youthmode.units import format_duration, format_time_of_day

if TYPE_CHECKING:
    from youthmode.calendar import Calendar
    from youthmode.facts import Moment, RequestFacts

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAY = 86400
USER = "user"  # `zone = "user"`: the subject's zone


@dataclass(frozen=True, slots=True)
class ZonedWindow:
    """A daily window [start, end) in seconds of the zone's local day, on some days of some
    months (empty `months`: every month). Like `rules.Window`, one that crosses midnight
    belongs to the day it starts on, month included."""

    start: int
    end: int
    days: frozenset[DayKey]
    months: frozenset[int]

    def on(self, day: date, calendar: Calendar) -> bool:
        if self.months and day.month not in self.months:
            return False
        return (day.weekday(), calendar.day_type(day)) in self.days

    def contains(self, day: date, sod: int, calendar: Calendar) -> bool:
        if self.start < self.end:
            return self.start <= sod < self.end and self.on(day, calendar)
        if sod >= self.start:
            return self.on(day, calendar)
        return sod < self.end and self.on(day - timedelta(days=1), calendar)

    def describe(self) -> str:
        span = f"{format_time_of_day(self.start)}–{format_time_of_day(self.end)}"
        if not self.months:
            return span
        return span + " in " + ",".join(MONTHS[n - 1] for n in sorted(self.months))


@dataclass(frozen=True, slots=True)
class QuietHoursRule(CompiledRule):
    windows: tuple[ZonedWindow, ...] = ()
    fixed_zone: tzinfo | None = None  # None: the subject's zone (else the policy's)
    consent: str | None = None  # a guardian consent that lifts the quiet hours
    # Local seconds of day at which the verdict can change, with the midnight (86400) last.
    local_edges: tuple[int, ...] = (DAY,)
    own_clock = True

    def zone_of(self, m: Moment, r: RequestFacts) -> tzinfo:
        if self.fixed_zone is not None:
            return self.fixed_zone
        return r.timezone if r.timezone is not None else m.zone  # type: ignore[return-value]

    def _local(self, m: Moment, r: RequestFacts) -> tuple[datetime, int]:
        local = datetime.fromtimestamp(m.ts, self.zone_of(m, r))
        return local, local.hour * 3600 + local.minute * 60 + local.second

    def lifted(self, r: RequestFacts) -> bool:
        return self.consent is not None and self.consent in r.consents

    def denies(self, m: Moment, r: RequestFacts) -> bool:
        if self.lifted(r):
            return False
        local, sod = self._local(m, r)
        day = local.date()
        for window in self.windows:
            if window.contains(day, sod, m.calendar):
                return True
        return False

    def next_change(self, m: Moment, r: RequestFacts) -> int:
        """The first instant after ``m`` at which the verdict may change: the zone's next
        edge or midnight, or its next UTC offset change if one comes first."""
        zone = self.zone_of(m, r)
        local, sod = self._local(m, r)
        edge = next(e for e in self.local_edges if e > sod)  # INVARIANT: 86400 is last
        found = m.ts + edge - sod
        offset = local.utcoffset()
        if datetime.fromtimestamp(found, zone).utcoffset() == offset:
            return found
        low, high = m.ts, found  # the offset changes in (low, high]: find the first second
        while high - low > 1:
            middle = (low + high) // 2
            if datetime.fromtimestamp(middle, zone).utcoffset() == offset:
                low = middle
            else:
                high = middle
        return high

    def explain(self, m: Moment, r: RequestFacts) -> str:
        zone = self.zone_of(m, r)
        whose = (
            "fixed"
            if self.fixed_zone is not None
            else ("the subject's" if r.timezone is not None else "the policy's")
        )
        local, _ = self._local(m, r)
        spans = ", ".join(w.describe() for w in self.windows)
        where = (
            f"{local:%H:%M:%S} on {WEEKDAYS[local.weekday()]} {local.date()} in {zone} ({whose})"
        )
        if self.lifted(r):
            return f"lifted by guardian consent `{self.consent}` (local time {where})"
        inside = "inside" if self.denies(m, r) else "outside"
        return f"local time {where} is {inside} the quiet hours {spans}"


@dataclass(frozen=True, slots=True)
class UseWarningRule(CompiledRule):
    """A warning the app must show: at the day's first access, after `after` of use today,
    then every `every` (obligation `{"type": "warning", "id", "after_seconds"}`)."""

    warning: str = ""
    first_access: bool = False
    after: int | None = None
    every: int | None = None
    obligation = True

    def denies(self, m: Moment, r: RequestFacts) -> bool:
        return False  # INVARIANT: a warning never denies

    def due_in(self, m: Moment) -> int | None:
        """Seconds of further use until the warning is due (0: now); None: not again today."""
        used = m.today_seconds
        if self.first_access and used == 0:
            return 0
        if self.after is None:
            return None
        if used <= self.after:
            return self.after - used
        if self.every is None:
            return None
        return -(used - self.after) % self.every

    def explain(self, m: Moment, r: RequestFacts) -> str:
        due = self.due_in(m)
        when = "not due again today" if due is None else f"due after {format_duration(due)}"
        if due == 0:
            when = "due now"
        return f"used today {m.today_seconds}s: warning `{self.warning}` {when}"
