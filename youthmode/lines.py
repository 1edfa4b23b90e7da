"""The timelines one request is decided on: each pack that applies, at each age it may be.

Most requests are one line: the requested policy and an exact age (or none). CONTRACT section 6
adds two ways to have more, decided together by `joint.py` (most protective answer):

- **Jurisdiction floors.** The requested policy's `floors` name packs for the subject's
  jurisdiction (the subdivision's first, `US-TX`, then its country's, `US`; both apply). A
  floor whose catalog lacks the action does not restrict it.
- **Age signals.** Each pack accepts its own methods (`[age_assurance] methods`), so each
  resolves the signals itself (`age_signals.resolve`: the youngest accepted category wins);
  `subject.age` and `subject.birthdate` are one more signal, of one age, method `operator`. A
  range is decided at every whole age in it, each as its own line.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from youthmode.age_signals import AgeRange, AgeSignal, Resolution, exact, resolve
from youthmode.errors import RequestError
from youthmode.facts import RequestFacts, age_on, with_age
from youthmode.jurisdictions import lookup_order
from youthmode.policies import CompiledPolicy
from youthmode.timeline import Timeline


@dataclass(frozen=True, slots=True)
class PackAges:
    """One pack's view of the subject's age: the facts of each line, and how it was found."""

    policy: CompiledPolicy
    facts: tuple[RequestFacts, ...]
    resolution: Resolution | None  # None: no signals, the request's own age as given

    @property
    def age_range(self) -> AgeRange | None:
        """The signal that counted, when it came from a platform (not `subject.age`)."""
        found = self.resolution.range if self.resolution else None
        return found if found is not None and found.method != "operator" else None


@dataclass(frozen=True, slots=True)
class Lines:
    """Every timeline of one request, the requested policy's first, youngest age first."""

    packs: tuple[PackAges, ...]
    timelines: tuple[Timeline, ...]

    @property
    def simple(self) -> bool:
        """One pack, one line, no signals: decided exactly as before signals existed."""
        return len(self.timelines) == 1 and self.packs[0].resolution is None

    @property
    def requested(self) -> PackAges:
        return self.packs[0]


def floors_of(
    policy: CompiledPolicy, policies: dict[str, CompiledPolicy], facts: RequestFacts
) -> list[CompiledPolicy]:
    """The floor packs that bind this request's subject for its action, in order."""
    floors = policy.floors
    if not floors or facts.jurisdiction is None:
        return []
    found: list[CompiledPolicy] = []
    for key in lookup_order(facts.jurisdiction):
        for pack_id in floors.get(key, ()):
            pack = policies.get(pack_id)
            if pack is not None and pack is not policy and pack not in found:
                if facts.action in pack.actions:
                    found.append(pack)
    return found


def pack_ages(policy: CompiledPolicy, facts: RequestFacts, at: datetime) -> PackAges:
    """The lines' facts for one pack: one per age the subject may be under its methods."""
    accepted = policy.age_methods  # None: every method
    if not facts.age_signals and (accepted is None or "operator" in accepted):
        return PackAges(policy, (facts,), None)
    signals = list(facts.age_signals)
    own = _own_age(policy, facts, at)
    if own is not None:
        signals.append(own)
    resolution = resolve(signals, accepted)
    found = resolution.range
    if found is None:
        unknown = with_age(facts, None)
        return PackAges(policy, (unknown,), resolution)
    if found.method == "operator" and own is not None and found.source == own.source:
        return PackAges(policy, (facts,), resolution)  # the exact age won: as given
    ages = tuple(with_age(facts, age, found.method) for age in found.ages())
    return PackAges(policy, ages, resolution)


def _own_age(policy: CompiledPolicy, facts: RequestFacts, at: datetime) -> AgeSignal | None:
    """`subject.birthdate` or `subject.age` as a signal of one age, vouched for by the caller."""
    if facts.birthdate is not None:
        local = at.astimezone(policy.zone).date()
        return exact(age_on(facts.birthdate, local, policy.age_rollover), "subject.birthdate")
    if facts.declared_age is not None:
        return exact(facts.declared_age, "subject.age")
    return None


def lines_for(
    policy: CompiledPolicy,
    policies: dict[str, CompiledPolicy],
    facts: RequestFacts,
    at: datetime,
) -> Lines:
    packs = [pack_ages(policy, facts, at)]
    for floor in floors_of(policy, policies, facts):
        packs.append(pack_ages(floor, _for_floor(floor, policy, facts), at))
    # Each pack reads the clock in its own zone: a timeline takes `at` as its local time.
    timelines = tuple(
        Timeline(pack.policy, line_facts, at.astimezone(pack.policy.zone))
        for pack in packs
        for line_facts in pack.facts
    )
    return Lines(tuple(packs), timelines)


def _caps(policy: CompiledPolicy, action: str) -> bool:
    return any(r.kind == "spending_cap" and action in r.actions for r in policy.rules)


def _for_floor(floor: CompiledPolicy, policy: CompiledPolicy, facts: RequestFacts) -> RequestFacts:
    """The request's facts as ``floor`` reads them: its own catalog says whether the action is
    metered; money it caps must be in its currency (a cap is never compared across currencies,
    so a request it cannot compare is refused rather than let past the cap)."""
    action = floor.actions[facts.action]
    if _caps(floor, facts.action):
        if facts.amount is None:
            raise RequestError.single(
                ("resource", "amount"),
                f"`{facts.action}` is a spending action for the floor pack `{floor.id}` and "
                "needs `resource.amount`",
                code="missing_amount",
                hint='e.g. "amount": "30.00"',
            )
        currency = facts.resource.get("currency") or policy.currency
        if currency != floor.currency:
            raise RequestError.single(
                ("resource", "currency"),
                f"the floor pack `{floor.id}` counts money in {floor.currency}, not {currency}",
                code="unsupported_currency",
                hint=f"send amounts in {floor.currency} for subjects in {facts.jurisdiction}",
            )
    if action.metered == facts.metered:
        return facts
    return dataclasses.replace(facts, metered=action.metered)
