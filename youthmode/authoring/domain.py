"""The finite domain two policies are compared over, and a fast evaluation of both on it.

A decision at one instant depends on a handful of facts, and each rule reads only a few of them.
Between the thresholds the rules mention, nothing changes. So for one action and one age the
domain is the product of a few values per fact:

- time: every kind of day the calendars of the chosen years contain (weekday, day type and the
  previous day's type, per policy; the period of rules in force; what a policy in another zone
  sees during the day: days.py), cut into slices at every window edge of either policy; the
  decision is constant on a slice, so its start stands for it. (Day, slice) pairs on which every
  window and budget limit of both policies agrees are merged into one *time class*;
- age: the first age of every band of either policy, and an unknown age;
- `subject.jurisdiction`: none and every key of the policies' `floors`, each point decided by a
  policy and its floor packs together (floors.py); and, where a `require_consent` rule asks
  consent below the digital age of consent, the jurisdictions of its table, merged where the
  ages agree (the ages are cut at every age of consent too);
- `usage.today_seconds` at 0 and at and just under every budget limit; `session_seconds` around
  rest reminders (when obligations are compared);
- `subject.verified`, guardian waivers (none, each reason code or rule id, all), consents,
  exempt app categories, a guardian-exempted app, `resource.min_age` (none, the age, older),
  the values `resource_match` rules list, and amounts with the month's and day's spend at and
  just over every spending cap.

A dimension that no rule of either policy reads for the action and band is left at one value.
Which rules read which dimension is the `reads` of their kind in the registry
(`youthmode.policies.kinds`); a kind reading a dimension through an evaluator this module does
not know fails loudly (`dimensions.reading`) rather than leaving regions out. Candidate values
that every rule treats alike are merged. Each point is evaluated with the engine's own rule
objects (`Active` and `CompiledRule.denies`), without building a decision.

The parts: `loading.py` (the policies compared), `days.py` (kinds of day), `points.py` (a
point's facts, time classes, units, hits) and `dimensions.py` (each dimension's values). This
module takes their product and evaluates it.

Not in the domain: a guardian's own settings (`daily_limit_seconds`, `curfew`,
`extra_seconds`): they add the same denials under both policies. Birthdays (ages are declared),
`lockout_warning` obligations (they need the look-ahead) and combinations of two waivers short of
all of them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from youthmode.authoring import dimensions as dims
from youthmode.authoring.days import (
    DayKey,
    DayKind,
    day_kinds,
    describe_when,
    format_span,
    zone_edges,
)
from youthmode.authoring.floors import REFUSED, Floors, joint, refused
from youthmode.authoring.loading import LoadedSet, load_set
from youthmode.authoring.outcomes import PROBE, age_of, outcome
from youthmode.authoring.points import (
    MISSING,
    Guard,
    Hit,
    Signature,
    TimeClass,
    Unit,
    candidate_labels,
)
from youthmode.facts import Moment, RequestFacts, with_age
from youthmode.policies import CompiledPolicy
from youthmode.policies.compile import Plan
from youthmode.policies.kinds import reads_of
from youthmode.policies.rules import CompiledRule, ResourceMatchRule, SpendingCapRule
from youthmode.policies.rules_zoned import QuietHoursRule
from youthmode.timeline import Active

# The names this module has always given (analysis.py, schedule.py and the tests import them
# from here); they live in loading.py, days.py and points.py.
__all__ = [
    "MISSING",
    "DayKey",
    "DayKind",
    "Domain",
    "Guard",
    "Hit",
    "LoadedSet",
    "Signature",
    "TimeClass",
    "Unit",
    "day_kinds",
    "describe_when",
    "format_span",
    "load_set",
]


# -- the domain ------------------------------------------------------------------------------
class Domain:
    """The points on which ``policies`` (two, usually) are evaluated side by side.

    ``actions`` defaults to every action of any policy's catalog. ``obligations``: also compare
    due rest reminders (adds `session_seconds` to the domain). ``floors``: per policy, the
    policies its `floors` names are looked up in (floors.py); without it, floors are ignored.
    """

    def __init__(
        self,
        policies: Sequence[CompiledPolicy],
        *,
        years: Iterable[int],
        actions: Sequence[str] | None = None,
        obligations: bool = False,
        floors: Sequence[Mapping[str, CompiledPolicy]] | None = None,
    ) -> None:
        self.floors = Floors(policies, floors)
        self.sides = len(self.floors.sides)
        # the compared policies first, then the floor packs they name
        self.policies = tuple(self.floors.all())
        self.zone = self.policies[0].zone
        self.obligations = obligations
        quiet = [(r, p) for p in self.policies for r in p.rules if isinstance(r, QuietHoursRule)]
        self.days = day_kinds(
            self.policies,
            years,
            clocks=[(r.fixed_zone, p.calendar) for r, p in quiet if r.fixed_zone is not None],
            months=list(dict.fromkeys(w.months for r, _ in quiet for w in r.windows if w.months)),
        )
        # what the domain compares only in part, said in the report (one line each)
        self.notes: list[str] = []
        if actions is None:
            actions = sorted({a for p in self.floors.sides for a in p.actions})
        self.actions = list(actions)
        starts = {b[1] for p in self.policies for b in p.bands}
        starts |= {a for p in self.policies for a in dims.minimum_ages(p.rules)}
        self.ages: list[int | None] = [*sorted(starts), None]
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

    def unit(self, action: str, age: int | None) -> Unit | None:
        bands: list[str | None] = []
        plans: list[Plan | None] = []
        ages = [age_of(p, age) for p in self.policies]
        for p, own in zip(self.policies, ages, strict=True):
            if action in p.actions:
                band = p.band_of(own)
                bands.append(band)
                plans.append(p.plan(action, band))
            else:
                bands.append(None)
                plans.append(None)
        if all(p is None for p in plans[: self.sides]):
            return None
        rules = [r for plan in plans if plan is not None for r in plan.rules]
        obligations = [r for plan in plans if plan is not None for r in plan.obligations]
        if any(plan != plans[0] for plan in plans[1:]):
            # Facts the domain cannot vary matter only where the sides' rules differ: the same
            # rules on every side decide alike whatever those facts are. Obligations count
            # only where they are compared.
            dims.check_known((*rules, *obligations) if self.obligations else rules)
            self._note_subject_clocks(rules)
        unit = Unit(
            action=action,
            age=age,
            bands=tuple(bands),
            plans=tuple(plans),
            classes=self._classes(plans),
            guards=[],
            todays=sorted(
                {
                    *dims.todays(rules),
                    *(dims.warning_todays(obligations) if self.obligations else ()),
                }
            ),
            sessions=dims.sessions(obligations) if self.obligations else [0],
        )
        unit.guards = self._guards(unit, rules, obligations)
        unit.candidates = candidate_labels(unit)
        for tc in unit.classes:
            for m, side_band, own in zip(tc.moments, bands, ages, strict=True):
                m.age = own
                m.band = side_band or "unknown"
        return unit

    def _note_subject_clocks(self, rules: list[CompiledRule]) -> None:
        """A `quiet_hours` rule on the subject's clock is compared for a subject who gives no
        `subject.timezone` (its policy's zone), not for every zone a subject may be in."""
        for p in self.policies:
            for r in rules:
                if isinstance(r, QuietHoursRule) and r.fixed_zone is None and r in p.rules:
                    note = (
                        f"rule `{r.ref}` (quiet_hours) reads the subject's clock: compared for "
                        f"subjects without subject.timezone ({p.timezone}); other zones are "
                        "not compared"
                    )
                    if note not in self.notes:
                        self.notes.append(note)

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

    def _spans(self, plans: Sequence[Plan | None]) -> Callable[[DayKind], list[tuple[int, int]]]:
        """The slices of each kind of day: cut at every window edge, of the policies in the
        first one's zone as they are, of the others (and their midnights) where they fall on
        that day (`days.zone_edges`)."""
        home = self.policies[0].timezone
        here = {
            0,
            *(
                e
                for p, plan in zip(self.policies, plans, strict=True)
                if plan and p.timezone == home
                for e in plan.edges
            ),
        }
        away = [
            (p.zone, plan.edges)
            for p, plan in zip(self.policies, plans, strict=True)
            if plan and p.timezone != home
        ]
        # quiet hours on another clock: their edges where they fall in the first zone's day
        for p, plan in zip(self.policies, plans, strict=True):
            away += dims.zoned_clocks(plan.rules, p.zone) if plan else []
        cache: dict[tuple[int, ...], list[tuple[int, int]]] = {}

        def spans(day: DayKind) -> list[tuple[int, int]]:
            edges = set(here)
            for zone, own in away:
                edges |= zone_edges(day.date, self.zone, zone, own)
            key = tuple(sorted(edges))
            found = cache.get(key)
            if found is None:
                found = cache[key] = list(zip(key, [*key[1:], 86400], strict=True))
            return found

        return spans

    def _classes(self, plans: Sequence[Plan | None]) -> list[TimeClass]:
        spans_of = self._spans(plans)
        timed = [
            # windows read only the moment; quiet hours too, for a subject without a zone
            [r for r in plan.rules if {"time", "zone_time"} & reads_of(r)]
            if plan is not None
            else []
            for plan in plans
        ]
        budgets = [plan.budgets if plan is not None else () for plan in plans]
        # rules in force only between dates: a class never mixes dates they bind and not
        dated = [
            [r for r in (*plan.rules, *plan.obligations) if r.dated] if plan is not None else []
            for plan in plans
        ]
        probe = PROBE
        classes: dict[tuple[Any, ...], TimeClass] = {}
        for day in self.days:
            for start, end in spans_of(day):
                moments = self._moment_pair(day, start)
                key = tuple(
                    (
                        tuple(r.denies(m, probe) for r in windows),
                        tuple(b.limit_on(m.day_type) for b in buds),
                        tuple(r.in_force_on(m.date) for r in binding),
                    )
                    for m, windows, buds, binding in zip(
                        moments, timed, budgets, dated, strict=True
                    )
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
        consents = dims.consent_sets(dims.reading(rules, "consents", CompiledRule), unit.action)
        categories = dims.categories(self.policies, rules, matches)
        apps = dims.apps(rules, matches)
        min_ages = dims.min_ages(rules, matches, age)
        extras = dims.extras(matches)
        money = self._money(unit, rules)
        world = list(
            itertools.product(
                dims.todays(rules, "app_today"),
                dims.weeks(rules),
                dims.app_consents(rules),
                dims.links(rules),
                dims.consent_jurisdictions(rules, self.floors.jurisdictions),
            )
        )
        out = []
        for v, ex, co, cat, (app, app_exempt), mn, extra, (amount, ms, ds), w in itertools.product(
            verified, waivers, consents, categories, apps, min_ages, extras, money, world
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
                    app_today=w[0],
                    week=w[1],
                    app_consent=w[2],
                    linked=w[3],
                    jurisdiction=w[4],
                )
            )
        return out

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
        for guard in unit.guards:
            base = guard.facts(unit.action, unit.age, 0, 0)
            lines = [
                self.floors.lines(i, guard.jurisdiction, unit.action) for i in range(self.sides)
            ]
            used = sorted({k for line in lines for k in line if unit.plans[k] is not None})
            refusing = {
                i
                for i, line in enumerate(lines)
                if len(line) > 1
                and refused(self.policies[i], [self.policies[k] for k in line[1:]], unit.action)
            }
            actives: dict[int, tuple[Active, RequestFacts]] = {}
            for k in used:
                policy, plan = self.policies[k], unit.plans[k]
                assert plan is not None  # INVARIANT: `used` holds policies with the action
                facts = base if age_of(policy, 0) == 0 else with_age(base, None)
                actives[k] = (Active(plan, policy, facts), facts)
            for tc in unit.classes:
                for today in unit.todays:
                    for session in unit.sessions:
                        outcomes = {}
                        for k, (active, facts) in actives.items():
                            m = tc.moments[k]
                            m.today_seconds = today
                            m.app_today_seconds = guard.app_today
                            m.week_seconds = guard.week
                            m.session_seconds = session
                            m.day_spent = guard.day_spent
                            m.month_spent = guard.month_spent
                            outcomes[k] = outcome(active, m, facts, self.obligations)
                        sigs = [
                            MISSING
                            if i not in outcomes
                            else REFUSED
                            if i in refusing
                            else joint([outcomes[k] for k in line if k in outcomes])
                            for i, line in enumerate(lines)
                        ]
                        self.checked += 1
                        if keep(sigs):
                            yield Hit(unit, guard, tc, today, session, tuple(sigs))
