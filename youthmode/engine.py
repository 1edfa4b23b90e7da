"""The engine: holds compiled policies and answers decision requests.

`decide` runs the pipeline: parse the request, resolve its facts, evaluate every rule in force at
`at`, combine (deny overrides), then look along the timeline for `remaining_seconds` or
`next_allowed_at`. The clock is read once per decision. Nothing here does I/O after loading, and
compiled policies are immutable, so one engine serves any number of threads.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from youthmode import compiled
from youthmode import request as request_module
from youthmode.decision import (
    ENGINE_ERROR,
    STORE_UNAVAILABLE,
    combine,
    fail_closed,
    fails_closed,
    trace_rules,
)
from youthmode.decision_joint import combine_lines
from youthmode.facts import RequestFacts
from youthmode.fastpath import decide_fast
from youthmode.joint import JointTimeline
from youthmode.lines import Lines, lines_for
from youthmode.model import Decision, DecisionRequest, Explanation, RuleTrace
from youthmode.model import request_problem_from as request_problem_from  # api_ledger.py
from youthmode.policies import CompiledPolicy, load_policies
from youthmode.request import Read, read
from youthmode.shipped import default_policies
from youthmode.timeline import Timeline

log = logging.getLogger("youthmode.engine")
_random = random.Random()  # decision ids need uniqueness, not secrecy
os.register_at_fork(after_in_child=_random.seed)  # forked workers must not repeat ids
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def python_decision_id(now: datetime) -> str:
    """A UUIDv7 (RFC 9562): time-ordered, so decision logs sort by id. Unique, not secret.
    youthmode/_response.c's `decision_id` is its compiled twin, `new_decision_id` below: the
    same id from the same random state (tests/test_response_compiled.py)."""
    millis = int(now.timestamp() * 1000) & 0xFFFF_FFFF_FFFF
    rand = _random.getrandbits(74)
    # 48 bits of milliseconds; version 7 and 12 random bits; variant 0b10 and 62 random bits.
    version, variant = 0x7000 | rand >> 62, 0x8000 | (rand >> 48) & 0x3FFF
    node = rand & 0xFFFF_FFFF_FFFF
    # printf-style: an f-string's format specs cost about 5,000 instructions more here
    # (docs/performance.md, "decide, fifth round").
    fields = (millis >> 16, millis & 0xFFFF, version, variant, node)
    return "%08x-%04x-%04x-%04x-%012x" % fields  # noqa: UP031


_response = compiled.load("_response")
# A partial, not a Python wrapper: a call less on every decision.
new_decision_id: Callable[[datetime], str] = python_decision_id
if _response is not None:
    new_decision_id = partial(_response.decision_id, _random.getrandbits)


class Engine:
    """Decides requests against a set of compiled policies.

    >>> engine = Engine.from_path("configs")
    >>> engine.decide({"subject": {"age": 12}, "action": "app.use"}).effect  # doctest: +SKIP
    """

    def __init__(
        self,
        policies: Iterable[CompiledPolicy],
        *,
        clock: Clock | None = None,
        default_policy: str | None = None,
        fast: bool = True,
    ) -> None:
        self._policies = {p.id: p for p in policies}
        self._clock = clock or system_clock
        # False: every decision takes the pure path (timeline.py), the fast path's reference.
        self.fast = fast
        marked = self._marked_defaults()
        if default_policy is not None and default_policy not in self._policies:
            raise ValueError(f"default policy `{default_policy}` is not loaded")
        if default_policy is None and len(self._policies) == 1:
            default_policy = next(iter(self._policies))
        self.default_policy = default_policy or (marked[0] if marked else None)
        self.loaded_at = self._clock()

    def _marked_defaults(self) -> list[str]:
        """Policies marked `default`, leaving out any that a marked pack extends."""
        marked = [p.id for p in self._policies.values() if p.default]
        ancestors: set[str] = set()
        for pid in marked:
            parent = self._policies[pid].extends
            while parent is not None and parent not in ancestors:
                ancestors.add(parent)
                parent = self._policies[parent].extends if parent in self._policies else None
        return [pid for pid in marked if pid not in ancestors]

    @classmethod
    def from_path(
        cls,
        *paths: str | Path,
        clock: Clock | None = None,
        default_policy: str | None = None,
        fast: bool = True,
    ) -> Engine:
        """Load, validate and compile every policy file under ``paths`` (raises PolicyError);
        with no paths, `configs`, or the packs shipped with the package where there is no
        `configs/` folder (`youthmode.shipped`)."""
        policies = load_policies(paths or (default_policies(),))
        return cls(policies, clock=clock, default_policy=default_policy, fast=fast)

    def warm(self) -> Engine:
        """Build each policy's calendar for this year and the next, so the first decisions
        are as fast as the rest (a holiday calendar's first use imports it: ~100 ms)."""
        now = self._clock()
        for policy in self._policies.values():
            year = now.astimezone(policy.zone).year
            policy.calendar.warm((year, year + 1))
        return self

    @property
    def clock(self) -> Clock:
        """The clock decisions read `now` from (once per decision)."""
        return self._clock

    @property
    def policies(self) -> Mapping[str, CompiledPolicy]:
        return self._policies

    def policy(self, policy_id: str | None = None) -> CompiledPolicy:
        """The policy named, else the default one (raises RequestError if there is none)."""
        return request_module.find_policy(self._policies, self.default_policy, policy_id)

    # -- deciding ---------------------------------------------------------------------------
    def decide(
        self,
        request: DecisionRequest | Mapping[str, Any],
        *,
        degraded: bool = False,
        store_unavailable: bool = False,
    ) -> Decision:
        """Decide one request. Raises RequestError for invalid input, never for evaluation.

        ``store_unavailable``: the ledger the usage should come from cannot be read. Protected
        subjects (minors and unknown ages) then get the action's declared `on_store_error`
        mode: a `store_unavailable` denial, or a decision on the request as given. Either way,
        and with ``degraded``, the decision is marked `degraded`.
        """
        if decide_compiled is not None:
            decision = decide_compiled(
                self,
                request,
                degraded,
                store_unavailable,
                # read here: an instance attribute costs Python a few instructions, C a look-up
                self._clock,
                self._policies,
                self.default_policy,
                self.fast,
            )
            if decision is not None:
                return decision
        return self.decide_python(request, degraded=degraded, store_unavailable=store_unavailable)

    def decide_python(
        self,
        request: DecisionRequest | Mapping[str, Any],
        *,
        degraded: bool = False,
        store_unavailable: bool = False,
    ) -> Decision:
        """`decide`, all in Python: the reference youthmode/_engine.c's `decide` is held to
        (tests/test_engine_compiled.py), and the route where that stage is not built."""
        now = self._clock()  # `_run`, written out: a call and its keywords less a decision
        found = read(request, self._policies, self.default_policy, now)
        return self._decided(found, now, False, degraded or store_unavailable, store_unavailable)[0]

    def explain(self, request: DecisionRequest | Mapping[str, Any]) -> Explanation:
        """The decision plus every rule considered, whether it applied, and why."""
        decision, trace = self._run(request, explain=True)
        return Explanation(decision=decision, trace=trace)

    def parse(self, request: DecisionRequest | Mapping[str, Any]) -> DecisionRequest:
        """The request as the model reads it (raises RequestError)."""
        return request_module.parse(request)

    def _run(
        self,
        request: DecisionRequest | Mapping[str, Any],
        *,
        explain: bool,
        degraded: bool = False,
        store_unavailable: bool = False,
    ) -> tuple[Decision, list[RuleTrace]]:
        now = self._clock()
        found = read(request, self._policies, self.default_policy, now)
        return self._decided(found, now, explain, degraded, store_unavailable)

    def decide_read(
        self, found: Read, now: datetime, *, degraded: bool = False, store_unavailable: bool = False
    ) -> Decision:
        """`decide` for a request already read at ``now`` (the engine's clock): the policy, local
        instant and facts `request.read_plain` gave, as the ledger fills them
        (`youthmode.ledger.plain`). The same decision as `decide` on that request."""
        return self._decided(found, now, False, degraded or store_unavailable, store_unavailable)[0]

    def _decided(
        self,
        found: Read,
        now: datetime,
        explain: bool,
        degraded: bool,
        store_unavailable: bool,
        drawn: str | None = None,
        tried: bool = False,
    ) -> tuple[Decision, list[RuleTrace]]:
        """The decision on what `read` found. ``drawn``: the id youthmode/_engine.c already
        drew for it; ``tried``: the fast path it asked declined, and is not asked again."""
        policy, at, facts = found
        decision_id = new_decision_id(now) if drawn is None else drawn
        simple = not facts.age_signals and facts.jurisdiction is None and policy.age_methods is None
        lines = None if simple else lines_for(policy, self._policies, facts, at)  # may raise
        try:
            youngest = facts if lines is None else lines.requested.facts[0]
            if store_unavailable and fails_closed(policy, youngest, at):
                return fail_closed(policy, youngest, at, decision_id, STORE_UNAVAILABLE), []
            fast = None
            if lines is None and self.fast and not explain and not tried:
                fast = decide_fast(policy, facts, at, decision_id)
            trace: list[RuleTrace] = []
            if fast is not None:
                decision = fast
            elif lines is None or lines.simple:
                line = Timeline(policy, facts, at) if lines is None else lines.timelines[0]
                decision, trace = evaluate(line, decision_id, explain)
            else:
                decision, trace = evaluate_lines(lines, decision_id, explain)
        except Exception:  # fail closed: a bug must never allow, nor escape as a 500
            log.exception("engine error in decision %s (policy %s)", decision_id, policy.id)
            return fail_closed(policy, facts, at, decision_id, ENGINE_ERROR), []
        if degraded:
            decision.degraded = True
        return decision, trace


def _compiled_decide() -> CompiledDecide | None:
    """youthmode/_engine.c's `decide`, handed the twin's own steps, or None where it is not
    built or not current (compiled.py)."""
    found: CompiledDecide | None = compiled.configured("_engine", _engine_configuration, "decide")
    return found


def _engine_configuration() -> dict[str, Any]:
    """What youthmode/_engine.c decides with: the twin's own steps and types."""
    return {
        "system_clock": system_clock,
        "read_compiled": request_module.read_compiled,
        "read": read,
        "decision_id": new_decision_id,
        "decide_fast": decide_fast,
        "engine": Engine,
        "facts": RequestFacts,
    }


CompiledDecide = Callable[
    [Engine, Any, bool, bool, Clock, Mapping[str, CompiledPolicy], str | None, bool],
    Decision | None,
]
decide_compiled = _compiled_decide()


def evaluate(line: Timeline, decision_id: str, explain: bool) -> tuple[Decision, list[RuleTrace]]:
    """Every rule in force at `at` gives its verdict (deny overrides); an allow looks ahead for
    how long it holds, a denial for when it ends; `decision.py` words the result."""
    now = line.start()
    denials = line.denials(now)
    remaining = next_allowed = None
    if denials:
        next_allowed = line.next_allowed(now)
    else:
        remaining = line.remaining_seconds(now)
    decision = combine(
        line, now, denials, decision_id, remaining=remaining, next_allowed=next_allowed
    )
    return decision, trace_rules(line.policy, line, now) if explain else []


def evaluate_lines(
    lines: Lines, decision_id: str, explain: bool
) -> tuple[Decision, list[RuleTrace]]:
    """Several lines (an age range, jurisdiction floors): deny if any denies, the least
    remaining time, the first instant all allow (`joint.py`)."""
    joint = JointTimeline(lines.timelines)
    moments = joint.start()
    denials = joint.denials(moments)
    remaining = next_allowed = None
    if any(denials):
        next_allowed = joint.next_allowed(moments)
    else:
        remaining = joint.remaining_seconds(moments)
    decision = combine_lines(
        lines, moments, denials, decision_id, remaining=remaining, next_allowed=next_allowed
    )
    if not explain:
        return decision, []
    trace: list[RuleTrace] = []
    ranged = len(lines.timelines) > len(lines.packs)
    for line, m in zip(lines.timelines, moments, strict=True):
        for entry in trace_rules(line.policy, line, m):
            if ranged:
                entry.detail = f"age {m.age if m.age is not None else 'unknown'}: {entry.detail}"
            trace.append(entry)
    return decision, trace
