"""When does a decision change? Walk the instants where it can, not every minute.

A decision can only flip at a window edge, a local midnight (daily counters reset, the day type
changes, age rolls over, and on the 1st the month's spend resets), or, while a metered action is
in use, the instant its daily budget runs out. The timeline evaluates the request at each such
candidate instant in order: the first deny gives `remaining_seconds`, the first allow gives
`next_allowed_at`. A few dozen evaluations, exact to the second.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from typing import Any

from youthmode.calendar import DAY_TYPES
from youthmode.facts import Day, Moment, RequestFacts, age_on, flip_date
from youthmode.policies.compile import MEMO_LIMIT, CompiledPolicy, Plan
from youthmode.policies.rules import CompiledRule, DailyBudgetRule, DenyWindowRule, Window
from youthmode.policies.rules_world import Budget, WeeklyBudgetRule

EVERY_DAY = frozenset((wd, dt) for wd in range(7) for dt in DAY_TYPES)

REMAINING_HORIZON = 48 * 3600
NEXT_ALLOWED_HORIZON = 14 * 86400
ONE_DAY = timedelta(days=1)


class Active:
    """The rules in force for one band after guardian settings, waivers and app exemptions."""

    __slots__ = (
        "budgets",
        "dated",
        "edges",
        "exempt",
        "obligations",
        "own_clocks",
        "rules",
        "timeless",
        "variants",
        "waived",
    )

    def __init__(
        self, plan: Plan, policy: CompiledPolicy, req: RequestFacts, band: str = ""
    ) -> None:
        exempt_category = req.category in policy.exempt_categories
        exempt_app = req.app is not None and req.app in req.exempt_apps
        self.waived: list[CompiledRule] = []
        self.exempt: list[CompiledRule] = []
        rules: list[CompiledRule] = []
        # A guardian's own settings bind the children in their care, not adults.
        extra = guardian_rules(req) if band in policy.protected_bands else ()
        for rule in (*plan.rules, *extra):
            if rule.waivable and _waived(rule, req.exemptions):
                self.waived.append(rule)
            elif rule.category_exemptions and (exempt_category or (exempt_app and rule.waivable)):
                # A policy's exempt categories skip such rules; a guardian's exempt apps only
                # skip the ones a guardian may waive.
                self.exempt.append(rule)
            else:
                rules.append(_with_grant(rule, req))
        self.rules = tuple(rules)
        self.obligations = tuple(
            r for r in plan.obligations if not (r.waivable and _waived(r, req.exemptions))
        )
        # Rules whose use runs out while a metered action is in use (daily, per-app, weekly).
        self.budgets = tuple(r for r in self.rules if isinstance(r, Budget))
        self.variants = any(r.variant_codes for r in self.rules)
        # Rules in force only between dates are filtered by the moment's date (in_force.py).
        self.dated = any(r.dated for r in (*self.rules, *self.obligations))
        # Only the age can change the verdicts of these rules (none at all, for most adults).
        self.timeless = all(r.timeless for r in self.rules) and not self.dated
        self.edges = tuple(sorted({e for r in self.rules for e in r.edges}))
        # Rules on another zone's clock name their own next change (rules_zoned.py).
        self.own_clocks = tuple(r for r in self.rules if r.own_clock)

    def obligations_on(self, day: date) -> tuple[CompiledRule, ...]:
        """The obligations in force on the local date ``day``."""
        if not self.dated:
            return self.obligations
        return tuple(r for r in self.obligations if not r.dated or r.in_force_on(day))


def combination_key(
    kind: str, policy: CompiledPolicy, req: RequestFacts, band: str
) -> tuple[Any, ...]:
    """What the rules in force depend on besides a guardian's time grant: the memo key of
    `active_rules` and of schedule.py's tables (``kind`` tells the two apart). A guardian's
    curfews and daily limit are part of it: families pick from a few common settings, so
    their combinations are shared too (the memo is bounded: see MEMO_LIMIT)."""
    return (
        kind,
        req.action,
        band,
        req.exemptions & policy.waiver_names if req.exemptions else req.exemptions,
        req.category in policy.exempt_categories,
        req.app is not None and req.app in req.exempt_apps,
        req.guardian_curfews,
        req.guardian_daily_limit,
    )


def active_rules(policy: CompiledPolicy, req: RequestFacts, band: str) -> Active:
    """The rules in force for ``req`` in ``band``; shared between requests that agree on
    everything `Active` reads. A guardian's time grant is for one local day (its rule
    carries the date), so requests with one get their own."""
    if req.extra_seconds:
        return Active(policy.plan(req.action, band), policy, req, band)
    key = combination_key("active", policy, req, band)
    found: Active | None = policy.memo.get(key)
    if found is None:
        if len(policy.memo) >= MEMO_LIMIT:
            policy.memo.clear()
        found = policy.memo[key] = Active(policy.plan(req.action, band), policy, req, band)
    return found


def _waived(rule: CompiledRule, exemptions: frozenset[str]) -> bool:
    return rule.code in exemptions or rule.ref in exemptions or rule.id in exemptions


GUARDIAN_CURFEW = ("监护人设置的休息时段，暂停使用", "Paused: a curfew your guardian set")
GUARDIAN_LIMIT = (
    "今日使用时长已达监护人设置的上限",
    "Today's limit set by your guardian is used up",
)


def guardian_rules(req: RequestFacts) -> tuple[CompiledRule, ...]:
    """A guardian's own tighter settings, as rules: they can only add denials."""
    out: list[CompiledRule] = []
    common: dict[str, Any] = {
        "waivable": False,
        "category_exemptions": True,
        "bands": frozenset(),
        "actions": frozenset(),
    }
    if req.guardian_curfews:
        windows = tuple(Window(start, end, EVERY_DAY) for start, end in req.guardian_curfews)
        edges = {e % 86400 for w in req.guardian_curfews for e in w} - {0}
        out.append(
            DenyWindowRule(
                id="curfew",
                ref="guardian/curfew",
                kind="deny_window",
                code="curfew",
                message=GUARDIAN_CURFEW[0],
                message_en=GUARDIAN_CURFEW[1],
                edges=tuple(sorted(edges)),
                windows=windows,
                **common,
            )
        )
    if req.guardian_daily_limit is not None:
        out.append(
            DailyBudgetRule(
                id="daily-limit",
                ref="guardian/daily-limit",
                kind="daily_budget",
                code="daily_limit",
                message=GUARDIAN_LIMIT[0],
                message_en=GUARDIAN_LIMIT[1],
                limit=req.guardian_daily_limit,
                **common,
            )
        )
    return tuple(out)


