"""Jurisdiction floors in the diff domain (CONTRACT section 6, issue 12).

A policy compared by `diff` or `floor` may name floor packs per jurisdiction. The engine decides
a subject of such a jurisdiction by the policy **and** those packs (`lines.floors_of`: the
subdivision's packs, then its country's; a pack whose catalog lacks the action does not
restrict it), deny if any denies, reasons united in the packs' order (a rule counted once).
The domain does the same: `subject.jurisdiction` is one more dimension (none, and every key of
the compared policies' floors), the floor packs are evaluated beside the compared policies, and
each compared side's answer is the joint answer of its lines.

Each pack reads the clock in its own zone (days.py cuts the slices at its edges). A floor pack
that caps the action in another currency than the policy's makes the engine refuse the request
(a 400 `unsupported_currency`): the domain answers `REFUSED` there, and `regions.confirm` expects
that error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from youthmode.authoring.points import Signature
from youthmode.jurisdictions import lookup_order
from youthmode.policies import CompiledPolicy

# A request the engine refuses: a floor caps the action in another currency (lines._for_floor).
REFUSED: Signature = (False, ("unsupported_currency",), ())

# One policy's answer at a point: the denying rules, and the due obligations (when it allows) or
# the remedies compared (when it denies), as (ref, code) (outcomes.py).
Outcome = tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]


class Floors:
    """The compared policies (the sides) and the floor packs they name, as one list of
    policies (`all`), and which of them decide each side's answer (`lines`)."""

    def __init__(
        self,
        sides: Sequence[CompiledPolicy],
        lookups: Sequence[Mapping[str, CompiledPolicy]] | None = None,
    ) -> None:
        self.sides = tuple(sides)
        self.packs: list[CompiledPolicy] = []
        keys = sorted({k for p in self.sides for k in p.floors})
        self.jurisdictions: list[str | None] = [None, *keys]
        self._chains: dict[tuple[int, str], list[int]] = {}
        for i, policy in enumerate(self.sides):
            lookup = lookups[i] if lookups is not None else {}
            for key in keys:
                self._chains[(i, key)] = self._chain(policy, lookup, key)

    def _chain(
        self, policy: CompiledPolicy, lookup: Mapping[str, CompiledPolicy], jurisdiction: str
    ) -> list[int]:
        """The indices (in `all`) of the packs ``policy`` names for ``jurisdiction``, in the
        engine's order (`lines.floors_of`)."""
        chain: list[int] = []
        for key in lookup_order(jurisdiction):
            for pack_id in policy.floors.get(key, ()):
                pack = lookup.get(pack_id)
                if pack is None or pack is policy:
                    continue
                index = self._index(pack)
                if index not in chain:
                    chain.append(index)
        return chain

    def _index(self, pack: CompiledPolicy) -> int:
        for n, known in enumerate(self.packs):
            if known is pack:
                return len(self.sides) + n
        self.packs.append(pack)
        return len(self.sides) + len(self.packs) - 1

    def all(self) -> list[CompiledPolicy]:
        return [*self.sides, *self.packs]

    def lines(self, side: int, jurisdiction: str | None, action: str) -> tuple[int, ...]:
        """The policies (indices in `all`) deciding ``side``'s answer: itself, then the floor
        packs for ``jurisdiction`` whose catalog lists ``action``."""
        if jurisdiction is None:
            return (side,)
        found = [side]
        for index in self._chains.get((side, jurisdiction), ()):
            if action in self.packs[index - len(self.sides)].actions:
                found.append(index)
        return tuple(found)


def refused(policy: CompiledPolicy, packs: Sequence[CompiledPolicy], action: str) -> bool:
    """Whether the engine refuses ``action`` for a subject whose floors are ``packs``: one caps
    it in another currency than ``policy``'s."""
    return any(
        pack.currency != policy.currency
        and any(r.kind == "spending_cap" and action in r.actions for r in pack.rules)
        for pack in packs
    )


def joint(outcomes: Sequence[Outcome]) -> Signature:
    """The answer of several lines as the engine gives it (`decision_joint.combine_lines`):
    deny if any denies, reason codes in the lines' order, each rule once, with the remedies
    compared (`use_instead`) of the denying lines; due obligations united when all allow."""
    denied = _unique(d for outcome in outcomes for d in outcome[0])
    if denied:
        remedies = _unique(d for outcome in outcomes if outcome[0] for d in outcome[1])
        return (False, tuple(code for _, code in denied), tuple(code for _, code in remedies))
    due = _unique(d for outcome in outcomes for d in outcome[1])
    return (True, (), tuple(code for _, code in due))


def _unique(items: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    out = []
    for ref, code in items:
        if ref not in seen:
            seen.add(ref)
            out.append((ref, code))
    return out
