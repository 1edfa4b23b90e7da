"""Replay: re-decide a decision log against another policy set and count what would change.

Each log line (youthmode/server/decision_log.py) holds the request as the engine saw it, with
`at` in the policy's zone and the age instead of a birthdate. Replaying decides that request
again with the new engine, at the logged instant, and compares effect, reasons and band.

It streams: memory holds the counters and at most ``examples`` examples per kind, whatever the
length of the log. The studio calls `replay` (or feeds a `Replayer` line by line); the
`youthmode replay` command renders the report (authoring/replay_report.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from youthmode.engine import Engine
from youthmode.errors import RequestError
from youthmode.model import Usage

ALLOW_TO_DENY, DENY_TO_ALLOW = "allow_to_deny", "deny_to_allow"
REASONS_CHANGED, BAND_CHANGED = "reasons_changed", "band_changed"
CHANGE_KINDS = (ALLOW_TO_DENY, DENY_TO_ALLOW, REASONS_CHANGED, BAND_CHANGED)
FLIPS = (ALLOW_TO_DENY, DENY_TO_ALLOW)

# Why a line was not replayed.
UNREADABLE = "unreadable"  # not JSON, or not a decision record
TRUNCATED = "truncated"  # the last line, cut off without its newline (a killed writer)
UNKNOWN_POLICY = "unknown_policy"  # the new set has no policy of that id
FAILED_CLOSED = "failed_closed"  # logged as a fail-closed denial: nothing was decided then
REJECTED = "rejected"  # the new set finds the request invalid (e.g. an action it dropped)
NO_TIME = "no_time"  # neither `request.at` nor `facts.local_time`: no instant to replay at

FAIL_CLOSED_CODES = frozenset({"engine_error", "store_unavailable"})
# Usage figures the facts hold: a reservation's logged request has none of its own.
USAGE_FACTS = tuple(Usage.model_fields)  # the model's order
DIGESTS_KEPT = 8  # distinct logged digests remembered per policy (one per reload, usually)
DEFAULT_EXAMPLES = 3


class ReplayError(ValueError):
    """A file that is not a decision log: its first record cannot be read as one."""

    def __init__(self, source: str, line: int, why: str) -> None:
        self.source, self.line, self.why = source, line, why
        super().__init__(f"{source}:{line}: not a decision log: {why}")


class BadRecord(ValueError):
    """One line that is not a decision record (why, in the message)."""


@dataclass(frozen=True)
class Outcome:
    """What a decision came to: effect, band and reason codes."""

    effect: str
    band: str | None
    reasons: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"effect": self.effect, "band": self.band, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class Example:
    """One changed decision: where it is in the log, what it asked, before and after."""

    kind: str
    decision_id: str
    source: str
    line: int
    policy: str
    action: str
    at: str
    before: Outcome
    after: Outcome

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "decision_id": self.decision_id,
            "source": self.source,
            "line": self.line,
            "policy": self.policy,
            "action": self.action,
            "at": self.at,
            "before": self.before.as_json(),
            "after": self.after.as_json(),
        }


@dataclass(frozen=True)
class Skipped:
    """One line not replayed, and why."""

    reason: str
    source: str
    line: int
    detail: str


@dataclass
class PolicySeen:
    """The digests a policy id was logged under, and the new set's digest for it."""

    new_digest: str | None
    decisions: int = 0
    logged: Counter[str] = field(default_factory=Counter)

    def add(self, digest: str | None) -> None:
        self.decisions += 1
        if digest is not None and (digest in self.logged or len(self.logged) < DIGESTS_KEPT):
            self.logged[digest] += 1


def _nested() -> dict[str, Counter[str]]:
    return {}