def _with_grant(rule: CompiledRule, req: RequestFacts) -> CompiledRule:
    """A daily budget extended by today's guardian grants (waivable or the guardian's own)."""
    if (
        req.extra_seconds
        and isinstance(rule, DailyBudgetRule)
        and (rule.waivable or rule.ref.startswith("guardian/"))
    ):
        return dataclasses.replace(rule, grant=req.extra_seconds, grant_day=req.at_date)
    return rule


def _binds(rule: CompiledRule, m: Moment) -> bool:
    return not rule.dated or rule.in_force_on(m.date)


def _stands(rule: CompiledRule) -> bool:
    """A denial only an age change can lift (a timeless rule that does not lose effect)."""
    return rule.timeless and rule.in_force_until is None


def counts_world(policy: CompiledPolicy) -> bool:
    """Whether a rule of ``policy`` reads the app's or the week's use (moments leave them at 0
    otherwise: the hot path of every other policy pays nothing for them)."""
    found: bool | None = policy.memo.get(WORLD_COUNTERS)
    if found is None:
        found = policy.memo[WORLD_COUNTERS] = any(
            isinstance(r, WeeklyBudgetRule) or (isinstance(r, DailyBudgetRule) and r.per == "app")
            for r in policy.rules
        )
    return found


WORLD_COUNTERS = ("counts_world",)


