"""Regions: the changed points `diff` and `floor` find, grouped into exact products of times
and condition values (`merge_cubes`), then merged across ages and actions that read the same;
each region keeps a concrete example, re-decided by the real engines (`confirm`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from youthmode.authoring.domain import Domain, Hit, Signature, describe_when
from youthmode.authoring.floors import REFUSED
from youthmode.engine import Engine
from youthmode.errors import RequestError


@dataclass
class Cube:
    """Points of one action and age with one pair of outcomes: a product of value sets, one
    per dimension (the time classes' (day, slice) pairs, and a label set per condition)."""

    coords: tuple[frozenset[Any], ...]
    points: int
    example: Hit

    def union(self, other: Cube, dim: int) -> Cube:
        coords = list(self.coords)
        coords[dim] = self.coords[dim] | other.coords[dim]
        return Cube(tuple(coords), self.points + other.points, self.example)


def merge_cubes(cubes: list[Cube]) -> list[Cube]:
    """Merge cubes that differ in one dimension only, until none do. Each merge is exact: the
    union of two such products is a product, so every cube stays a set of changed points."""
    if not cubes:
        return cubes
    dims = len(cubes[0].coords)
    changed = True
    while changed:
        changed = False
        for dim in range(dims):
            buckets: dict[tuple[Any, ...], Cube] = {}
            for cube in cubes:
                key = cube.coords[:dim] + cube.coords[dim + 1 :]
                found = buckets.get(key)
                if found is None:
                    buckets[key] = cube
                else:
                    buckets[key] = found.union(cube, dim)
                    changed = True
            cubes = list(buckets.values())
    return cubes


When = list[tuple[list[str], list[Any], list[tuple[int, int]]]]


@dataclass
class Case:
    """An exact product of changed points: times × one value set per condition."""

    when: When
    conditions: dict[str, list[str]]
    points: int

    def key(self) -> tuple[Any, ...]:
        return (_when_key(self.when), tuple((k, tuple(v)) for k, v in self.conditions.items()))


def _when_key(when: When) -> tuple[Any, ...]:
    return tuple((tuple(d), tuple(s)) for d, _, s in when)


@dataclass
class Region:
    """Points of some actions and ages with the same pair of outcomes.

    `when` and `conditions` are what every point of the region has in common (times, and the
    values of each condition that occur); `cases` are exact products that together make up the
    region: inside the box `when` × `conditions`, points outside every case decide alike.
    """

    actions: list[str]
    signatures: tuple[Signature, ...]
    ages: list[int | None]
    bands: list[tuple[str | None, ...]]
    when: When
    conditions: dict[str, list[str]]
    cases: list[Case]
    points: int
    examples: list[Hit]
    confirmed: bool | None = None
    # Per side, the rules (`policy/rule`) denying the example as the engine decides it
    # (`confirm`); `responsible.py` names the rules behind the region from them. Where every
    # side allows (obligations compared), the rules whose obligations differ, on the first.
    denied_by: tuple[tuple[str, ...], ...] = ()

    @property
    def example(self) -> Hit:
        """A typical example: the middle age of the first action."""
        first = [h for h in self.examples if h.unit.action == self.actions[0]]
        known = sorted((h for h in first if h.unit.age is not None), key=lambda h: h.unit.age or 0)
        return known[len(known) // 2] if known else first[0]

    def merge_key(self, *, by_action: bool) -> tuple[Any, ...]:
        conditions = tuple((k, tuple(v)) for k, v in self.conditions.items())
        cases = tuple(c.key() for c in self.cases)
        who = tuple(self.actions) if by_action else tuple(self.ages)
        return (who, self.signatures, _when_key(self.when), conditions, cases)

    def absorb(self, other: Region) -> None:
        self.actions += [a for a in other.actions if a not in self.actions]
        self.ages += [a for a in other.ages if a not in self.ages]
        self.bands += [b for b in other.bands if b not in self.bands]
        self.points += other.points
        for mine, theirs in zip(self.cases, other.cases, strict=True):
            mine.points += theirs.points
        self.examples += other.examples

    def sort_key(self) -> tuple[int, int]:
        return (max(len(s[1]) for s in self.signatures), -self.points)


def _conditions(
    candidates: dict[str, list[str]], values: Sequence[frozenset[Any]]
) -> dict[str, list[str]]:
    """The dimensions whose values are not all the candidates, with the values, in order."""
    out = {}
    for (key, labels), seen in zip(candidates.items(), values, strict=True):
        if set(seen) != set(labels):
            out[key] = [x for x in labels if x in seen]
    return out


def regions_of(
    hits: Sequence[Hit], domain: Domain, tick: Callable[[], None] | None = None
) -> list[Region]:
    """Regions per action, age and outcome pair, with exact cases (`merge_cubes`); then ages,
    then actions, whose regions read the same are merged. Fewest reasons first, then largest."""
    groups: dict[tuple[Any, ...], list[Cube]] = {}
    for hit in hits:
        labels = hit.labels()
        coords = (
            frozenset(hit.time_class.members),
            *(frozenset([labels[k]]) for k in hit.unit.candidates),
        )
        key = (hit.unit.action, hit.unit.age, hit.signatures)
        groups.setdefault(key, []).append(Cube(coords, 1, hit))
    regions = []
    for atoms in groups.values():
        if tick is not None:
            tick()
        hit = atoms[0].example
        unit = hit.unit
        cubes = sorted(merge_cubes(atoms), key=lambda c: -c.points)
        box = [
            frozenset().union(*(c.coords[i] for c in cubes)) for i in range(len(atoms[0].coords))
        ]
        regions.append(
            Region(
                actions=[unit.action],
                signatures=hit.signatures,
                ages=[unit.age],
                bands=[unit.bands],
                when=describe_when(box[0], domain.days),
                conditions=_conditions(unit.candidates, box[1:]),
                cases=[
                    Case(
                        describe_when(c.coords[0], domain.days),
                        _conditions(unit.candidates, c.coords[1:]),
                        c.points,
                    )
                    for c in cubes
                ],
                points=len(atoms),
                examples=[cubes[0].example],
            )
        )
    for by_action in (True, False):
        merged: dict[tuple[Any, ...], Region] = {}
        for region in regions:
            key = region.merge_key(by_action=by_action)
            if key in merged:
                merged[key].absorb(region)
            else:
                merged[key] = region
        regions = list(merged.values())
    return sorted(regions, key=Region.sort_key)


def confirm(
    regions: Sequence[Region], engines: Sequence[Engine], ids: Sequence[str], zone: Any
) -> None:
    """Re-decide each region's example with the real engines: effects and reasons must match."""
    for region in regions:
        ok = True
        denied_by: list[tuple[str, ...]] = []
        shown: list[dict[str, Any]] = []  # per side: the obligations by rule
        for engine, pid, sig in zip(engines, ids, region.signatures, strict=True):
            example = region.example
            denied_by.append(())
            shown.append({})
            if example.unit.action not in engine.policies[pid].actions:
                continue
            try:
                decision = engine.decide(example.request(zone, pid))
            except RequestError as err:  # a floor capping another currency: REFUSED expected
                ok = ok and sig == REFUSED and err.code == sig[1][0]
                continue
            ok = ok and decision.allowed == sig[0] and tuple(decision.reason_codes) == sig[1]
            denied_by[-1] = tuple(r.rule for r in decision.reasons)
            shown[-1] = {o.rule: o.model_dump(mode="json") for o in decision.obligations if o.rule}
        region.confirmed = ok
        region.denied_by = tuple(denied_by)
        if not any(denied_by):  # every side allows: the rules whose obligations differ made it
            changed = [r for r in dict.fromkeys(k for s in shown for k in s) if _differs(shown, r)]
            region.denied_by = (tuple(changed), *(() for _ in denied_by[1:]))


def _differs(shown: Sequence[dict[str, Any]], ref: str) -> bool:
    """Whether rule ``ref``'s obligation is not the same on every side (absent counts)."""
    return len({json.dumps(s.get(ref), sort_keys=True, default=str) for s in shown}) > 1