@dataclass
class ReplayReport:
    """Counts over every line read; a bounded number of examples of each kind of change."""

    examples_per_kind: int = DEFAULT_EXAMPLES
    total: int = 0
    replayed: int = 0
    unchanged: int = 0
    changes: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    by_action: dict[str, Counter[str]] = field(default_factory=_nested)
    by_band: dict[str, Counter[str]] = field(default_factory=_nested)
    by_reason: dict[str, Counter[str]] = field(default_factory=_nested)
    examples: dict[str, list[Example]] = field(default_factory=dict)
    skipped_examples: dict[str, list[Skipped]] = field(default_factory=dict)
    policies: dict[str, PolicySeen] = field(default_factory=dict)

    @property
    def flipped(self) -> int:
        """Decisions whose effect changed (allow to deny or deny to allow)."""
        return sum(self.changes[kind] for kind in FLIPS)

    def count_change(self, example: Example) -> None:
        kind = example.kind
        self.changes[kind] += 1
        self.by_action.setdefault(example.action, Counter())[kind] += 1
        self.by_band.setdefault(example.before.band or "-", Counter())[kind] += 1
        for code in sorted(set(example.before.reasons) ^ set(example.after.reasons)):
            self.by_reason.setdefault(code, Counter())[kind] += 1
        kept = self.examples.setdefault(kind, [])
        if len(kept) < self.examples_per_kind:
            kept.append(example)

    def count_skip(self, skip: Skipped) -> None:
        self.skipped[skip.reason] += 1
        kept = self.skipped_examples.setdefault(skip.reason, [])
        if len(kept) < self.examples_per_kind:
            kept.append(skip)


@dataclass(frozen=True)
class Record:
    """The parts of one log line a replay reads."""

    decision_id: str
    policy: str
    digest: str | None
    request: dict[str, Any]
    before: Outcome


class Replayer:
    """Replays log lines into one report; feed it several logs in turn.

    Decisions read their clock from the line being replayed (its `at`), never the wall clock:
    the engine given is rebuilt around that clock, sharing its compiled policies.
    """

    def __init__(self, engine: Engine, *, examples: int = DEFAULT_EXAMPLES) -> None:
        self._at = datetime.fromisoformat("2000-01-01T00:00:00+00:00")
        self.engine = Engine(
            engine.policies.values(),
            clock=lambda: self._at,
            default_policy=engine.default_policy,
            fast=engine.fast,
        )
        self.report = ReplayReport(examples_per_kind=examples)

    def feed(self, lines: Iterable[str | bytes], source: str = "<log>") -> ReplayReport:
        """Replay every line of one log (as read from a file: each with its newline, the last
        perhaps without). Raises ReplayError when the first record is not a decision record."""
        first = True
        pending: tuple[int, str | bytes] | None = None
        for number, line in enumerate(lines, start=1):
            if pending is not None:  # a line followed by another was written whole
                self._line(*pending, source, first, last=False)
                first = False
            pending = (number, line) if line.strip() else None  # blank lines are passed over
        if pending is not None:
            self._line(*pending, source, first, last=True)
        return self.report

    def _line(self, number: int, line: str | bytes, source: str, first: bool, last: bool) -> None:
        self.report.total += 1
        try:
            record = read_record(line)
        except BadRecord as err:
            cut = last and not _ends_line(line)
            if first and not cut:
                raise ReplayError(source, number, str(err)) from None
            reason = TRUNCATED if cut else UNREADABLE
            self.report.count_skip(Skipped(reason, source, number, str(err)))
            return
        self._replay(record, source, number)

    def _replay(self, record: Record, source: str, number: int) -> None:
        report = self.report
        policy = self.engine.policies.get(record.policy)
        seen = report.policies.get(record.policy)
        if seen is None:
            digest = policy.digest if policy is not None else None
            seen = report.policies[record.policy] = PolicySeen(digest)
        seen.add(record.digest)
        why = _not_replayable(record, policy is not None)
        if why is not None:
            report.count_skip(Skipped(why[0], source, number, why[1]))
            return
        request = record.request
        try:
            self._at = datetime.fromisoformat(request["at"])
            decision = self.engine.decide(request)
        except (RequestError, ValueError) as err:  # ValueError: `at` is not a timestamp
            report.count_skip(Skipped(REJECTED, source, number, str(err)))
            return
        report.replayed += 1
        after = Outcome(decision.effect, decision.band, tuple(decision.reason_codes))
        kind = change_kind(record.before, after)
        if kind is None:
            report.unchanged += 1
            return
        action = str(request.get("action"))
        report.count_change(
            Example(
                kind,
                record.decision_id,
                source,
                number,
                record.policy,
                action,
                request["at"],
                record.before,
                after,
            )
        )


