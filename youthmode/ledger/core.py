"""The ledger's core: atomic writes, usage, totals, and decisions that read the ledger.

Usage events are checked and recorded by `events.py`; the documents and their keys are in
`documents.py`; what a write accepts in `checks.py`. Decisions with a subject id and no
`usage` get today's use, the session and the spend from here (see `service.py` for the whole
`Ledger`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from youthmode.engine import Engine, system_clock
from youthmode.ledger import deciding, plain
from youthmode.ledger import guardian as guardian_rules
from youthmode.ledger.apps import apps_today, day_intervals, week_days, week_seconds
from youthmode.ledger.checks import (
    IDEMPOTENCY_SECONDS,
    MAX_IDEMPOTENCY_KEYS,
    Idempotency,
    check_encodable,
    check_subject_id,
)
from youthmode.ledger.decision_usage import decision_usage
from youthmode.ledger.documents import (
    dec,
    decision_keys,
    iso_day,
    month_of,
    usage_key,
)
from youthmode.ledger.events import Event, check_event, event_keys, record_events
from youthmode.ledger.identity import IDENTITY_KEY, verified_subject
from youthmode.ledger.settings import DAY_DOC_DAYS, LedgerSettings
from youthmode.ledger.store import Store, StoreUnavailable, Transaction
from youthmode.ledger.text import is_clean_text
from youthmode.ledger.usage import merge, session_seconds, total
from youthmode.model import Decision, DecisionRequest, Explanation, Guardian
from youthmode.policies import CompiledPolicy
from youthmode.trusted import trusted_update

T = TypeVar("T")
_NO_GUARDIAN = Guardian()  # what `merge` adds stored settings to when the request has none


class LedgerCore:
    """Usage, totals and decisions that read the ledger; the base of `Ledger`."""

    def __init__(
        self,
        engine: Engine | Callable[[], Engine],
        store: Store,
        *,
        clock: Callable[[], datetime] | None = None,
        settings: LedgerSettings | None = None,
    ) -> None:
        self._engine = engine
        self.store = store
        self.clock = clock or system_clock
        self.settings = settings or LedgerSettings()
        # Called with (subject id, [(start, end), ...]) after usage is recorded, before the
        # answer: NPPA reporting (nppa/service.py). One that raises fails the request, which
        # the caller retries with the same event ids (listeners must be idempotent).
        self.usage_listeners: list[Callable[[str, list[tuple[int, int]]], None]] = []

    @property
    def engine(self) -> Engine:
        return self._engine if isinstance(self._engine, Engine) else self._engine()

    def _now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def _write(
        self,
        subject_id: str,
        fn: Callable[[Transaction], T],
        idempotency: Idempotency | None = None,
    ) -> T:
        """One atomic read-modify-write of the subject's documents. The answer is encoded
        before the transaction ends, so an answer that cannot be sent keeps nothing.

        With ``idempotency`` (a caller's key and what the request was), a retried request
        gets the first answer instead of being applied again (writes that have no id of their
        own: guardian settings, grants, time requests and answers)."""
        check_subject_id(subject_id)
        now = self._now().timestamp()

        def checked(tx: Transaction) -> T:
            seen: dict[str, Any] = {}
            if idempotency is not None:
                seen = {
                    k: v
                    for k, v in (tx.get("idem") or {}).items()
                    if v["at"] > now - IDEMPOTENCY_SECONDS
                }
                if idempotency.key in seen:
                    return idempotency.replay(seen[idempotency.key])  # type: ignore[no-any-return]
            answer = fn(tx)
            check_encodable(answer)
            if idempotency is not None:
                seen[idempotency.key] = idempotency.remember(answer, now)
                newest = sorted(seen.items(), key=lambda kv: kv[1]["at"])[-MAX_IDEMPOTENCY_KEYS:]
                tx.put("idem", dict(newest))
            return answer

        return self.store.atomic(subject_id, checked)

    def _read(self, subject_id: str, fn: Callable[[Transaction], T]) -> T:
        check_subject_id(subject_id)
        return self.store.read(subject_id, fn)

    def _today(self, policy_id: str | None) -> tuple[CompiledPolicy, datetime, date]:
        """The policy, the current instant, and the local day it falls on in that policy."""
        policy = self.engine.policy(policy_id)
        now = self._now()
        return policy, now, now.astimezone(policy.zone).date()

    # -- usage --------------------------------------------------------------------------------
    def record_usage(
        self, subject_id: str, events: list[Any], policy_id: str | None = None
    ) -> dict[str, Any]:
        """Record active-use intervals; answers each event and the subject's new totals."""
        policy = self.engine.policy(policy_id)
        now = self._now()
        checked: list[Event | dict[str, Any]] = [
            check_event(i, e, policy, now, self.settings) for i, e in enumerate(events)
        ]
        valid = [e for e in checked if isinstance(e, Event)]

        today = now.astimezone(policy.zone).date()
        wanted = [*event_keys(valid, policy), *decision_keys(today, usage=True)]

        def apply(tx: Transaction) -> tuple[list[dict[str, Any]], dict[str, Any]]:
            tx.prefetch(wanted)  # what recording and the new totals read, in one round trip
            answers = record_events(tx, valid, policy)
            self._prune(tx, ("u:", "e:", "a:"), DAY_DOC_DAYS)
            return answers, self._totals(tx, subject_id, policy, now)

        answers, totals = self._write(subject_id, apply)
        if self.usage_listeners:
            taken = {a["index"] for a in answers if a["status"] in ("accepted", "duplicate")}
            spans = [(e.start, e.end) for e in valid if e.index in taken]
            for listener in self.usage_listeners:
                listener(subject_id, spans)
        by_index = {a["index"]: a for a in answers}
        results = []
        for item in checked:
            if isinstance(item, Event):
                result = {k: v for k, v in by_index[item.index].items() if k != "index"}
                if item.warnings:
                    result["warnings"] = list(item.warnings)
                results.append(result)
            else:
                results.append(item)
        return {"subject_id": subject_id, "results": results, "totals": totals}

    def _prune(self, tx: Transaction, prefixes: tuple[str, ...], days: int) -> None:
        """Delete the day documents under ``prefixes`` older than ``days`` (one key listing)."""
        cutoff = iso_day(self._now().date() - timedelta(days=days))
        for key in tx.keys(""):
            prefix = next((p for p in prefixes if key.startswith(p)), None)
            if prefix is not None and key[len(prefix) :] < cutoff:
                tx.delete(key)

    # -- totals and decisions -------------------------------------------------------------------
    def totals(
        self, subject_id: str, policy_id: str | None = None, at: datetime | None = None
    ) -> dict[str, Any]:
        policy = self.engine.policy(policy_id)
        when = at or self._now()
        return self._read(subject_id, lambda tx: self._totals(tx, subject_id, policy, when))

    def _totals(
        self,
        tx: Transaction,
        subject_id: str,
        policy: CompiledPolicy,
        at: datetime,
        *,
        per_app: bool = True,
    ) -> dict[str, Any]:
        """The subject's figures for the local day, week and month of ``at``; ``per_app``
        adds each app's use today (a key listing: never on a decision's read)."""
        local = at.astimezone(policy.zone)
        day, at_ts = local.date(), int(at.timestamp())
        tx.prefetch(decision_keys(day, usage=True))
        today = day_intervals(tx, usage_key(day))
        yesterday = day_intervals(tx, usage_key(day - timedelta(days=1)))
        spend = self._spend(tx, day, at)
        totals = {
            "subject_id": subject_id,
            "policy": policy.id,
            "day": iso_day(day),
            "month": month_of(day),
            "today_seconds": total(today, until=at_ts),
            "session_seconds": session_seconds(
                merge(yesterday + today), at_ts, self.settings.session_gap
            ),
            "spend": {
                kind: {k: str(v) for k, v in figures.items()} for kind, figures in spend.items()
            },
            "currency": policy.currency,
            "week": iso_day(week_days(day)[0]),
            "week_seconds": week_seconds(tx, day, at_ts),
        }
        if per_app:
            totals["apps"] = apps_today(tx, day, at_ts)
        return totals

    def _spend(self, tx: Transaction, day: date, at: datetime) -> dict[str, dict[str, Decimal]]:
        out: dict[str, dict[str, Decimal]] = {}
        zero = {
            "day": Decimal(0),
            "month": Decimal(0),
            "held_day": Decimal(0),
            "held_month": Decimal(0),
        }
        for kind, figures in (tx.get("spend") or {}).items():
            entry = out.setdefault(kind, dict(zero))
            entry["day"] = dec(figures.get(f"d:{iso_day(day)}"))
            entry["month"] = dec(figures.get(f"m:{month_of(day)}"))
        now_ts = self._now().timestamp()
        for order in (tx.get("orders") or {}).values():
            if order["state"] == "held" and order["expires_at"] > now_ts:
                entry = out.setdefault(order["kind"], dict(zero))
                if order["day"] == iso_day(day):
                    entry["held_day"] += Decimal(order["amount"])
                if order["month"] == month_of(day):
                    entry["held_month"] += Decimal(order["amount"])
        return out

    def prepare(
        self, request: DecisionRequest, engine: Engine | None = None
    ) -> tuple[DecisionRequest, str | None]:
        """The request with usage and guardian settings from the ledger, and the store mode.

        The mode is None when the ledger was read (or not needed), `degraded` when it could not
        be read but the caller gave `usage`, and `unavailable` when the usage had to come from
        the ledger and could not.
        """
        engine = engine or self.engine
        subject_id = request.subject.id
        if subject_id is None:
            return request, None
        try:
            filled = self.store.read(
                subject_id, lambda tx: self._fill(tx, request, engine), decision=True
            )
        except StoreUnavailable:
            return request, "degraded" if request.usage is not None else "unavailable"
        return filled, None

    def decide(self, request: DecisionRequest | Mapping[str, Any]) -> Decision:
        """Decide with usage and guardian settings from the ledger (explicit `usage` wins)."""
        engine = self.engine
        if type(request) is dict:  # read straight into facts, without the request models
            decided = plain.decide(self, engine, request)
            if decided is not None:
                return decided
        return deciding.decide(engine, self, engine.parse(request)).decision

    def explain(self, request: DecisionRequest | Mapping[str, Any]) -> Explanation:
        engine = self.engine
        done = deciding.decide(engine, self, engine.parse(request), explain=True)
        return Explanation(decision=done.decision, trace=done.trace or [])

    def _fill(self, tx: Transaction, request: DecisionRequest, engine: Engine) -> DecisionRequest:
        policy = engine.policy(request.policy)
        now = self._now()  # one reading of the clock: the decision's instant and its holds'
        at = request.at or now
        local_day = at.astimezone(policy.zone).date()
        named = request.resource.app if request.resource is not None else None
        app = named if named and is_clean_text(named) else None  # else no stored app has it
        action = policy.actions.get(request.action)
        spend_kind = action.spend if action else None
        usage = request.usage is None
        tx.prefetch(decision_keys(local_day, usage=usage, app=app, spend=bool(spend_kind)))
        updates: dict[str, Any] = {}
        if usage:
            updates["usage"] = decision_usage(
                tx,
                day=local_day,
                at=at,
                now=now,
                session_gap=self.settings.session_gap,
                spend_kind=spend_kind,
                named=named,
                app=app,
            )
        subject = verified_subject(request.subject, tx.get(IDENTITY_KEY))
        if subject is not None:
            updates["subject"] = subject
        stored = guardian_rules.for_decision(tx, local_day)
        if stored is not None:
            updates["guardian"] = guardian_rules.merge(request.guardian or _NO_GUARDIAN, stored)
        # What is updated was built from the request and the ledger's own validated records:
        # `model_copy`'s generic copying is not needed (trusted.py).
        return trusted_update(request, updates) if updates else request
