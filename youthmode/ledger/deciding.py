"""The one "decide with the ledger" use case, shared by the HTTP API and `Ledger.decide`.

Read the subject's usage and guardian settings from the ledger (a caller's explicit `usage`
wins), then decide or explain. When the store cannot be read the decision fails closed
(`store_unavailable`) unless the caller gave its usage, in which case it is marked `degraded`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from youthmode.engine import Engine
    from youthmode.model import Decision, DecisionRequest, RuleTrace


class Preparer(Protocol):
    """What deciding needs of a ledger: the request filled from it, and the store mode."""

    def prepare(
        self, request: DecisionRequest, engine: Engine | None = None
    ) -> tuple[DecisionRequest, str | None]: ...


@dataclass(frozen=True)
class Decided:
    """A decision, the request as decided (filled from the ledger) and, if asked, the trace."""

    decision: Decision
    request: DecisionRequest
    trace: list[RuleTrace] | None = None


def decide(
    engine: Engine, ledger: Preparer | None, request: DecisionRequest, *, explain: bool = False
) -> Decided:
    """Decide ``request`` with what ``ledger`` knows of its subject (no ledger: as given).

    With ``explain``, the trace comes too, except when the store could not be read and the
    decision had to fail closed: that decision has no rules to trace (`trace` is None).
    """
    filled, mode = request, None
    if ledger is not None:
        filled, mode = ledger.prepare(request, engine)
    degraded, unavailable = mode == "degraded", mode == "unavailable"
    if explain and not unavailable:
        result = engine.explain(filled)
        if degraded:
            result.decision.degraded = True
        return Decided(result.decision, filled, result.trace)
    decision = engine.decide(filled, degraded=degraded, store_unavailable=unavailable)
    return Decided(decision, filled)
