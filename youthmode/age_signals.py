"""Age signals: what platforms and checks said about a subject's age, and which one counts.

Since 2025 age reaches backends as ranges (Apple's Declared Age Range, Google Play Age Signals,
Windows' age APIs: `13-15`, `16-17`, `18+`) with how each was established. The contract
(section 6) decides which counts:

- a policy accepts the methods it lists (default: all); the other signals are ignored and
  reported;
- of the accepted signals with a bound, the lowest `upper` wins (open-ended is highest), then
  the lowest `lower`: the youngest category wins, as the US app-store laws require for safety
  defaults (Utah Code 13-76-202(3));
- a signal with neither bound (declined, unavailable) carries no age, and never means adult.

An exact `subject.age` or `subject.birthdate` is a signal of one age with method `operator`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

AgeMethod = Literal[  # how an age was established, weakest first (CONTRACT section 6)
    "self_declared",
    "guardian_declared",
    "estimation",
    "payment",
    "email",
    "gov_id",
    "id_plus_selfie",
    "digital_id",
    "confirmed",
    "operator",
]
METHODS: tuple[str, ...] = get_args(AgeMethod)
MAX_AGE = 150
MAX_SIGNALS = 16  # a request carries a few platforms' answers, not a history
MAX_SOURCE_LENGTH = 64
# Deciding over an open-ended range ("13 or older") tries every age up to this one: the rules of
# every pack youthmode knows stop changing at adulthood.
OPEN_RANGE_THROUGH = 18


def ordered_methods(methods: frozenset[str] | None) -> tuple[str, ...] | None:
    """A set of methods in the order of `METHODS` (weakest first), as answers list them."""
    return None if methods is None else tuple(m for m in METHODS if m in methods)


@dataclass(frozen=True, slots=True)
class AgeSignal:
    source: str
    lower: int | None
    upper: int | None
    method: str
    observed_at: datetime | None = None

    @property
    def has_bound(self) -> bool:
        return self.lower is not None or self.upper is not None

    def youth_order(self) -> tuple[int | float, int]:
        """Sorts the youngest category first: lowest `upper` (open = highest), then `lower`."""
        return (float("inf") if self.upper is None else self.upper, self.lower or 0)


@dataclass(frozen=True, slots=True)
class AgeRange:
    """The ages the subject may be: `lower` to `upper` inclusive (`upper` None: or older)."""

    lower: int
    upper: int | None
    source: str
    method: str

    @property
    def exact(self) -> bool:
        return self.upper == self.lower

    def ages(self, through: int = OPEN_RANGE_THROUGH) -> range:
        """Every whole age to decide for; an open range stops at ``through`` (or at `lower`)."""
        last = self.upper if self.upper is not None else max(self.lower, through)
        return range(self.lower, last + 1)

    def to_dict(self) -> dict[str, int | str | None]:
        return {
            "lower": self.lower,
            "upper": self.upper,
            "source": self.source,
            "method": self.method,
        }


@dataclass(frozen=True, slots=True)
class Resolution:
    """Which signal counts under a policy, and which were set aside because of their method."""

    range: AgeRange | None
    ignored: tuple[AgeSignal, ...] = ()


def resolve(signals: Iterable[AgeSignal], accepted: frozenset[str] | None = None) -> Resolution:
    """The youngest accepted category, or no range when no accepted signal has a bound.

    ``accepted``: the methods the policy accepts (None: every method). Ties keep the order the
    caller sent, so the same request always resolves the same way.
    """
    ignored: list[AgeSignal] = []
    best: AgeSignal | None = None
    for signal in signals:
        if accepted is not None and signal.method not in accepted:
            ignored.append(signal)
        elif signal.has_bound and (best is None or signal.youth_order() < best.youth_order()):
            best = signal
    if best is None:
        return Resolution(None, tuple(ignored))
    found = AgeRange(best.lower or 0, best.upper, best.source, best.method)
    return Resolution(found, tuple(ignored))


def check_bounds(lower: int | None, upper: int | None) -> str | None:
    """Why a signal's bounds are impossible, or None when they are fine."""
    for name, value in (("lower", lower), ("upper", upper)):
        if value is not None and not 0 <= value <= MAX_AGE:
            return f"`{name}` must be a whole age from 0 to {MAX_AGE}, not {value}"
    if lower is not None and upper is not None and lower > upper:
        return f"`lower` ({lower}) is above `upper` ({upper})"
    return None


def exact(age: int, source: str = "subject.age") -> AgeSignal:
    """`subject.age` or the age from `subject.birthdate`: one age, vouched for by the operator."""
    return AgeSignal(source, age, age, "operator")
