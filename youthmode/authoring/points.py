"""The points of the diff domain: a request's facts other than its time and today's use
(`Guard`), time classes, the unit (one action and one age) that holds their candidate values,
and an evaluated point (`Hit`) as a request and as labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from youthmode.facts import Moment, RequestFacts, request_facts
from youthmode.policies.compile import Plan
from youthmode.units import format_duration


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
    # the world kinds' facts (CONTRACT section 6): the app's and the week's use, the guardian's
    # consent to the app and link
    app_today: int = 0
    week: int = 0
    app_consent: str | None = None
    linked: bool = False
    # `subject.jurisdiction`: which of the compared policies' floors apply (floors.py)
    jurisdiction: str | None = None

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
        """The facts of a request with these values, built as a decision's are
        (`facts.request_facts`): a declared age, no guardian limit, curfew or granted time (not
        in the domain)."""
        exempt_apps = frozenset([self.app]) if self.app_exempt and self.app else frozenset()
        guardian = (frozenset(self.consents), frozenset(self.exemptions), exempt_apps, None, 0, ())
        usage = (today, session, self.day_spent, self.month_spent)
        world = ((), self.jurisdiction, self.app_consent, self.linked, self.app_today, self.week)
        subject = (self.verified, None, age)
        return request_facts(action, False, subject, self.resource(), usage, guardian, None, world)

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
        # the world kinds' facts only where set: other units show them as "none"
        for key, shown in (
            ("jurisdiction", self.jurisdiction),
            ("app_consent", self.app_consent),
            ("linked", "true" if self.linked else None),
            ("app_today_seconds", _seconds_label(self.app_today) if self.app_today else None),
            ("week_seconds", _seconds_label(self.week) if self.week else None),
        ):
            if shown is not None:
                out[key] = shown
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
MISSING: Signature = (False, ("unknown_action",), ())  # a policy without the action


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
        """The point as a decision request (JSON-ready); empty parts left out."""
        g = self.guard
        req: dict[str, Any] = {}
        if policy_id is not None:
            req["policy"] = policy_id
        subject: dict[str, Any] = {}
        if self.unit.age is not None:
            subject["age"] = self.unit.age
        subject["verified"] = g.verified
        if g.jurisdiction is not None:
            subject["jurisdiction"] = g.jurisdiction
        req["subject"] = subject
        req["action"] = self.unit.action
        req["at"] = self.time_class.at.isoformat()
        for key, part in (
            ("usage", _usage_part(self)),
            ("resource", _resource_part(g)),
            ("guardian", _guardian_part(g)),
        ):
            if part:
                req[key] = part
        return req

    def labels(self) -> dict[str, str]:
        out = dict.fromkeys(self.unit.candidates, "none")
        out.update(self.guard.labels(self.unit.age))
        out["today_seconds"] = _seconds_label(self.today)
        out["session_seconds"] = _seconds_label(self.session)
        return out


def _usage_part(hit: Hit) -> dict[str, Any]:
    g = hit.guard
    usage: dict[str, Any] = {}
    if hit.today:
        usage["today_seconds"] = hit.today
    if hit.session:
        usage["session_seconds"] = hit.session
    if g.month_spent:
        usage["month_spent"] = str(g.month_spent)
    if g.day_spent:
        usage["day_spent"] = str(g.day_spent)
    if g.app_today:
        usage["app_today_seconds"] = g.app_today
    if g.week:
        usage["week_seconds"] = g.week
    return usage


def _resource_part(g: Guard) -> dict[str, Any]:
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
    return resource


def _guardian_part(g: Guard) -> dict[str, Any]:
    guardian: dict[str, Any] = {}
    if g.exemptions:
        guardian["exemptions"] = list(g.exemptions)
    if g.consents:
        guardian["consents"] = list(g.consents)
    if g.app_exempt and g.app:
        guardian["exempt_apps"] = [g.app]
    if g.app_consent is not None:
        guardian["app_consent"] = g.app_consent
    if g.linked:
        guardian["linked"] = True
    return guardian


def _seconds_label(seconds: int) -> str:
    return "0" if seconds == 0 else f"{seconds}s ({format_duration(seconds)})"


def candidate_labels(unit: Unit) -> dict[str, list[str]]:
    """Every label each dimension takes in the unit (to tell "any value" from some)."""
    out: dict[str, dict[str, None]] = {}
    every = [guard.labels(unit.age) for guard in unit.guards]
    keys = dict.fromkeys(key for labels in every for key in labels)
    for labels in every:
        for key in keys:  # a guard without the key (a world fact unset) reads "none"
            out.setdefault(key, {})[labels.get(key, "none")] = None
    out["today_seconds"] = dict.fromkeys(_seconds_label(t) for t in unit.todays)
    out["session_seconds"] = dict.fromkeys(_seconds_label(s) for s in unit.sessions)
    return {k: list(v) for k, v in out.items()}
