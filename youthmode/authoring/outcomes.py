"""One policy's answer at one point of the diff domain, as the engine would give it: the rules
that deny (with the code each denies with) and, when reasons and obligations are compared, what
the decision carries beside: due rest reminders and `use_warning` obligations when it allows,
the actions a refused consent falls back to (`instead`: remedy `use_instead`) when it denies.
`floors.joint` unites the answers of a policy and its floor packs."""

from __future__ import annotations

from typing import Any

from youthmode.authoring import dimensions as dims
from youthmode.authoring.floors import Outcome
from youthmode.facts import Moment, RequestFacts
from youthmode.policies import CompiledPolicy
from youthmode.policies.rules import RestReminderRule
from youthmode.timeline import Active


def outcome(active: Active, m: Moment, req: RequestFacts, obligations: bool) -> Outcome:
    """As the engine decides at ``m``: rules carrying dates only on the dates they bind."""
    rules = active.rules
    if active.dated:
        rules = tuple(r for r in rules if not r.dated or r.in_force_on(m.date))
    denying = [r for r in rules if r.denies(m, req)]
    denied = tuple((r.ref, r.denied(m, req).code) for r in denying)
    if denied or not obligations:
        insteads = [(r.ref, f"use_instead {_instead(r)}") for r in denying if _instead(r)]
        return (denied, tuple(insteads) if obligations else ())
    due = active.obligations_on(m.date)
    reminders = dims.reading(due, "session", RestReminderRule)
    found = [(r.ref, r.code) for r in reminders if r.due(m)]
    return ((), (*found, *dims.warning_codes(due, m)))


def _instead(rule: Any) -> str | None:
    """The action a refused consent falls back to (`require_consent`'s `instead`), if any."""
    return getattr(rule, "instead", None)


def age_of(policy: CompiledPolicy, age: int | None) -> int | None:
    """The age ``policy`` reads from a declared `subject.age` (method `operator`): none when it
    does not accept that method (`lines.pack_ages`)."""
    methods = policy.age_methods
    return age if methods is None or "operator" in methods else None


class Probe:
    """A request stand-in for the rules that read only the clock: window rules, and quiet hours
    for a subject who gives no zone and no consent (the time classes are cut by them)."""

    timezone = None
    consents: frozenset[str] = frozenset()


PROBE: Any = Probe()
