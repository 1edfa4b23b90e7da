"""What two policies decide differently, behind `youthmode diff` and `youthmode floor`, found by
evaluating both on the finite domain of `youthmode.authoring.domain`.

`diff` finds every region (action, band, kind of day, time span and the conditions under which
it shows) where the decision changes between two versions of a policy. `floor` finds every
region where a pack allows what the baseline denies. Every region keeps a concrete request,
re-decided by both engines before it is shown. Regions are built in `regions.py`; their text
and JSON forms are in `analysis_report.py`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from youthmode.authoring.domain import Domain, LoadedSet, Signature
from youthmode.authoring.progress import Progress
from youthmode.authoring.regions import Region, confirm, regions_of
from youthmode.engine import Engine
from youthmode.policies import CompiledPolicy


class AnalysisError(ValueError):
    """A diff or floor that cannot be run as asked; the message names the fix."""


def floor_problems(policy: CompiledPolicy, lookup: Mapping[str, CompiledPolicy]) -> list[str]:
    """Why the domain cannot decide ``policy``'s floors as the engine does (floors.py): a floor
    pack not loaded (loading refuses that too; checked again for policies built otherwise)."""
    problems = []
    for key, pack_ids in sorted(policy.floors.items()):
        for pack_id in pack_ids:
            pack = lookup.get(pack_id)
            where = f"floor pack `{pack_id}` (for {key}) of `{policy.id}`"
            if pack is None:
                problems.append(f"{where} is not loaded: load it with --policies")
    return problems


def check_floors(
    policies: Sequence[CompiledPolicy], lookups: Sequence[Mapping[str, CompiledPolicy]]
) -> None:
    """Raise AnalysisError naming every floor the domain cannot decide as the engine does."""
    problems = [
        x for p, lookup in zip(policies, lookups, strict=True) for x in floor_problems(p, lookup)
    ]
    if problems:
        raise AnalysisError(
            "cannot compare jurisdiction floors exactly: " + "; ".join(dict.fromkeys(problems))
        )


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
    floors: Sequence[Mapping[str, CompiledPolicy]] | None = None,
) -> Comparison:
    """Decide every point of the domain with both policies; the points ``keep`` selects become
    regions, those ``primary`` selects first (`regions`), the rest in `others`. ``floors``: per
    policy, where its floor packs are looked up (checked with `check_floors`)."""
    started = time.perf_counter()
    if floors is not None:
        check_floors(pair, floors)
    domain = Domain(pair, years=years, actions=actions, obligations=obligations, floors=floors)
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


def engine_of(loaded: LoadedSet) -> Engine:
    """An engine of every policy of ``loaded``."""
    return Engine(loaded.policies.values())


# -- diff ------------------------------------------------------------------------------------
@dataclass
class DiffResult:
    """Every comparison of a diff, the policies only one side defines, and how it compared."""

    comparisons: list[Comparison]
    removed: list[str]
    added: list[str]
    reasons: bool  # compared reasons and obligations too, not only effects
    years: list[int]
    seconds: float

    @property
    def changed(self) -> bool:
        """Policies or actions added or removed, or a region where the decision changes."""
        return bool(self.removed or self.added) or any(
            r.regions or set(r.policies[0].actions) != set(r.policies[1].actions)
            for r in self.comparisons
        )


def pair_policies(
    old: LoadedSet, new: LoadedSet, policy: str | None = None
) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """The (old id, new id) pairs to compare, and the ids only OLD and only NEW define: the one
    named, else the one each side defines, else every id both define."""
    if policy:
        missing = [p for p, s in (("OLD", old), ("NEW", new)) if policy not in s.policies]
        if missing:
            raise AnalysisError(f"policy `{policy}` is not in {' or '.join(missing)}")
        return [(policy, policy)], [], []
    if len(old.primary) == 1 and len(new.primary) == 1:
        return [(old.primary[0], new.primary[0])], [], []
    pairs = [(p, p) for p in old.primary if p in new.primary]
    removed = [p for p in old.primary if p not in new.primary]
    added = [p for p in new.primary if p not in old.primary]
    if not pairs:
        raise AnalysisError("OLD and NEW define no policy id in common; name one with --policy")
    return pairs, removed, added


def diff(
    old: LoadedSet,
    new: LoadedSet,
    *,
    years: list[int],
    policy: str | None = None,
    reasons: bool = False,
    started: float | None = None,
) -> DiffResult:
    """Compare OLD and NEW (raises AnalysisError when they cannot be paired). ``started``: the
    `time.perf_counter()` the reported total counts from (default: now)."""
    started = time.perf_counter() if started is None else started
    pairs, removed, added = pair_policies(old, new, policy)
    engines = (engine_of(old), engine_of(new))
    plan = []
    total = 0
    for old_id, new_id in pairs:
        a, b = old.policies[old_id], new.policies[new_id]
        common = sorted(set(a.actions) & set(b.actions))
        plan.append((a, b, common))
        total += len(common) * (len({*(x[1] for x in a.bands), *(x[1] for x in b.bands)}) + 1)
    results = []
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
                floors=(old.policies, new.policies),
            )
            results.append(result)
    elapsed = time.perf_counter() - started
    return DiffResult(results, removed, added, reasons, years, elapsed)


# -- floor -----------------------------------------------------------------------------------
@dataclass
class FloorResult:
    """One comparison per pack: baseline first, pack second; regions are counterexamples."""

    comparisons: list[Comparison]
    years: list[int]

    @property
    def failed(self) -> bool:
        return any(r.regions for r in self.comparisons)


def default_baseline(loaded: LoadedSet) -> str | None:
    """The baseline when none is named: the engine's default policy (the one marked default,
    or the only one) among the policies loaded beside the pack, else among all loaded."""
    beside = [p for pid, p in loaded.policies.items() if pid not in loaded.primary]
    return Engine(beside).default_policy or engine_of(loaded).default_policy


def floor(
    baseline: CompiledPolicy, packs: Sequence[CompiledPolicy], engine: Engine, years: list[int]
) -> FloorResult:
    """Every region where a pack allows what ``baseline`` denies, for each pack (raises
    AnalysisError for floors the domain cannot decide exactly)."""
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
                    floors=(engine.policies, engine.policies),
                )
            )
    return FloorResult(results, years)
