"""Facts a decision rests on: the request's static facts, and the facts of one moment.

`RequestFacts` is built once per decision from the parsed request. A `Moment` is the state at one
instant: local time in the policy's zone, day type, age and band, and the usage counters as they
stand then. The timeline builds moments for the instants where a decision could change.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from youthmode.age_signals import AgeSignal
from youthmode.calendar import WEEKDAYS, Calendar
from youthmode.units import UnitError, parse_time_of_day

ZERO = Decimal(0)


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


def curfew_windows(windows: Iterable[Sequence[str]]) -> tuple[tuple[int, int], ...]:
    """A guardian's curfews as sorted, distinct (start, end) seconds of day; empty ones dropped.

    Raises UnitError for a time that does not parse."""
    out = {(parse_time_of_day(w[0]), parse_time_of_day(w[1])) for w in windows}
    return tuple(sorted(w for w in out if w[0] != w[1]))


def plain_curfew_windows(windows: list[Any]) -> tuple[tuple[int, int], ...] | None:
    """`curfew_windows` of windows as JSON gives them, each a list of two strings; None for
    any other shape or a time that does not parse (the caller's model then words it)."""
    for window in windows:
        if type(window) is not list or len(window) != 2:
            return None
        if type(window[0]) is not str or type(window[1]) is not str:
            return None
    try:
        return curfew_windows(windows)
    except UnitError:
        return None


def age_on(birth: date, day: date, rollover: str) -> int:
    """Whole years on ``day``: ``day`` compared with `flip_date` in its year, by month and day
    as numbers (no date built: the fast path asks once or more a decision). The same answer
    for a 29 February birth: in a common year no day falls between 28 February and the
    1 March flip, so "before 29 February" and "on or before it" are "before 1 March"; and a
    31 December flip `next_day` is in the next year, after every day of this one.
    tests/test_fastpath_parts.py holds it to `flip_date` for any dates."""
    years = day.year - birth.year
    this, born = day.month * 32 + day.day, birth.month * 32 + birth.day
    if this < born or (this == born and rollover == "next_day"):
        years -= 1
    return max(years, 0)


@dataclass(slots=True)
class RequestFacts:
    """What does not change over a decision's timeline. Never mutated once built.

    Not a frozen dataclass only because freezing makes construction four times slower
    (every field goes through `object.__setattr__`), and one is built per decision.
    """

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
    # CONTRACT section 6 (set by the typed route; the plain route leaves them to it):
    age_signals: tuple[AgeSignal, ...] = ()
    jurisdiction: str | None = None
    app_consent: str | None = None
    linked: bool = False
    app_today_seconds: int = 0
    week_seconds: int = 0
    # How the age a rule sees was established: the method of the age signal that counted
    # ("operator" for subject.age / subject.birthdate); None when no age is known. Read by
    # `minimum_age` and `require_age_assurance` rules with `methods`.
    age_method: str | None = None
    # Issue 15: the subject's own zone (`subject.timezone`), read by `quiet_hours` rules.
    timezone: tzinfo | None = None


# The parts of a request's facts, as `request_facts` takes them (and request.py reads them):
SubjectFacts = tuple[bool, date | None, int | None]  # verified, birthdate, declared age
UsageFacts = tuple[int, int, Decimal, Decimal]  # today, session seconds; day, month spent
# consents, exemptions, exempt apps, a guardian's daily limit, extra seconds, curfews
GuardianFacts = tuple[
    frozenset[str], frozenset[str], frozenset[str], int | None, int, tuple[tuple[int, int], ...]
]
NOTHING: frozenset[str] = frozenset()
NO_USAGE: UsageFacts = (0, 0, ZERO, ZERO)
NO_GUARDIAN: GuardianFacts = (NOTHING, NOTHING, NOTHING, None, 0, ())
# age signals, jurisdiction, the guardian's app consent and link, the app's use today, the
# week's use
WorldFacts = tuple[tuple[AgeSignal, ...], str | None, str | None, bool, int, int]
NO_WORLD: WorldFacts = ((), None, None, False, 0, 0)


def request_facts(
    action: str,
    metered: bool,
    subject: SubjectFacts,
    resource: Mapping[str, Any],
    usage: UsageFacts,
    guardian: GuardianFacts,
    at_date: date | None,
    world: WorldFacts = NO_WORLD,
    timezone: tzinfo | None = None,
) -> RequestFacts:
    """`RequestFacts` from values already read and checked: the one place they are built, for
    both of request.py's routes and for the points `youthmode diff` and `floor` evaluate.

    ``timezone``: the subject's zone, when the request gives one.
    ``resource``: the resource's fields by name (`amount`, `category`, `app`, `min_age` and
    `recipient` read from it, absent ones as None), empty for a request without one.
    """
    verified, birthdate, age = subject
    today, session, day_spent, month_spent = usage
    consents, exemptions, exempt_apps, daily_limit, extra_seconds, curfews = guardian
    # INVARIANT: positional, in RequestFacts's field order: binding 22 keywords costs ~0.8 µs
    # more (a dataclass __init__ matches them one by one), and the plain route is the hot
    # path. tests/test_request.py checks the field order.
    return RequestFacts(
        action,
        metered,
        verified,
        birthdate,
        age,
        resource.get("amount"),
        resource.get("category"),
        resource.get("app"),
        resource.get("min_age"),
        resource.get("recipient"),
        resource,
        consents,
        exemptions,
        exempt_apps,
        today,
        session,
        day_spent,
        month_spent,
        at_date,
        daily_limit,
        curfews,
        extra_seconds,
        *world,
        timezone=timezone,
    )


_FACT_VALUES = operator.attrgetter(*(f.name for f in dataclasses.fields(RequestFacts)))
_AGE_AT = [f.name for f in dataclasses.fields(RequestFacts)].index("declared_age")
_BIRTH_AT = [f.name for f in dataclasses.fields(RequestFacts)].index("birthdate")
_METHOD_AT = [f.name for f in dataclasses.fields(RequestFacts)].index("age_method")


def with_age(facts: RequestFacts, age: int | None, method: str | None = None) -> RequestFacts:
    """The same facts for a subject of exactly ``age`` (None: unknown), no birthdate, the age
    established by ``method`` (an age signal's).

    `dataclasses.replace` would do, at ~10 µs for 28 fields by keyword; an age range builds
    one of these per age, so read them all at once and pass them by position (~2 µs)."""
    values = list(_FACT_VALUES(facts))
    values[_AGE_AT], values[_BIRTH_AT], values[_METHOD_AT] = age, None, method
    return RequestFacts(*values)


class Day:
    """One local day of a policy's zone: its bounds as timestamps and its calendar facts.

    Built once per policy and date (see `Timeline`), so a moment inside a known day costs a
    subtraction instead of a time-zone conversion.
    """

    __slots__ = (
        "date",
        "day_type",
        "end",
        "even",
        "key",
        "official",
        "previous",
        "start",
        "weekday",
        "zone",
    )

    def __init__(self, day: date, zone: tzinfo, calendar: Calendar) -> None:
        self.date = day
        self.zone = zone
        self.start = int(datetime.combine(day, time(0), tzinfo=zone).timestamp())
        following = day + timedelta(days=1)
        self.end = int(datetime.combine(following, time(0), tzinfo=zone).timestamp())
        # `even`: the offset is the same all day, so a second of the day is `ts - start`.
        # Not so on a day with a daylight-saving change; those take the slow road.
        first = datetime.fromtimestamp(self.start, zone)
        self.even = (
            self.end - self.start == 86400
            and first.time() == time(0)
            and first.utcoffset() == datetime.fromtimestamp(self.end - 1, zone).utcoffset()
        )
        self.weekday = day.weekday()
        self.day_type: str = calendar.day_type(day)
        self.official = calendar.is_official(day.year)  # the year's, for `Facts`
        self.key = (self.weekday, self.day_type)
        before = day - timedelta(days=1)
        self.previous = (before.weekday(), calendar.day_type(before))


class Moment:
    """The facts at one instant. Plain slots class: built many times per decision."""

    __slots__ = (
        "_local",
        "_previous",
        "age",
        "app_today_seconds",
        "band",
        "calendar",
        "date",
        "day_key",
        "day_spent",
        "day_type",
        "month_spent",
        "session_seconds",
        "sod",
        "today_seconds",
        "ts",
        "week_seconds",
        "weekday",
        "zone",
    )

    def __init__(self, ts: int, local: datetime, calendar: Calendar) -> None:
        self.ts = ts
        self._local: datetime | None = local
        self.zone = local.tzinfo
        self.date = local.date()
        self.sod = local.hour * 3600 + local.minute * 60 + local.second
        self.weekday = self.date.weekday()
        self.calendar = calendar
        self.day_type: str = calendar.day_type(self.date)
        self.day_key = (self.weekday, self.day_type)
        self._previous: tuple[int, str] | None = None
        self._counters()

    @classmethod
    def within(cls, day: Day, ts: int, sod: int, calendar: Calendar) -> Moment:
        """The moment ``ts``, ``sod`` seconds into the local ``day``: no zone conversion."""
        m = cls._on_day(day, ts, sod, calendar)
        m._counters()
        return m

    @classmethod
    def of_request(
        cls,
        day: Day,
        ts: int,
        sod: int,
        calendar: Calendar,
        age: int | None,
        band: str,
        req: RequestFacts,
    ) -> Moment:
        """`within`, with the age, band and the request's own counters (the fast path's
        moment at `at`): every counter set once, not zeroed first."""
        m = cls._on_day(day, ts, sod, calendar)
        m.age = age
        m.band = band
        m.today_seconds = req.today_seconds
        m.app_today_seconds = 0
        m.week_seconds = 0
        m.session_seconds = req.session_seconds
        m.day_spent = req.day_spent
        m.month_spent = req.month_spent
        return m

    @classmethod
    def _on_day(cls, day: Day, ts: int, sod: int, calendar: Calendar) -> Moment:
        """A moment with its place in ``day`` set and its counters not yet."""
        m = cls.__new__(cls)
        m.ts = ts
        m._local = None
        m.zone = day.zone
        m.date = day.date
        m.sod = sod
        m.weekday = day.weekday
        m.calendar = calendar
        m.day_type = day.day_type
        m.day_key = day.key
        m._previous = day.previous
        return m

    def _counters(self) -> None:
        self.age: int | None = None
        self.band = "unknown"
        self.today_seconds = 0
        self.app_today_seconds = 0  # use today of the request's `resource.app`
        self.week_seconds = 0  # use this ISO week (from the local Monday 00:00)
        self.session_seconds = 0
        self.day_spent = ZERO
        self.month_spent = ZERO

    @property
    def local(self) -> datetime:
        if self._local is None:
            self._local = datetime.fromtimestamp(self.ts, self.zone)
        return self._local

    def previous_day(self) -> tuple[int, str]:
        if self._previous is None:
            day = self.date - timedelta(days=1)
            self._previous = (day.weekday(), self.calendar.day_type(day))
        return self._previous

    def clock(self) -> str:
        return self.local.strftime("%H:%M:%S")

    def weekday_name(self) -> str:
        return WEEKDAYS[self.weekday]
