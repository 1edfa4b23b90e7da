"""The rules behind the regions of `diff` and `floor`: which rule makes each difference.

Two edits to a pack can change hundreds of regions (every action, band and time slice they
touch); a reader wants the edits. Each region's example is re-decided by both engines
(`regions.confirm`), which records the rules that deny it on each side (`Region.denied_by`).
The rules responsible for a region are those that deny on one side only: for `floor`, the
baseline's rules the pack lets through. Regions are grouped by them (`by_rule`), largest
group first, and `rules_line` says it in one line: "2 rules loosen the floor: curfew (…), …".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from youthmode.authoring.regions import Region
from youthmode.policies import CompiledPolicy

UNKNOWN = "(no single rule)"  # a region whose sides deny by the same rules (reasons compared)


@dataclass
class RuleGroup:
    """The regions one rule (or one set of rules denying together) is responsible for."""

    refs: tuple[str, ...]  # `policy/rule` of the rules, as decisions name them
    regions: list[Region] = field(default_factory=list)

    @property
    def points(self) -> int:
        return sum(r.points for r in self.regions)

    @property
    def ids(self) -> list[str]:
        return [ref.partition("/")[2] or ref for ref in self.refs] or [UNKNOWN]

    @property
    def name(self) -> str:
        return " + ".join(self.ids)


def responsible(region: Region) -> tuple[str, ...]:
    """The rules that deny the region's example on one side only, in the order of the sides."""
    if not region.denied_by:
        return ()
    sides = [set(refs) for refs in region.denied_by]
    out: list[str] = []
    for i, refs in enumerate(region.denied_by):
        others = set().union(*(s for j, s in enumerate(sides) if j != i))
        out += [ref for ref in refs if ref not in others and ref not in out]
    return tuple(out)


def by_rule(regions: Sequence[Region]) -> list[RuleGroup]:
    """``regions`` grouped by the rules responsible, most points first; regions keep their
    order within a group."""
    groups: dict[tuple[str, ...], RuleGroup] = {}
    for region in regions:
        refs = responsible(region)
        groups.setdefault(refs, RuleGroup(refs)).regions.append(region)
    return sorted(groups.values(), key=lambda g: -g.points)


def change_of(rule_id: str, policies: Sequence[CompiledPolicy]) -> str:
    """What became of rule ``rule_id`` from the first policy to the second, in a few words."""
    first, second = ({r.id: r for r in p.rules} for p in policies[:2])
    before, after = first.get(rule_id), second.get(rule_id)
    if before is None:
        return f"new in {policies[1].id}" if after is not None else "of a floor pack"
    if after is None:
        return f"not in {policies[1].id}"
    if after.ref != before.ref:
        return f"overridden by {after.ref.partition('/')[0]}"
    if after != before:
        return f"changed in {policies[1].id}"
    return "unchanged: another change lets it through"


def rules_line(
    groups: Sequence[RuleGroup], verbs: tuple[str, str], policies: Sequence[CompiledPolicy]
) -> str:
    """One line naming every rule responsible: `2 rules loosen the floor: curfew (acme/curfew
    replaces cn-baseline/curfew; 12 regions, 466 points), ...`; ``verbs``: for one rule, for
    several (`("loosens the floor", "loosen the floor")`)."""
    counted: dict[str, list[int]] = {}
    for group in groups:
        for rule_id in group.ids:
            regions, points = counted.setdefault(rule_id, [0, 0])
            counted[rule_id] = [regions + len(group.regions), points + group.points]
    parts = []
    for rule_id, (regions, points) in counted.items():
        change = "" if rule_id == UNKNOWN else f"{change_of(rule_id, policies)}; "
        plural = "region" if regions == 1 else "regions"
        parts.append(f"{rule_id} ({change}{regions} {plural}, {points:,} points)")
    count = sum(1 for r in counted if r != UNKNOWN)
    noun = "rule" if count == 1 else "rules"
    verb = verbs[0] if count == 1 else verbs[1]
    return f"{count} {noun} {verb}: " + ", ".join(parts)
