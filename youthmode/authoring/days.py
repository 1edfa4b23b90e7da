"""Kinds of day: the dates of the chosen years grouped by weekday and day types (today's and
yesterday's, per policy compared) and by the rules in force (the dates between two `in_force`
boundaries of the policies compared form one *period*), and how (kind of day, slice) pairs read
in a report."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from youthmode.calendar import DAY_TYPES, WEEKDAYS
from youthmode.policies import CompiledPolicy
from youthmode.policies.in_force import enforced
from youthmode.units import format_time_of_day

DayKey = tuple[int, str, str]  # weekday, day type, previous day's type
Period = tuple[date | None, date | None]  # rules in force: [from, until), None = open


@dataclass(frozen=True, slots=True)
class DayKind:
    """One kind of day: the same weekday and day types (today's and yesterday's) per policy."""

    index: int
    date: date  # the first date of the chosen years of this kind
    keys: tuple[DayKey, ...]  # one per policy compared
    count: int  # how many dates of the chosen years are of this kind
    # the period of rules in force the dates fall in: [from, until), None = open; both None
    # when no rule compared carries dates
    period: Period = (None, None)

    @property
    def weekday(self) -> str:
        return WEEKDAYS[self.keys[0][0]]

    def base(self) -> tuple[int, tuple[str, ...]]:
        return self.keys[0][0], tuple(k[1] for k in self.keys)

    def period_label(self) -> str:
        """The period as text ("" when the rules compared carry no dates)."""
        start, end = self.period
        if start is None and end is None:
            return ""
        if start is None:
            return f"until {end}"
        if end is None:
            return f"from {start}"
        return f"from {start} until {end}"

    def label(self, qualified: bool = False) -> str:
        types = dict.fromkeys(k[1] for k in self.keys)
        text = f"{self.weekday.capitalize()} {'/'.join(types)}"
        if qualified:
            prev = dict.fromkeys(k[2] for k in self.keys)
            text += f" (after a {'/'.join(prev)})"
        return text


def in_force_boundaries(policies: Iterable[CompiledPolicy]) -> list[date]:
    """Every date on which a rule of ``policies`` takes or loses effect (local dates); rules
    whose status is not `in_force` are never enforced and have none."""
    found: set[date] = set()
    for p in policies:
        for r in p.rules:
            if enforced(r):
                found.update(d for d in (r.in_force_from, r.in_force_until) if d is not None)
    return sorted(found)


def day_kinds(
    policies: Sequence[CompiledPolicy],
    years: Iterable[int],
    boundaries: Sequence[date] | None = None,
    clocks: Sequence[tuple[Any, Any]] = (),
    months: Sequence[frozenset[int]] = (),
) -> list[DayKind]:
    """Every kind of day in ``years`` under the calendars of ``policies``, first date first.

    Dates on either side of a boundary (default: every `in_force` date of ``policies``' rules)
    are never of one kind, so a dated rule is in force on all dates of a kind or on none.
    ``clocks``: other (zone, calendar) pairs rules read (`quiet_hours` in a fixed zone), seen
    as a policy in that zone is; ``months``: the month sets of such rules' windows, whose
    membership (the day's, the day before's and after's) is part of the kind."""
    cuts = sorted(set(in_force_boundaries(policies) if boundaries is None else boundaries))
    others = [(p.zone, p.calendar) for p in policies[1:] if p.timezone != policies[0].timezone]
    others += [c for c in clocks if c[0] != policies[0].zone]
    found: dict[tuple[tuple[DayKey, ...], int, tuple[Any, ...]], list[date]] = {}
    for year in sorted(set(years)):
        day = date(year, 1, 1)
        while day.year == year:
            prev = day - timedelta(days=1)
            key = tuple(
                (day.weekday(), p.calendar.day_type(day), p.calendar.day_type(prev))
                for p in policies
            )
            n = bisect.bisect_right(cuts, day)
            near = (prev, day, day + timedelta(days=1))
            within = tuple(d.month in s for s in months for d in near)
            elsewhere = _elsewhere(day, policies[0].zone, others, cuts)
            found.setdefault((key, n, (elsewhere, within)), []).append(day)
            day += timedelta(days=1)
    ordered = sorted(found.items(), key=lambda item: item[1][0])
    bounds: list[date | None] = [None, *cuts, None]
    return [
        DayKind(i, dates[0], key, len(dates), (bounds[n], bounds[n + 1]) if cuts else (None, None))
        for i, ((key, n, _), dates) in enumerate(ordered)
    ]


def _elsewhere(
    day: date, zone: Any, others: Sequence[tuple[Any, Any]], cuts: Sequence[date]
) -> tuple[Any, ...]:
    """What a clock in another zone than the first policy's sees during ``day`` (a day of
    ``zone``), per (zone, calendar) of ``others``: its local dates run from the day before to
    the day after, so their day types and periods, and its offset from ``zone`` at both ends
    of the day, are part of the kind of day (the slices of each kind of day are cut at its
    own edges: `zone_edges`)."""
    out: list[Any] = []
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    for other, calendar in others:
        near = (day - timedelta(days=1), day, day + timedelta(days=1))
        out.append(
            (
                tuple(calendar.day_type(d) for d in near),
                tuple(bisect.bisect_right(cuts, d) for d in near),
                tuple(_offset(t, other) - _offset(t, zone) for t in (start, end)),
            )
        )
    return tuple(out)


def _offset(at: datetime, zone: Any) -> int:
    found = at.astimezone(zone).utcoffset()
    return int(found.total_seconds()) if found is not None else 0


def zone_edges(day: date, zone: Any, other: Any, edges: Iterable[int]) -> set[int]:
    """The local midnights and ``edges`` (seconds of the day in ``other``) that fall within
    ``day`` of ``zone``, as seconds of its clock."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    found: set[int] = set()
    for near in (day - timedelta(days=1), day, day + timedelta(days=1)):
        for edge in {0, *edges}:
            h, rest = divmod(edge, 3600)
            at = datetime.combine(near, time(h, rest // 60, rest % 60), tzinfo=other)
            if start <= at < end:
                local = at.astimezone(zone)
                found.add(local.hour * 3600 + local.minute * 60 + local.second)
    return found


# -- describing times ---------------------------------------------------------------------
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
    """Labels of the chosen kinds; where rules carry dates, per period ("… (from 2027-01-01)")."""
    periods = dict.fromkeys(d.period for d in days)
    if len(periods) == 1:
        return _labels_within(day_ids, days)
    out = []
    for period in sorted(periods, key=lambda p: p[0] or date.min):
        within = [d for d in days if d.period == period]
        ids = [i for i in day_ids if days[i].period == period]
        if ids:
            text = within[0].period_label()
            out += [f"{label} ({text})" for label in _labels_within(ids, within)]
    return out


def _labels_within(day_ids: list[int], days: Sequence[DayKind]) -> list[str]:
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
