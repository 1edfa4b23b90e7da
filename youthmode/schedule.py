"""The fast path's tables: what one (action, band, waivers, exemptions) combination needs to
walk the timeline on plain integers instead of `Moment` objects.

`Timeline` (timeline.py) is the reference: it builds a `Moment` at every candidate instant and
asks every rule in force. A `Schedule` is built once per combination from the same `Active`
rules and answers the same questions with table look-ups: which window rules deny at a second
of a day of a given type (the day's segments), which daily limit applies on a day type, which
caps a day's or month's spending meets. `Walk` then visits exactly the candidate instants
`Timeline._first` visits, in the same order, so both find the same instant; the differential
tests (tests/test_fastpath.py) hold them to it.

A combination the tables do not cover (a rule kind not listed here, dated rules, reason codes
that vary, per-app or weekly counters) has no schedule: the caller takes the pure path.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Hashable
from datetime import date, datetime
from typing import Any

from youthmode.decision import policy_ref, reason_of
from youthmode.facts import ZERO, Day, Moment, RequestFacts, age_on, flip_date
from youthmode.model import Reason, Remedy, trusted
from youthmode.policies.compile import MEMO_LIMIT, CompiledPolicy
from youthmode.policies.kinds import kind_of
from youthmode.policies.rules import (
    AllowWindowRule,
    CompiledRule,
    ConsentRule,
    ContentAgeRule,
    DailyBudgetRule,
    DenyWindowRule,
    ForbidRule,
    LockoutWarningRule,
    ResourceMatchRule,
    RestReminderRule,
    SpendingCapRule,
    VerifiedRule,
    Window,
)
from youthmode.timeline import ONE_DAY, Active, active_rules, combination_key, counts_world

# Rules whose verdict only the request and the age decide (see CompiledRule.timeless); the
# schedule asks them through `denies`, once per age.
TIMELESS = (ForbidRule, VerifiedRule, ConsentRule, ContentAgeRule, ResourceMatchRule)
OBLIGATIONS = (RestReminderRule, LockoutWarningRule)
# Remedies that depend on the request only through its action, which a schedule fixes.
PLAIN_REMEDY_KINDS = frozenset(
    {
        "deny_window",
        "allow_window",
        "daily_budget",
        "spending_cap",
        "forbid",
        "require_consent",
        "require_verified",
        "content_age",
        "stranger_contact",
        "resource_match",
    }
)
DAY = 86400
NONE = ("schedule", "none")  # memo value: this combination has no schedule


class GiveUp(Exception):
    """The walk met what the tables do not cover (a daylight-saving day, a band without a
    schedule): the pure path answers instead."""


class Schedule:
    """The rules in force for one combination, sorted by what their verdicts depend on."""

    __slots__ = (
        "active",
        "all_timeless",
        "budgets",
        "caps",
        "dues",
        "edges",
        "entries",
        "obligations",
        "ref",
        "segments",
        "spending",
        "timeless",
        "verdicts",
        "waived",
        "windows",
    )

    def __init__(self, active: Active, policy: CompiledPolicy, req: RequestFacts) -> None:
        self.active = active
        # Each rule with the reason and remedy it gives when it denies: the same every time,
        # since the action is fixed (the remedy, frozen, is shared like the reason).
        self.entries = tuple(_entry(r, req) for r in active.rules)
        # What youthmode/_verdicts.c needs to judge each entry's rule without calling it.
        self.verdicts = tuple(verdict_spec(r) for r in active.rules)
        self.obligations = active.obligations
        self.dues = tuple(due_spec(r) for r in active.obligations)
        self.waived = tuple(r.code for r in active.waived)
        self.ref = policy_ref(policy)  # the schedule is the policy's: one look-up less a call
        self.spending = policy.actions[req.action].requires_amount
        self.all_timeless = active.timeless
        self.edges = active.edges
        self.timeless = tuple(r for r in active.rules if r.timeless)
        self.windows = tuple(
            (isinstance(r, DenyWindowRule), r.windows)
            for r in active.rules
            if isinstance(r, DenyWindowRule | AllowWindowRule)
        )
        self.budgets = tuple(r for r in active.rules if isinstance(r, DailyBudgetRule))
        self.caps = tuple(
            (r.period == "day", r.max)
            for r in active.rules
            if isinstance(r, SpendingCapRule) and not r.timeless
        )
        self.segments: dict[tuple[Hashable, Hashable], tuple[list[int], list[bool]]] = {}

    def window_denies(self, day: Day, sod: int) -> bool:
        """Whether a window rule denies ``sod`` seconds into ``day``: a bisect in the day's
        segments (built on first use for each day type and the day before's)."""
        key = (day.key, day.previous)
        found = self.segments.get(key)
        if found is None:
            found = self.segments[key] = self._segments(day.key, day.previous)
        starts, denied = found
        return denied[bisect_right(starts, sod) - 1]

    def _segments(
        self, key: tuple[int, str], previous: tuple[int, str]
    ) -> tuple[list[int], list[bool]]:
        cuts = sorted({0, *(e for _, ws in self.windows for w in ws for e in (w.start, w.end))})
        cuts = [c for c in cuts if c < DAY]
        return cuts, [self._windows_deny(key, previous, c) for c in cuts]

    def _windows_deny(self, key: tuple[int, str], previous: tuple[int, str], sod: int) -> bool:
        for deny, windows in self.windows:
            if any(_contains(w, key, previous, sod) for w in windows) == deny:
                return True
        return False


Entry = tuple[CompiledRule, Reason, dict[str, Any] | None, Remedy | None]


def _entry(rule: CompiledRule, req: RequestFacts) -> Entry:
    remedy = kind_of(rule).remedy(rule, req)
    shared = None if remedy is None else trusted(Remedy, remedy)
    return rule, reason_of(rule), remedy, shared


# How youthmode/_verdicts.c judges a rule (`verdict_spec`): the kinds it evaluates itself,
# and ASK for any other, whose own `denies` it calls. A spending cap's period as a number.
ASK, FORBID, VERIFIED, CONSENT, CONTENT_AGE = range(5)
DENY_WINDOW, ALLOW_WINDOW, DAILY, CAP, MATCH = range(5, 10)
PERIODS = {"transaction": 0, "day": 1, "month": 2}
PLAIN_VERDICTS: dict[type[CompiledRule], int] = {
    ForbidRule: FORBID,
    VerifiedRule: VERIFIED,
    ContentAgeRule: CONTENT_AGE,
}
WINDOW_VERDICTS: dict[type[CompiledRule], int] = {
    DenyWindowRule: DENY_WINDOW,
    AllowWindowRule: ALLOW_WINDOW,
}
REST, LOCKOUT = 1, 2  # obligations it can tell are not due (`due_spec`)


def verdict_spec(rule: CompiledRule) -> tuple[Any, ...]:
    """``rule``'s verdict as plain data: (code, timeless, what it compares). Only a rule of
    exactly a kind listed here gets its code (a subclass may judge otherwise), and only in the
    shape whose `denies` the C code repeats (tests/test_verdicts_compiled.py holds both)."""
    kind, timeless = type(rule), bool(rule.timeless)
    plain = PLAIN_VERDICTS.get(kind)
    if plain is not None:
        return (plain, timeless)
    if kind is ConsentRule and isinstance(rule, ConsentRule) and rule.below is None:
        return (CONSENT, timeless, rule.consent or None)
    if kind in WINDOW_VERDICTS and isinstance(rule, DenyWindowRule | AllowWindowRule):
        windows = tuple((w.start, w.end, w.days) for w in rule.windows)
        return (WINDOW_VERDICTS[kind], timeless, windows)
    if kind is DailyBudgetRule and isinstance(rule, DailyBudgetRule):
        if rule.per == "subject" and not rule.grant:
            by_day = dict(rule.limit_by_day) if rule.limit_by_day else None
            return (DAILY, timeless, rule.limit, by_day)
    if kind is SpendingCapRule and isinstance(rule, SpendingCapRule) and rule.period in PERIODS:
        return (CAP, timeless, PERIODS[rule.period], rule.max)
    if kind is ResourceMatchRule and isinstance(rule, ResourceMatchRule):
        return (MATCH, timeless, tuple((k, frozenset(v)) for k, v in (rule.match or {}).items()))
    return (ASK, timeless)


def due_spec(rule: CompiledRule) -> tuple[int, int]:
    """What tells that the obligation ``rule`` is not due: a rest reminder's `after` (due past
    that session), a lockout warning's `before` (due when the allow ends within it); (ASK, 0)
    for any other, which `decision.obligations_due` then asks."""
    if type(rule) is RestReminderRule and isinstance(rule, RestReminderRule):
        return (REST, rule.after)
    if type(rule) is LockoutWarningRule and isinstance(rule, LockoutWarningRule):
        return (LOCKOUT, rule.before)
    return (ASK, 0)


def _contains(w: Window, key: tuple[int, str], previous: tuple[int, str], sod: int) -> bool:
    """`Window.contains` on a second of day and day keys instead of a Moment."""
    if w.start < w.end:
        return w.start <= sod < w.end and key in w.days
    if sod >= w.start:
        return key in w.days
    return sod < w.end and previous in w.days


def covered(rule: CompiledRule) -> bool:
    """Whether the schedule's tables hold this rule's verdicts exactly."""
    kind = type(rule)
    if rule.dated or rule.variant_codes or rule.own_clock:
        return False
    if getattr(rule, "instead", None) is not None:
        return False  # two remedies (consent, use instead): the pure path words them
    if rule.obligation:
        return kind in OBLIGATIONS
    if kind_of(rule).name not in PLAIN_REMEDY_KINDS:
        return False
    if kind in TIMELESS or kind in (DenyWindowRule, AllowWindowRule, SpendingCapRule):
        return True
    if kind is DailyBudgetRule and isinstance(rule, DailyBudgetRule):
        return rule.per == "subject" and not rule.grant
    return False


def schedule_for(policy: CompiledPolicy, req: RequestFacts, band: str) -> Schedule | None:
    """The schedule of ``req``'s combination in ``band``, or None when it has none. Memoised
    on the policy like `active_rules` (bounded by MEMO_LIMIT entries), a guardian's curfews and
    daily limit part of the key. The caller checks that ``req`` carries no time grant."""
    key = combination_key("schedule", policy, req, band)
    found: Any = policy.memo.get(key)
    if found is None:
        active = active_rules(policy, req, band)
        ok = not counts_world(policy) and not active.dated and not active.variants
        ok = ok and all(covered(r) for r in (*active.rules, *active.obligations))
        if len(policy.memo) >= MEMO_LIMIT:
            policy.memo.clear()
        found = policy.memo[key] = Schedule(active, policy, req) if ok else NONE
    return None if found is NONE else found


class Walk:
    """One decision's walk along the timeline: the candidate instants `Timeline._first`
    visits, in its order, each judged from the schedules' tables."""

    __slots__ = (
        "age",
        "age_day",
        "amount",
        "at_ts",
        "policy",
        "req",
        "schedules",
        "start",
        "timeless",
    )

    def __init__(
        self, policy: CompiledPolicy, req: RequestFacts, m: Moment, schedule: Schedule, stands: bool
    ) -> None:
        """From the moment ``m`` of `at`, where ``schedule`` holds and a timeless rule
        denies or not (``stands``)."""
        self.policy = policy
        self.req = req
        self.at_ts = m.ts
        self.start = m.date
        self.schedules = {m.band: schedule}
        self.timeless = {m.age: stands}  # by age: whether a timeless rule denies
        self.age_day = m.date
        self.age = m.age
        self.amount = req.amount if req.amount is not None else ZERO

    def first(
        self, day: Day, ts: int, schedule: Schedule, stands: bool, want_allowed: bool, horizon: int
    ) -> int | None:
        """`Timeline._first` from the moment ``ts`` in ``day``: the first candidate instant
        within ``horizon`` at which the request is allowed (``want_allowed``) or, in use,
        denied. ``schedule`` and ``stands`` (a denial only an age change lifts) are those at
        ``ts``. Raises GiveUp where the tables do not reach."""
        limit = self.at_ts + horizon
        in_use = not want_allowed
        dated = self.req.birthdate is not None  # else the age, and all that hangs on it, stays
        timeless = stands
        while True:
            birthday = None
            if (want_allowed and stands) or schedule.all_timeless:
                birthday = self._next_birthday(day.date)
                found = None if birthday is None else birthday.start
            else:
                found = self._next_candidate(day, ts, schedule, in_use)
            if found is None or found > limit:
                return None
            if not day.start <= found < day.end:
                # The birthday's own day holds its first instant (on a day that is 24 hours
                # long): no time-zone conversion needed to find it.
                even = birthday is not None and birthday.even
                day = birthday if even and birthday is not None else self._day_of(day, found)
                if not day.even:
                    raise GiveUp  # a daylight-saving day: Timeline converts each instant
                if dated:
                    age = self.age_on(day.date)
                    schedule = self.schedule(age)
                    timeless = self._timeless(age, schedule, day, found)
            ts = found
            stands = timeless
            denied = timeless or self._denies(schedule, day, ts, in_use)
            if (not denied) == want_allowed:
                return ts

    def age_on(self, on: date) -> int | None:
        birth = self.req.birthdate
        if birth is None:
            return self.req.declared_age
        if on != self.age_day:
            self.age_day, self.age = on, age_on(birth, on, self.policy.age_rollover)
        return self.age

    def schedule(self, age: int | None) -> Schedule:
        band = self.policy.band_of(age)
        found = self.schedules.get(band)
        if found is None:
            found = schedule_for(self.policy, self.req, band)
            if found is None:
                raise GiveUp
            self.schedules[band] = found
        return found

    def _timeless(self, age: int | None, schedule: Schedule, day: Day, ts: int) -> bool:
        found = self.timeless.get(age, None)
        if found is None:
            m = Moment.within(day, ts, ts - day.start, self.policy.calendar)
            m.age, m.band = age, self.policy.band_of(age)
            found = self.timeless[age] = any(r.denies(m, self.req) for r in schedule.timeless)
        return found

    def _denies(self, schedule: Schedule, day: Day, ts: int, in_use: bool) -> bool:
        if schedule.windows and schedule.window_denies(day, ts - day.start):
            return True
        if schedule.budgets:
            today = self._today(day, ts, in_use)
            for rule in schedule.budgets:
                if today >= rule.limit_on(day.day_type):
                    return True
        same_day = day.date == self.start
        for per_day, cap in schedule.caps:
            if per_day:
                spent = self.req.day_spent if same_day else ZERO
            elif same_day or (day.date.year, day.date.month) == (self.start.year, self.start.month):
                spent = self.req.month_spent
            else:
                spent = ZERO
            if spent + self.amount > cap:
                return True
        return False

    def _today(self, day: Day, ts: int, in_use: bool) -> int:
        """Today's use at ``ts``, as `Timeline._moment` counts it."""
        same_day = day.date == self.start
        if in_use and self.req.metered:
            return self.req.today_seconds + ts - self.at_ts if same_day else ts - day.start
        return self.req.today_seconds if same_day else 0

    def _next_candidate(self, day: Day, ts: int, schedule: Schedule, in_use: bool) -> int:
        best = day.end
        sod = ts - day.start
        for edge in schedule.edges:
            if edge > sod:
                if ts < day.start + edge < best:
                    best = day.start + edge
                break
        if in_use and self.req.metered and schedule.budgets:
            today = self._today(day, ts, True)
            for rule in schedule.budgets:
                left = rule.limit_on(day.day_type) - today
                if 0 < left and ts + left < best:
                    best = ts + left
        return best

    def _next_birthday(self, on: date) -> Day | None:
        """The first local day after ``on`` that starts with the subject a year older."""
        birth = self.req.birthdate
        if birth is None:
            return None
        for year in (on.year, on.year + 1):
            flip = flip_date(birth, year, self.policy.age_rollover)
            if flip > on:
                return self.policy.day(flip)
        return None

    def _day_of(self, day: Day, ts: int) -> Day:
        after = self.policy.day(day.date + ONE_DAY)
        if after.start <= ts < after.end:
            return after
        return self.policy.day(datetime.fromtimestamp(ts, self.policy.zone).date())
