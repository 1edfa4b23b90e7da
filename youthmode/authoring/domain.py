"""The finite domain two policies are compared over, and a fast evaluation of both on it.

A decision at one instant depends on a handful of facts, and each rule reads only a few of them.
Between the thresholds the rules mention, nothing changes. So for one action and one age the
domain is the product of a few values per fact:

- time: every kind of day the calendars of the chosen years contain (weekday, day type and the
  previous day's type, per policy), cut into slices at every window edge of either policy; the
  decision is constant on a slice, so its start stands for it. (Day, slice) pairs on which every
  window and budget limit of both policies agrees are merged into one *time class*;
- age: the first age of every band of either policy, and an unknown age;
- `usage.today_seconds` at 0 and at and just under every budget limit; `session_seconds` around
  rest reminders (when obligations are compared);
- `subject.verified`, guardian waivers (none, each reason code or rule id, all), consents,
  exempt app categories, a guardian-exempted app, `resource.min_age` (none, the age, older),
  the values `resource_match` rules list, and amounts with the month's and day's spend at and
  just over every spending cap.

A dimension that no rule of either policy reads for the action and band is left at one value.
Which rules read which dimension is the `reads` of their kind in the registry
(`youthmode.policies.kinds`); a kind reading a dimension through an evaluator this module does
not know fails loudly (`_reading`) rather than leaving regions out. Candidate values that every
rule treats alike are merged. Each point is evaluated with the engine's own rule objects
(`Active` and `CompiledRule.denies`), without building a decision.

Not in the domain: a guardian's own settings (`daily_limit_seconds`, `curfew`,
`extra_seconds`): they add the same denials under both policies. Birthdays (ages are declared),
`lockout_warning` obligations (they need the look-ahead) and combinations of two waivers short of
all of them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from youthmode.authoring import dimensions as dims
from youthmode.calendar import DAY_TYPES, WEEKDAYS
from youthmode.errors import PolicyError, Problem
from youthmode.facts import Moment, RequestFacts
from youthmode.policies import CompiledPolicy, check_policies, policy_files
from youthmode.policies.compile import Plan
from youthmode.policies.loader import load_file
from youthmode.policies.rules import (
    CompiledRule,
    ConsentRule,
    ResourceMatchRule,
    RestReminderRule,
    SpendingCapRule,
)
from youthmode.timeline import Active
from youthmode.units import format_duration, format_time_of_day


# -- loading ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LoadedSet:
    """Policies loaded together, and the ids the primary paths define (in file order)."""

    policies: dict[str, CompiledPolicy]
    primary: tuple[str, ...]


def load_set(primary: Sequence[str | Path], extra: Sequence[str | Path] = ()) -> LoadedSet:
    """Load the policies of ``primary`` with the extra files they may need (parents).

    Extra files that define a policy id a primary file also defines are left out, so a new
    version of a policy can be loaded beside the folder that holds its old version. A single
    file that extends a policy not given is retried with the files of its own folder.
    """
    files = policy_files(primary)
    if not files:
        named = ", ".join(str(p) for p in primary)
        raise PolicyError([Problem("no_policies", f"no policy files (*.toml) found in `{named}`")])
    ids = {f: _file_policy_id(f) for f in files}
    primary_ids = tuple(i for i in ids.values() if i is not None)
    extras = [f for f in policy_files(extra) if f not in ids]
    chosen = [*files, *(f for f in extras if _file_policy_id(f) not in primary_ids)]
    policies, problems = check_policies(chosen)
    errors = [p for p in problems if p.severity == "error"]
    if errors and all(p.code == "unknown_policy" for p in errors) and not extra:
        siblings = [
            f
            for path in primary
            if Path(path).is_file()
            for f in policy_files([Path(path).parent])
            if f not in ids and _file_policy_id(f) not in primary_ids
        ]
        if siblings:
            policies, problems = check_policies([*chosen, *siblings])
            errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise PolicyError(errors)
    return LoadedSet({p.id: p for p in policies}, primary_ids)


def _file_policy_id(path: Path) -> str | None:
    source, _ = load_file(path)
    return source.document.policy.id if source is not None else None


# -- days ------------------------------------------------------------------------------------
DayKey = tuple[int, str, str]  # weekday, day type, previous day's type


@dataclass(frozen=True, slots=True)
class DayKind:
    """One kind of day: the same weekday and day types (today's and yesterday's) per policy."""

    index: int
    date: date  # the first date of the chosen years of this kind
    keys: tuple[DayKey, ...]  # one per policy compared
    count: int  # how many dates of the chosen years are of this kind

    @property
    def weekday(self) -> str:
        return WEEKDAYS[self.keys[0][0]]

    def base(self) -> tuple[int, tuple[str, ...]]:
        return self.keys[0][0], tuple(k[1] for k in self.keys)

    def label(self, qualified: bool = False) -> str:
        types = dict.fromkeys(k[1] for k in self.keys)
        text = f"{self.weekday.capitalize()} {'/'.join(types)}"
        if qualified:
            prev = dict.fromkeys(k[2] for k in self.keys)
            text += f" (after a {'/'.join(prev)})"
        return text


def day_kinds(policies: Sequence[CompiledPolicy], years: Iterable[int]) -> list[DayKind]:
    """Every kind of day in ``years`` under the calendars of ``policies``, first date first."""
    found: dict[tuple[DayKey, ...], list[date]] = {}
    for year in sorted(set(years)):
        day = date(year, 1, 1)
        while day.year == year:
            prev = day - timedelta(days=1)
            key = tuple(
                (day.weekday(), p.calendar.day_type(day), p.calendar.day_type(prev))
                for p in policies
            )
            found.setdefault(key, []).append(day)
            day += timedelta(days=1)
    ordered = sorted(found.items(), key=lambda item: item[1][0])
    return [DayKind(i, dates[0], key, len(dates)) for i, (key, dates) in enumerate(ordered)]


# -- points ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Guard:
    """The facts of a request other than its time and today's use."""

    verified: bool = True
    exemptions: tuple[str, ...] = ()
    consents: tuple[str, ...] = ()
    category: str | None = None
    app: str | None = None
    app_exempt: bool = False
    min_age: int | None = None
    amount: Decimal | None = None
    month_spent: Decimal = Decimal(0)
    day_spent: Decimal = Decimal(0)
    extra: tuple[tuple[str, str], ...] = ()

    def resource(self) -> dict[str, Any]:
        """As `Resource.model_dump()` gives it to `resource_match` rules."""
        out: dict[str, Any] = {
            "app": self.app,
            "category": self.category,
            "amount": self.amount,
            "currency": None,
            "min_age": self.min_age,
            "recipient": None,
        }
        out.update(self.extra)
        return out

    def facts(self, action: str, age: int | None, today: int, session: int) -> RequestFacts:
        return RequestFacts(
            action=action,
            metered=False,
            verified=self.verified,
            birthdate=None,
            declared_age=age,
            amount=self.amount,
            category=self.category,
            app=self.app,
            min_age=self.min_age,
            recipient=dict(self.extra).get("recipient"),
            resource=self.resource(),
            consents=frozenset(self.consents),
            exemptions=frozenset(self.exemptions),
            exempt_apps=frozenset([self.app]) if self.app_exempt and self.app else frozenset(),
            today_seconds=today,
            session_seconds=session,
            day_spent=self.day_spent,
            month_spent=self.month_spent,
        )

    def labels(self, age: int | None) -> dict[str, str]:
        """A short text per dimension, relative to the age where that reads better."""
        out = {
            "verified": "true" if self.verified else "false",
            "waivers": ", ".join(self.exemptions) or "none",
            "consents": ", ".join(self.consents) or "none",
            "category": self.category or "none",
            "app": "guardian-exempt" if self.app_exempt else (self.app or "none"),
            "min_age": _min_age_label(self.min_age, age),
            "amount": "none" if self.amount is None else str(self.amount),
            "month_spent": str(self.month_spent),
            "day_spent": str(self.day_spent),
        }
        for key, value in self.extra:
            out[f"resource.{key}"] = value
        return out