class Timeline:
    """One request's view of time: moments, the rules in force, and the next change."""

    def __init__(self, policy: CompiledPolicy, req: RequestFacts, at: datetime) -> None:
        self.policy = policy
        self.req = req
        self.at = at
        self.at_ts = int(at.timestamp())
        self.start_date = at.date()
        self._active: dict[str, Active] = {}
        self._day = policy.day(self.start_date)
        self._age_day: date | None = None
        self._age: int | None = None
        self._denied_at: Moment | None = None
        self._denied: list[CompiledRule] = []
        self._world = counts_world(policy)
        if self._world:  # the local date of the next Monday: the week's use resets there
            self._week_end = self.start_date + timedelta(days=7 - self.start_date.weekday())

    def active(self, band: str) -> Active:
        found = self._active.get(band)
        if found is None:
            found = self._active[band] = active_rules(self.policy, self.req, band)
        return found

    def start(self) -> Moment:
        """The moment of `at` itself."""
        at = self.at
        return self._moment(
            self._day, self.at_ts, at.hour * 3600 + at.minute * 60 + at.second, in_use=False
        )

    def moment(self, ts: int, *, in_use: bool = False) -> Moment:
        """The facts at ``ts``; with ``in_use`` a metered action has been used since `at`."""
        day = self._day
        if not day.start <= ts < day.end:
            day = self._day = self._day_of(ts)
        if day.even:
            return self._moment(day, ts, ts - day.start, in_use=in_use)
        local = datetime.fromtimestamp(ts, self.policy.zone)  # a daylight-saving day
        day = self._day = self.policy.day(local.date())
        m = self._moment(day, ts, local.hour * 3600 + local.minute * 60 + local.second, in_use)
        return m

    def _day_of(self, ts: int) -> Day:
        after = self.policy.day(self._day.date + ONE_DAY)
        if after.start <= ts < after.end:
            return after
        return self.policy.day(datetime.fromtimestamp(ts, self.policy.zone).date())

    def _moment(self, day: Day, ts: int, sod: int, in_use: bool) -> Moment:
        req = self.req
        m = Moment.within(day, ts, sod, self.policy.calendar)
        if req.birthdate is not None:
            if day.date != self._age_day:
                self._age_day = day.date
                self._age = age_on(req.birthdate, day.date, self.policy.age_rollover)
            m.age = self._age
        else:
            m.age = req.declared_age
        m.band = self.policy.band_of(m.age)
        same_day = day.date == self.start_date
        elapsed = ts - self.at_ts
        if in_use and req.metered:
            m.today_seconds = req.today_seconds + elapsed if same_day else ts - day.start
        else:
            m.today_seconds = req.today_seconds if same_day else 0
        if self._world:
            self._counters_world(m, day, ts, same_day, in_use and req.metered)
        m.session_seconds = req.session_seconds + (elapsed if in_use else 0)
        if same_day:
            m.day_spent = req.day_spent
            m.month_spent = req.month_spent
        elif (day.date.year, day.date.month) == (self.start_date.year, self.start_date.month):
            m.month_spent = req.month_spent
        return m

    def _counters_world(self, m: Moment, day: Day, ts: int, same_day: bool, used: bool) -> None:
        """The app's use today and the week's use at ``m``: like today's use, they grow while a
        metered action is in use; the app's resets at the local midnight, the week's at the
        local Monday 00:00 (``used``: the action has been in use since `at`)."""
        req = self.req
        same_week = day.date < self._week_end
        if used:
            elapsed = ts - self.at_ts
            m.app_today_seconds = req.app_today_seconds + elapsed if same_day else ts - day.start
            if same_week:
                m.week_seconds = req.week_seconds + elapsed
            else:
                monday = day.date - timedelta(days=day.weekday)
                m.week_seconds = ts - self.policy.day(monday).start
        else:
            m.app_today_seconds = req.app_today_seconds if same_day else 0
            m.week_seconds = req.week_seconds if same_week else 0

    def denials(self, m: Moment) -> list[CompiledRule]:
        """The rules that deny at ``m`` (the last answer is kept: callers ask twice for `at`)."""
        if m is self._denied_at:
            return self._denied
        active = self.active(m.band)
        if active.dated:
            found = [r for r in active.rules if _binds(r, m) and r.denies(m, self.req)]
        else:
            found = [r for r in active.rules if r.denies(m, self.req)]
        if active.variants:  # a rule whose reason code depends on why it denies
            found = [r.denied(m, self.req) for r in found]
        self._denied_at, self._denied = m, found
        return found

    def remaining_seconds(self, start: Moment) -> int | None:
        """Seconds of continued use from `at` until the request is first denied (48 h max)."""
        found = self._first(start, want_allowed=False, in_use=True, horizon=REMAINING_HORIZON)
        return None if found is None else found - self.at_ts

    def next_allowed(self, start: Moment) -> int | None:
        """The first instant within 14 days at which the request is allowed, as given."""
        return self._first(start, want_allowed=True, in_use=False, horizon=NEXT_ALLOWED_HORIZON)

    def _first(self, m: Moment, *, want_allowed: bool, in_use: bool, horizon: int) -> int | None:
        limit = self.at_ts + horizon
        denied = self.denials(m)
        while True:
            if (want_allowed and any(_stands(r) for r in denied)) or self.active(m.band).timeless:
                # Nothing but an age change can change this answer: jump to the next one.
                ts = self._next_birthday(m)
            else:
                ts = self._next_candidate(m, in_use)
            if ts is None or ts > limit:
                return None
            m = self.moment(ts, in_use=in_use)
            denied = self.denials(m)
            if (not denied) == want_allowed:
                return ts

    def _next_birthday(self, m: Moment) -> int | None:
        """The first local midnight after ``m`` at which the subject's age changes."""
        birth = self.req.birthdate
        if birth is None:
            return None
        for year in (m.date.year, m.date.year + 1):
            flip = flip_date(birth, year, self.policy.age_rollover)
            if flip > m.date:
                return self.policy.day(flip).start
        return None

    def _next_candidate(self, m: Moment, in_use: bool) -> int:
        active = self.active(m.band)
        best = self._midnight(m, next_day=True)
        for edge in active.edges:
            if edge > m.sod:
                ts = self._local_ts(m, edge)
                if m.ts < ts < best:
                    best = ts
                break
        for rule in active.own_clocks:
            ts = rule.next_change(m, self.req)
            if m.ts < ts < best:
                best = ts
        if in_use and self.req.metered:
            for budget in active.budgets:
                left = budget.left(m)
                if 0 < left and m.ts + left < best:
                    best = m.ts + left
        return best

    def _midnight(self, m: Moment, *, next_day: bool = False) -> int:
        day = self.policy.day(m.date)
        return day.end if next_day else day.start

    def _local_ts(self, m: Moment, sod: int) -> int:
        day = self.policy.day(m.date)
        if day.even:
            return day.start + sod
        hours, rest = divmod(sod, 3600)
        wall = time(hours, rest // 60, rest % 60)
        return int(datetime.combine(m.date, wall, tzinfo=self.policy.zone).timestamp())