def replay(
    lines: Iterable[str | bytes], engine: Engine, *, examples: int = DEFAULT_EXAMPLES
) -> ReplayReport:
    """Re-decide every decision of a log (its lines) with ``engine``: what would change.

    >>> report = replay(open("decisions.jsonl"), Engine.from_path("edited"))  # doctest: +SKIP
    >>> report.flipped, report.changes, report.examples                        # doctest: +SKIP
    """
    return Replayer(engine, examples=examples).feed(lines)


def change_kind(before: Outcome, after: Outcome) -> str | None:
    """How a decision changed: a flip outranks other reasons, which outrank another band."""
    if before.effect != after.effect:
        return ALLOW_TO_DENY if after.effect == "deny" else DENY_TO_ALLOW
    if sorted(before.reasons) != sorted(after.reasons):  # the order of rules is no change
        return REASONS_CHANGED
    if before.band != after.band:
        return BAND_CHANGED
    return None


def _not_replayable(record: Record, known: bool) -> tuple[str, str] | None:
    if not known:
        return UNKNOWN_POLICY, f"policy `{record.policy}` is not in the new policy set"
    failed = FAIL_CLOSED_CODES.intersection(record.before.reasons)
    if failed:
        return FAILED_CLOSED, f"logged as a fail-closed denial ({', '.join(sorted(failed))})"
    if not isinstance(record.request.get("at"), str):
        return NO_TIME, "the record has neither `request.at` nor `facts.local_time`"
    return None


def _ends_line(line: str | bytes) -> bool:
    return line.endswith(b"\n") if isinstance(line, bytes) else line.endswith("\n")


def read_record(line: str | bytes) -> Record:
    """One log line as a replayable record (raises BadRecord saying what is wrong)."""
    try:
        entry = orjson.loads(line)
    except orjson.JSONDecodeError as err:
        raise BadRecord(f"not JSON ({err})") from None
    if type(entry) is not dict:
        raise BadRecord("not a JSON object")
    policy, request = entry.get("policy"), entry.get("request")
    if type(policy) is not dict or type(policy.get("id")) is not str:
        raise BadRecord("no `policy.id`")
    if type(request) is not dict or type(request.get("action")) is not str:
        raise BadRecord("no `request` with an `action`")
    effect, reasons = entry.get("effect"), entry.get("reasons")
    if effect not in ("allow", "deny"):
        raise BadRecord("`effect` is neither allow nor deny")
    if type(reasons) is not list or not all(type(code) is str for code in reasons):
        raise BadRecord("`reasons` is not a list of reason codes")
    decision_id = entry.get("decision_id")
    if type(decision_id) is not str:
        raise BadRecord("no `decision_id`")
    band = entry.get("band")
    digest = policy.get("digest")
    before = Outcome(effect, band if type(band) is str else None, tuple(reasons))
    facts = entry.get("facts")
    filled = _as_decided(request, policy["id"], facts if type(facts) is dict else {})
    return Record(
        decision_id, policy["id"], digest if type(digest) is str else None, filled, before
    )


def _as_decided(request: dict[str, Any], policy: str, facts: dict[str, Any]) -> dict[str, Any]:
    """The logged request, made to decide as it did: under the logged policy id (the new set's
    default may differ), at the logged instant, with the usage the facts show when the request
    carries none (a reservation is logged without the ledger's figures)."""
    request["policy"] = policy
    if request.get("at") is None and isinstance(facts.get("local_time"), str):
        request["at"] = facts["local_time"]
    if request.get("usage") is None:
        usage = {key: facts[key] for key in USAGE_FACTS if facts.get(key) is not None}
        if usage:
            request["usage"] = usage
    return request