def _min_age_label(min_age: int | None, age: int | None) -> str:
    if min_age is None:
        return "none"
    if age is not None and min_age == age:
        return "= age"
    if age is not None and min_age == age + 1:
        return "age + 1"
    return str(min_age)


Signature = tuple[bool, tuple[str, ...], tuple[str, ...]]  # allowed, reason codes, obligations


@dataclass(slots=True)
class TimeClass:
    """(Day kind, slice) pairs on which every window and budget limit of both policies agree."""

    index: int
    members: list[tuple[int, int, int]]  # day kind index, slice start, slice end (seconds)
    moments: tuple[Moment, ...]  # the first member's moment, one per policy
    at: datetime  # the example instant: the slice start on the most common kind of day
    weight: int = 0  # how many dates share the example's kind of day


@dataclass(slots=True)
class Unit:
    """One action and one age: the candidate values of every dimension, and the time classes."""

    action: str
    age: int | None
    bands: tuple[str | None, ...]  # per policy; None when the policy lacks the action
    plans: tuple[Plan | None, ...]
    classes: list[TimeClass]
    guards: list[Guard]
    todays: list[int]
    sessions: list[int]
    candidates: dict[str, list[str]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.classes) * len(self.guards) * len(self.todays) * len(self.sessions)


@dataclass(frozen=True, slots=True)
class Hit:
    """One evaluated point the caller kept, with each policy's signature."""

    unit: Unit
    guard: Guard
    time_class: TimeClass
    today: int
    session: int
    signatures: tuple[Signature, ...]

    def request(self, zone: Any, policy_id: str | None = None) -> dict[str, Any]:
        """The point as a decision request (JSON-ready)."""
        at = self.time_class.at
        g = self.guard
        req: dict[str, Any] = {}
        if policy_id is not None:
            req["policy"] = policy_id
        subject: dict[str, Any] = {}
        if self.unit.age is not None:
            subject["age"] = self.unit.age
        subject["verified"] = g.verified
        req["subject"] = subject
        req["action"] = self.unit.action
        req["at"] = at.isoformat()
        usage: dict[str, Any] = {}
        if self.today:
            usage["today_seconds"] = self.today
        if self.session:
            usage["session_seconds"] = self.session
        if g.month_spent:
            usage["month_spent"] = str(g.month_spent)
        if g.day_spent:
            usage["day_spent"] = str(g.day_spent)
        if usage:
            req["usage"] = usage
        resource: dict[str, Any] = {}
        for key, value in (
            ("app", g.app),
            ("category", g.category),
            ("amount", None if g.amount is None else str(g.amount)),
            ("min_age", g.min_age),
        ):
            if value is not None:
                resource[key] = value
        resource.update(g.extra)
        if resource:
            req["resource"] = resource
        guardian: dict[str, Any] = {}
        if g.exemptions:
            guardian["exemptions"] = list(g.exemptions)
        if g.consents:
            guardian["consents"] = list(g.consents)
        if g.app_exempt and g.app:
            guardian["exempt_apps"] = [g.app]
        if guardian:
            req["guardian"] = guardian
        return req

    def labels(self) -> dict[str, str]:
        out = dict.fromkeys(self.unit.candidates, "none")
        out.update(self.guard.labels(self.unit.age))
        out["today_seconds"] = _seconds_label(self.today)
        out["session_seconds"] = _seconds_label(self.session)
        return out


