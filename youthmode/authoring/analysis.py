"""`youthmode diff` and `youthmode floor`: what two policies decide differently, found by
evaluating both on the finite domain of `youthmode.authoring.domain`.

`diff OLD NEW` reports every region (action, band, kind of day, time span and the conditions
under which it shows) where the decision changes, with a concrete request that shows it, and
exits 1 when anything changes: a CI gate for policy reviews. `floor --baseline cn-baseline PACK`
reports every region where the pack allows what the baseline denies, and exits 1 if there is
one. Every counterexample printed is re-decided by both engines before it is shown.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from youthmode.authoring.domain import (
    Domain,
    Hit,
    LoadedSet,
    Signature,
    describe_when,
    format_span,
    load_set,
)
from youthmode.authoring.progress import Progress
from youthmode.engine import Engine
from youthmode.errors import PolicyError, RequestError
from youthmode.policies import CompiledPolicy

DIMENSION_NAMES = {
    "verified": "verified",
    "waivers": "guardian waivers",
    "consents": "consents",
    "category": "category",
    "app": "app",
    "min_age": "min_age",
    "amount": "amount",
    "month_spent": "month_spent",
    "day_spent": "day_spent",
    "today_seconds": "today_seconds",
    "session_seconds": "session_seconds",
}


# -- regions ---------------------------------------------------------------------------------
WHEN = "when"


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
        for engine, pid, sig in zip(engines, ids, region.signatures, strict=True):
            example = region.example
            if example.unit.action not in engine.policies[pid].actions:
                continue
            try:
                decision = engine.decide(example.request(zone, pid))
            except RequestError:
                ok = False
                continue
            ok = ok and decision.allowed == sig[0] and tuple(decision.reason_codes) == sig[1]
        region.confirmed = ok


# -- output ----------------------------------------------------------------------------------
def outcome(sig: Signature) -> dict[str, Any]:
    out: dict[str, Any] = {"effect": "allow" if sig[0] else "deny", "reasons": list(sig[1])}
    if sig[2]:
        out["obligations"] = list(sig[2])
    return out


def outcome_text(sig: Signature) -> str:
    if sig[0]:
        return "allow" + (f" (obligations: {', '.join(sig[2])})" if sig[2] else "")
    return "deny: " + ", ".join(sig[1])


def band_names(region: Region, side: int) -> list[str]:
    return list(dict.fromkeys(b[side] or "-" for b in region.bands))


def _when_json(when: When) -> list[dict[str, Any]]:
    return [
        {
            "days": days,
            "dates": [d.isoformat() for d in dates],
            "spans": [format_span(s).split("–") for s in spans],
        }
        for days, dates, spans in when
    ]


def region_json(region: Region, zone: Any, names: Sequence[str], policy_id: str) -> dict[str, Any]:
    return {
        "actions": region.actions,
        "bands": {name: band_names(region, i) for i, name in enumerate(names)},
        "ages": region.ages,
        "when": _when_json(region.when),
        "conditions": region.conditions,
        "cases": [
            {"when": _when_json(c.when), "conditions": c.conditions, "points": c.points}
            for c in region.cases
        ],
        **{name: outcome(sig) for name, sig in zip(names, region.signatures, strict=True)},
        "points": region.points,
        "counterexample": region.example.request(zone, policy_id),
        "confirmed": region.confirmed,
    }


def region_text(
    n: int, region: Region, zone: Any, names: Sequence[str], policy_id: str
) -> list[str]:
    bands = band_names(region, len(names) - 1)
    old_bands = band_names(region, 0)
    band_text = ", ".join(bands)
    if old_bands != bands:
        band_text = f"{', '.join(old_bands)} → {band_text}"
    ages = ", ".join("unknown" if a is None else str(a) for a in region.ages)
    plural = "s" if len(bands) > 1 else ""
    lines = [
        f"{n}. {', '.join(region.actions)} · band{plural} {band_text} (age {ages}) · "
        f"{region.points:,} points"
    ]
    width = max(5, *(len(name) for name in names))

    def row(label: str, text: str) -> None:
        lines.append(f"   {label:<{width}}  {text}")

    for i, (days, _, spans) in enumerate(region.when):
        row("when" if i == 0 else "", f"{', '.join(days)}: {', '.join(map(format_span, spans))}")
    conditions = region.conditions
    if conditions:
        text = "; ".join(
            f"{DIMENSION_NAMES.get(k, k)} {' or '.join(v)}" for k, v in conditions.items()
        )
        row("where", text)
    if len(region.cases) > 1:
        row(
            "",
            f"({len(region.cases)} exact cases in --format json; elsewhere in this box "
            "both decide alike)",
        )
    for name, sig in zip(names, region.signatures, strict=True):
        row(name, outcome_text(sig))
    row("e.g.", json.dumps(region.example.request(zone, policy_id), ensure_ascii=False))
    if region.confirmed is False:
        row("", "warning: the engines decide this example differently than predicted")
    return lines


def summary(regions: Sequence[Region]) -> list[str]:
    """One line per kind of change: effects, points, and the reasons on the denying side."""
    tally: dict[tuple[str, str], dict[str, int]] = {}
    for region in regions:
        a, b = region.signatures
        key = (outcome(a)["effect"], outcome(b)["effect"])
        codes = a[1] if not a[0] else b[1]
        per = tally.setdefault(key, {})
        per[""] = per.get("", 0) + region.points
        for code in codes:
            per[code] = per.get(code, 0) + region.points
    lines = []
    for (x, y), per in tally.items():
        total = per.pop("")
        reasons = ", ".join(
            f"{code} {n:,}" for code, n in sorted(per.items(), key=lambda kv: -kv[1])
        )
        lines.append(
            f"{x} → {y}: {total:,} points" + (f" (denied for {reasons})" if reasons else "")
        )
    return lines


def policy_ref(policy: CompiledPolicy) -> dict[str, Any]:
    return {
        "id": policy.id,
        "version": policy.version,
        "digest": policy.digest,
        "file": policy.files[-1],
    }


def policy_label(policy: CompiledPolicy) -> str:
    return f"{policy.id} {policy.version} ({policy.files[-1]})"


def _years(args: argparse.Namespace) -> list[int]:
    return list(args.year) if args.year else [datetime.now().year]


def _problems(err: PolicyError) -> int:
    print("youthmode: cannot load policies:", file=sys.stderr)
    for problem in err.problems:
        print(f"  {problem}", file=sys.stderr)
    return 2


def _fail(message: str) -> int:
    print(f"youthmode: {message}", file=sys.stderr)
    return 2


# -- comparing -------------------------------------------------------------------------------
@dataclass
class Comparison:
    """One policy against another over the domain: what the caller keeps, as regions."""

    policies: tuple[CompiledPolicy, CompiledPolicy]
    engines: tuple[Engine, Engine]
    domain: Domain
    regions: list[Region]
    others: list[Region]  # diff: points where only reasons or obligations change
    points: int
    seconds: float


def compare(
    pair: tuple[CompiledPolicy, CompiledPolicy],
    engines: tuple[Engine, Engine],
    *,
    years: list[int],
    actions: list[str],
    keep: Callable[[Sequence[Signature]], bool],
    primary: Callable[[Sequence[Signature]], bool],
    obligations: bool,
    progress: Progress,
) -> Comparison:
    started = time.perf_counter()
    domain = Domain(pair, years=years, actions=actions, obligations=obligations)
    hits = list(domain.run(keep, on_unit=lambda u: progress.advance(detail=u.action)))

    def tick() -> None:
        progress.advance(0, detail="grouping regions")

    main = regions_of([h for h in hits if primary(h.signatures)], domain, tick)
    others = regions_of([h for h in hits if not primary(h.signatures)], domain, tick)
    ids = (pair[0].id, pair[1].id)
    progress.advance(0, detail="checking examples")
    confirm(main, engines, ids, domain.zone)
    return Comparison(
        pair, engines, domain, main, others, domain.checked, time.perf_counter() - started
    )


def _engine(loaded: LoadedSet) -> Engine:
    return Engine(loaded.policies.values())


# -- diff ------------------------------------------------------------------------------------
def cmd_diff(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        old = load_set([args.old], args.extra)
        new = load_set([args.new], args.extra)
    except PolicyError as err:
        return _problems(err)
    if args.policy:
        missing = [p for p, s in (("OLD", old), ("NEW", new)) if args.policy not in s.policies]
        if missing:
            return _fail(f"policy `{args.policy}` is not in {' or '.join(missing)}")
        pairs = [(args.policy, args.policy)]
        removed: list[str] = []
        added: list[str] = []
    elif len(old.primary) == 1 and len(new.primary) == 1:
        pairs = [(old.primary[0], new.primary[0])]
        removed, added = [], []
    else:
        pairs = [(p, p) for p in old.primary if p in new.primary]
        removed = [p for p in old.primary if p not in new.primary]
        added = [p for p in new.primary if p not in old.primary]
        if not pairs:
            return _fail("OLD and NEW define no policy id in common; name one with --policy")
    engines = (_engine(old), _engine(new))
    reasons = args.compare == "reasons"
    years = _years(args)
    results = []
    total = 0
    plan = []
    for old_id, new_id in pairs:
        a, b = old.policies[old_id], new.policies[new_id]
        common = sorted(set(a.actions) & set(b.actions))
        plan.append((a, b, common))
        total += len(common) * (len({*(x[1] for x in a.bands), *(x[1] for x in b.bands)}) + 1)
    with Progress("diff", total) as progress:
        for a, b, common in plan:
            result = compare(
                (a, b),
                engines,
                years=years,
                actions=common,
                keep=lambda s: s[0] != s[1],
                primary=(lambda s: s[0] != s[1]) if reasons else (lambda s: s[0][0] != s[1][0]),
                obligations=reasons,
                progress=progress,
            )
            results.append(result)
    elapsed = time.perf_counter() - started
    changed = bool(removed or added) or any(
        r.regions or set(r.policies[0].actions) != set(r.policies[1].actions) for r in results
    )
    if args.format == "json":
        print(json.dumps(_diff_json(results, removed, added, args, years, elapsed), indent=2))
    else:
        _diff_text(results, removed, added, args, years, elapsed)
    return 1 if changed else 0


def _diff_json(
    results: list[Comparison],
    removed: list[str],
    added: list[str],
    args: argparse.Namespace,
    years: list[int],
    elapsed: float,
) -> dict[str, Any]:
    comparisons = []
    for r in results:
        a, b = r.policies
        comparisons.append(
            {
                "old": policy_ref(a),
                "new": policy_ref(b),
                "actions_removed": sorted(set(a.actions) - set(b.actions)),
                "actions_added": sorted(set(b.actions) - set(a.actions)),
                "points": r.points,
                "seconds": round(r.seconds, 3),
                "regions": [region_json(x, r.domain.zone, ("old", "new"), b.id) for x in r.regions],
                "other_changes": {
                    "regions": len(r.others),
                    "points": sum(x.points for x in r.others),
                },
            }
        )
    changed = bool(removed or added) or any(
        c["regions"] or c["actions_added"] or c["actions_removed"] for c in comparisons
    )
    return {
        "changed": changed,
        "compare": args.compare,
        "years": years,
        "seconds": round(elapsed, 3),
        "policies_removed": removed,
        "policies_added": added,
        "comparisons": comparisons,
    }


def _diff_text(
    results: list[Comparison],
    removed: list[str],
    added: list[str],
    args: argparse.Namespace,
    years: list[int],
    elapsed: float,
) -> None:
    for pid in removed:
        print(f"policy {pid} is only in OLD")
    for pid in added:
        print(f"policy {pid} is only in NEW")
    what = "effect" if args.compare == "effect" else "decision (effect, reasons or obligations)"
    for r in results:
        a, b = r.policies
        print(f"diff {policy_label(a)} → {policy_label(b)}")
        print(
            f"checked {r.points:,} points ({len(r.domain.actions)} actions, "
            f"{len(r.domain.ages)} ages, {len(r.domain.days)} kinds of day in "
            f"{', '.join(map(str, years))}) in {r.seconds:.2f}s"
        )
        if a.timezone != b.timezone:
            print(f"note: time zones differ ({a.timezone}, {b.timezone}); times are {a.timezone}")
        for action in sorted(set(a.actions) - set(b.actions)):
            print(f"action {action} is removed: NEW rejects requests for it (unknown_action)")
        for action in sorted(set(b.actions) - set(a.actions)):
            print(f"action {action} is new: OLD rejects requests for it (unknown_action)")
        if not r.regions:
            print(f"no change in the {what} anywhere in the domain")
        else:
            count = sum(x.points for x in r.regions)
            plural = "region" if len(r.regions) == 1 else "regions"
            print(f"{len(r.regions)} {plural} where the {what} changes ({count:,} points):")
            for line in summary(r.regions):
                print(f"  {line}")
        _print_regions(r.regions, args.max_regions, r.domain.zone, ("old", "new"), b.id)
        if r.others:
            points = sum(x.points for x in r.others)
            print(
                f"\nalso {points:,} points in {len(r.others)} regions where only the reasons "
                "change (--compare reasons lists them)"
            )
        print()
    if len(results) > 1:
        print(f"total {elapsed:.2f}s")


# -- floor -----------------------------------------------------------------------------------
def cmd_floor(args: argparse.Namespace) -> int:
    try:
        loaded = load_set([args.pack], [*args.extra, args.baseline_path])
    except PolicyError as err:
        return _problems(err)
    baseline = loaded.policies.get(args.baseline)
    if baseline is None:
        return _fail(
            f"baseline `{args.baseline}` is not loaded (from {args.pack} or {args.baseline_path})"
        )
    packs = [loaded.policies[p] for p in loaded.primary if p != args.baseline]
    if not packs:
        return _fail(f"{args.pack} defines no policy other than the baseline `{args.baseline}`")
    engine = _engine(loaded)
    years = _years(args)
    actions = sorted(baseline.actions)
    ages = {x[1] for x in baseline.bands}
    total = sum(len(actions) * (len(ages | {x[1] for x in p.bands}) + 1) for p in packs)
    results = []
    with Progress("floor", total) as progress:
        for pack in packs:
            results.append(
                compare(
                    (baseline, pack),
                    (engine, engine),
                    years=years,
                    actions=[a for a in actions if a in pack.actions],
                    keep=lambda s: not s[0][0] and s[1][0],
                    primary=lambda s: True,
                    obligations=False,
                    progress=progress,
                )
            )
    failed = any(r.regions for r in results)
    if args.format == "json":
        print(json.dumps(_floor_json(results, years), indent=2))
    else:
        _floor_text(results, args, years)
    return 1 if failed else 0


def _floor_json(results: list[Comparison], years: list[int]) -> dict[str, Any]:
    out = []
    for r in results:
        base, pack = r.policies
        out.append(
            {
                "pack": policy_ref(pack),
                "baseline": policy_ref(base),
                "ok": not r.regions,
                "points": r.points,
                "seconds": round(r.seconds, 3),
                "actions_not_in_pack": sorted(set(base.actions) - set(pack.actions)),
                "actions_not_in_baseline": sorted(set(pack.actions) - set(base.actions)),
                "counterexamples": [
                    region_json(x, r.domain.zone, ("baseline", "pack"), pack.id) for x in r.regions
                ],
            }
        )
    return {"ok": all(x["ok"] for x in out), "years": years, "packs": out}


def _floor_text(results: list[Comparison], args: argparse.Namespace, years: list[int]) -> None:
    for r in results:
        base, pack = r.policies
        extra = sorted(set(pack.actions) - set(base.actions))
        if not r.regions:
            print(
                f"pack {pack.id} never allows what {base.id} denies "
                f"({r.points:,} points checked in {r.seconds:.2f}s)"
            )
        else:
            count = sum(x.points for x in r.regions)
            print(
                f"pack {pack.id} allows what {base.id} denies: {len(r.regions)} "
                f"region{'s' if len(r.regions) != 1 else ''} ({count:,} of {r.points:,} points, "
                f"{r.seconds:.2f}s)"
            )
            for line in summary(r.regions):
                print(f"  {line}")
            _print_regions(
                r.regions, args.max_regions, r.domain.zone, ("baseline", "pack"), pack.id
            )
        missing = sorted(set(base.actions) - set(pack.actions))
        if missing:
            print(f"note: {pack.id} rejects {', '.join(missing)} (not in its catalog)")
        if extra:
            print(f"note: {base.id} has no say on {', '.join(extra)} (only in {pack.id})")
        if len(results) > 1:
            print()


# -- registration ----------------------------------------------------------------------------
def _common(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--with",
        dest="extra",
        action="append",
        default=[],
        metavar="PATH",
        help="more policy files or folders to load, e.g. the parent a pack extends",
    )
    cmd.add_argument(
        "--year",
        type=int,
        action="append",
        help="calendar year whose kinds of day are checked (repeatable; default: this year)",
    )
    cmd.add_argument("--format", choices=["text", "json"], default="text")
    cmd.add_argument(
        "--max-regions", type=int, default=20, help="regions printed in text (default 20)"
    )


def register(sub: Any) -> None:
    diff = sub.add_parser(
        "diff",
        help="behavioural difference between two versions of a policy (exit 1 if any)",
        description="Evaluate OLD and NEW on every band, action, kind of day, time slice and "
        "threshold they mention, and print each region where the decision changes, with a "
        "request that shows it. Exit 0: no change; 1: changes; 2: a policy does not load.",
    )
    diff.add_argument("old", type=Path, help="policy file or folder (the old version)")
    diff.add_argument("new", type=Path, help="policy file or folder (the new version)")
    diff.add_argument("--policy", help="the policy id to compare (default: the one each defines)")
    diff.add_argument(
        "--compare",
        choices=["effect", "reasons"],
        default="effect",
        help="effect: allow/deny only (default); reasons: also reason codes and rest reminders",
    )
    _common(diff)
    diff.set_defaults(run=cmd_diff)
    floor = sub.add_parser(
        "floor",
        help="prove a pack never allows what the baseline denies (exit 1 with counterexamples)",
        description="Evaluate the baseline and PACK on the same domain as `diff` and print "
        "every region where PACK allows a request the baseline denies.",
    )
    floor.add_argument("pack", type=Path, help="the pack: a policy file or folder")
    floor.add_argument("--baseline", default="cn-baseline", help="baseline policy id")
    floor.add_argument(
        "--baseline-path",
        type=Path,
        default=Path("configs"),
        help="where the baseline is loaded from (default: configs)",
    )
    _common(floor)
    floor.set_defaults(run=cmd_floor)


def _print_regions(
    regions: Sequence[Any], most: int, zone: Any, labels: tuple[str, str], policy_id: str
) -> None:
    """The first ``most`` regions in full, then how many more there are."""
    shown = regions[:most]
    for n, region in enumerate(shown, 1):
        print()
        for line in region_text(n, region, zone, labels, policy_id):
            print(line)
    if len(regions) > len(shown):
        print(f"\n... and {len(regions) - len(shown)} more regions (--format json lists all)")