def _seconds_label(seconds: int) -> str:
    return "0" if seconds == 0 else f"{seconds}s ({format_duration(seconds)})"


# -- the domain ------------------------------------------------------------------------------
class Domain:
    """The points on which ``policies`` (two, usually) are evaluated side by side.

    ``actions`` defaults to every action of any policy's catalog. ``obligations``: also compare
    due rest reminders (adds `session_seconds` to the domain).
    """

    def __init__(
        self,
        policies: Sequence[CompiledPolicy],
        *,
        years: Iterable[int],
        actions: Sequence[str] | None = None,
        obligations: bool = False,
    ) -> None:
        self.policies = tuple(policies)
        self.zone = self.policies[0].zone
        self.obligations = obligations
        self.days = day_kinds(self.policies, years)
        if actions is None:
            actions = sorted({a for p in self.policies for a in p.actions})
        self.actions = list(actions)
        starts = sorted({b[1] for p in self.policies for b in p.bands})
        self.ages: list[int | None] = [*starts, None]
        self._moments: dict[tuple[int, int], tuple[Moment, ...]] = {}
        places = min(p.currency_places for p in self.policies)
        self.step = Decimal(1).scaleb(-places)
        self.checked = 0

    def units(self) -> Iterator[Unit]:
        for action in self.actions:
            for age in self.ages:
                unit = self.unit(action, age)
                if unit is not None:
                    yield unit

    @property
    def unit_count(self) -> int:
        return len(self.actions) * len(self.ages)

    def unit(self, action: str, age: int | None) -> Unit | None:
        bands: list[str | None] = []
        plans: list[Plan | None] = []
        for p in self.policies:
            if action in p.actions:
                band = p.band_of(age)
                bands.append(band)
                plans.append(p.plan(action, band))
            else:
                bands.append(None)
                plans.append(None)
        if all(p is None for p in plans):
            return None
        rules = [r for plan in plans if plan is not None for r in plan.rules]
        obligations = [r for plan in plans if plan is not None for r in plan.obligations]
        dims.check_known((*rules, *obligations))
        unit = Unit(
            action=action,
            age=age,
            bands=tuple(bands),
            plans=tuple(plans),
            classes=self._classes(plans),
            guards=[],
            todays=dims.todays(rules),
            sessions=dims.sessions(obligations) if self.obligations else [0],
        )
        unit.guards = self._guards(unit, rules, obligations)
        unit.candidates = _candidate_labels(unit)
        for tc in unit.classes:
            for m, side_band in zip(tc.moments, bands, strict=True):
                m.age = age
                m.band = side_band or "unknown"
        return unit

    # -- time classes
    def _moment_pair(self, day: DayKind, sod: int) -> tuple[Moment, ...]:
        key = (day.index, sod)
        found = self._moments.get(key)
        if found is None:
            h, rest = divmod(sod, 3600)
            local = datetime.combine(day.date, time(h, rest // 60, rest % 60), tzinfo=self.zone)
            ts = int(local.timestamp())
            found = tuple(
                Moment(ts, datetime.fromtimestamp(ts, p.zone), p.calendar) for p in self.policies
            )
            self._moments[key] = found
        return found

    def _classes(self, plans: Sequence[Plan | None]) -> list[TimeClass]:
        edges = sorted({0, *(e for plan in plans if plan is not None for e in plan.edges)})
        spans = list(zip(edges, [*edges[1:], 86400], strict=True))
        timed = [
            dims.reading(plan.rules, "time", CompiledRule)  # windows read only the moment
            if plan is not None
            else []
            for plan in plans
        ]
        budgets = [plan.budgets if plan is not None else () for plan in plans]
        probe = _PROBE
        classes: dict[tuple[Any, ...], TimeClass] = {}
        for day in self.days:
            for start, end in spans:
                moments = self._moment_pair(day, start)
                key = tuple(
                    (
                        tuple(r.denies(m, probe) for r in windows),
                        tuple(b.limit_on(m.day_type) for b in buds),
                    )
                    for m, windows, buds in zip(moments, timed, budgets, strict=True)
                )
                found = classes.get(key)
                if found is None:
                    found = classes[key] = TimeClass(len(classes), [], moments, moments[0].local)
                found.members.append((day.index, start, end))
                if day.count > found.weight:
                    found.at, found.weight = moments[0].local, day.count
        return list(classes.values())

    # -- guard values
    def _guards(
        self, unit: Unit, rules: list[CompiledRule], obligations: list[CompiledRule]
    ) -> list[Guard]:
        age = unit.age
        matches = dims.reading(rules, "resource", ResourceMatchRule)
        verified = [True, False] if dims.reading(rules, "verified", CompiledRule) else [True]
        waivers = dims.waiver_sets([r for r in (*rules, *obligations) if r.waivable])
        consents = dims.consent_sets(dims.reading(rules, "consents", ConsentRule), unit.action)
        categories = self._categories(rules, matches)
        apps = dims.apps(rules, matches)
        min_ages = dims.min_ages(rules, matches, age)
        extras = dims.extras(matches)
        money = self._money(unit, rules)
        out = []
        for v, ex, co, cat, (app, app_exempt), mn, extra, (amount, ms, ds) in itertools.product(
            verified, waivers, consents, categories, apps, min_ages, extras, money
        ):
            out.append(
                Guard(
                    verified=v,
                    exemptions=ex,
                    consents=co,
                    category=cat,
                    app=app,
                    app_exempt=app_exempt,
                    min_age=mn,
                    amount=amount,
                    month_spent=ms,
                    day_spent=ds,
                    extra=extra,
                )
            )
        return out

    def _categories(
        self, rules: list[CompiledRule], matches: list[ResourceMatchRule]
    ) -> list[str | None]:
        listed = [v for r in matches for v in sorted((r.match or {}).get("category", ()))]
        if not listed and not any(r.category_exemptions for r in rules):
            return [None]
        exempt = sorted({c for p in self.policies for c in p.exempt_categories})
        candidates: list[str | None] = [None, *exempt, *listed]

        def signature(cat: str | None) -> tuple[bool, ...]:
            return (
                *(cat in p.exempt_categories for p in self.policies),
                *(cat is not None and cat in (r.match or {}).get("category", ()) for r in matches),
            )

        return dims.distinct(candidates, signature)

    def _money(
        self, unit: Unit, rules: list[CompiledRule]
    ) -> list[tuple[Decimal | None, Decimal, Decimal]]:
        zero = Decimal(0).quantize(self.step)
        spends = any(
            unit.action in p.actions and p.actions[unit.action].spend for p in self.policies
        )
        caps = dims.reading(rules, "money", SpendingCapRule)
        if not caps:
            return [(Decimal(1).quantize(self.step) if spends else None, zero, zero)]
        step = self.step
        amounts = sorted({step, *(c.max for c in caps), *(c.max + step for c in caps)})
        combos: list[tuple[Decimal | None, Decimal, Decimal]] = []
        for a in amounts:
            combos.append((a, zero, zero))
            for cap in caps:
                if cap.period == "transaction" or a > cap.max:
                    continue
                for spent in (cap.max - a, cap.max - a + step):
                    spent = spent.quantize(step)
                    combos.append((a, spent, zero) if cap.period == "month" else (a, zero, spent))

        def signature(combo: tuple[Decimal | None, Decimal, Decimal]) -> tuple[bool, ...]:
            amount, ms, ds = combo
            assert amount is not None  # INVARIANT: caps mean amounts
            out = []
            for cap in caps:
                total = {"month": ms + amount, "day": ds + amount}.get(cap.period, amount)
                out.append(total > cap.max)
            return tuple(out)

        kept = dims.distinct(combos, signature)
        return [(a, ms.quantize(step), ds.quantize(step)) for a, ms, ds in kept]

    # -- evaluation
    def run(
        self,
        keep: Callable[[Sequence[Signature]], bool],
        *,
        on_unit: Callable[[Unit], None] | None = None,
    ) -> Iterator[Hit]:
        """Evaluate every point; yield those whose signatures ``keep`` accepts."""
        self.checked = 0
        for unit in self.units():
            yield from self.run_unit(unit, keep)
            if on_unit is not None:
                on_unit(unit)

    def run_unit(self, unit: Unit, keep: Callable[[Sequence[Signature]], bool]) -> Iterator[Hit]:
        sides = [
            (p, plan, i) for i, (p, plan) in enumerate(zip(self.policies, unit.plans, strict=True))
        ]
        for guard in unit.guards:
            base = guard.facts(unit.action, unit.age, 0, 0)
            actives = [Active(plan, p, base) if plan is not None else None for p, plan, _ in sides]
            for tc in unit.classes:
                for today in unit.todays:
                    for session in unit.sessions:
                        sigs = []
                        for active, (_, _, i) in zip(actives, sides, strict=True):
                            if active is None:
                                sigs.append(MISSING)
                                continue
                            m = tc.moments[i]
                            m.today_seconds = today
                            m.session_seconds = session
                            m.day_spent = guard.day_spent
                            m.month_spent = guard.month_spent
                            sigs.append(_signature(active, m, base, self.obligations))
                        self.checked += 1
                        if keep(sigs):
                            yield Hit(unit, guard, tc, today, session, tuple(sigs))


MISSING: Signature = (False, ("unknown_action",), ())


def _signature(active: Active, m: Moment, req: RequestFacts, obligations: bool) -> Signature:
    codes = tuple(r.code for r in active.rules if r.denies(m, req))
    if codes or not obligations:
        return (not codes, codes, ())
    reminders = dims.reading(active.obligations, "session", RestReminderRule)
    due = tuple(r.code for r in reminders if r.due(m))
    return (True, (), due)


class _Probe:
    """A request stand-in for window rules, which read only the moment."""


_PROBE: Any = _Probe()


def _candidate_labels(unit: Unit) -> dict[str, list[str]]:
    """Every label each dimension takes in the unit (to tell "any value" from some)."""
    out: dict[str, dict[str, None]] = {}
    for guard in unit.guards:
        labels = guard.labels(unit.age)
        for key in [*labels, *(k for k in out if k not in labels)]:
            out.setdefault(key, {})[labels.get(key, "none")] = None
    out["today_seconds"] = dict.fromkeys(_seconds_label(t) for t in unit.todays)
    out["session_seconds"] = dict.fromkeys(_seconds_label(s) for s in unit.sessions)
    return {k: list(v) for k, v in out.items()}


# -- describing times ------------------------------------------------------------------------
def describe_when(
    members: Iterable[tuple[int, int, int]], days: Sequence[DayKind]
) -> list[tuple[list[str], list[date], list[tuple[int, int]]]]:
    """(Day kind, slice) pairs as readable groups: day labels, example dates, merged spans."""
    per_day: dict[int, list[tuple[int, int]]] = {}
    for day, start, end in sorted(set(members)):
        spans = per_day.setdefault(day, [])
        if spans and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    by_spans: dict[tuple[tuple[int, int], ...], list[int]] = {}
    for day, spans in per_day.items():
        by_spans.setdefault(tuple(spans), []).append(day)
    out = []
    for spans_key, day_ids in sorted(by_spans.items(), key=lambda kv: min(kv[1])):
        labels = _day_labels(sorted(day_ids), days)
        dates = [days[i].date for i in sorted(day_ids, key=lambda i: days[i].date)]
        out.append((labels, dates, list(spans_key)))
    return out


def _day_labels(day_ids: list[int], days: Sequence[DayKind]) -> list[str]:
    chosen = set(day_ids)
    if chosen == {d.index for d in days}:
        return ["every day"]
    by_base: dict[tuple[int, tuple[str, ...]], list[DayKind]] = {}
    for d in days:
        by_base.setdefault(d.base(), []).append(d)
    bases_in: list[tuple[int, tuple[str, ...]]] = []
    labels: list[tuple[tuple[int, int], str]] = []
    for base, kinds in by_base.items():
        inside = [k for k in kinds if k.index in chosen]
        if not inside:
            continue
        if len(inside) == len(kinds):
            bases_in.append(base)
        else:
            for k in inside:
                labels.append(((_type_order(base[1]), base[0]), k.label(qualified=True)))
    by_types: dict[tuple[str, ...], list[int]] = {}
    for weekday, types in bases_in:
        by_types.setdefault(types, []).append(weekday)
    all_weekdays: dict[tuple[str, ...], set[int]] = {}
    for weekday, types in by_base:
        all_weekdays.setdefault(types, set()).add(weekday)
    for types, weekdays in by_types.items():
        name = "/".join(dict.fromkeys(types))
        if set(weekdays) == all_weekdays[types]:
            labels.append(((_type_order(types), -1), f"any {name}"))
        else:
            for wd in sorted(weekdays):
                labels.append(((_type_order(types), wd), f"{WEEKDAYS[wd].capitalize()} {name}"))
    return [text for _, text in sorted(labels)]


def _type_order(types: tuple[str, ...]) -> int:
    return DAY_TYPES.index(types[0]) if types[0] in DAY_TYPES else len(DAY_TYPES)


def format_span(span: tuple[int, int]) -> str:
    return f"{format_time_of_day(span[0])}–{format_time_of_day(span[1])}"
