"""The ledger's core: usage intervals, totals, and decisions that read the ledger.

Usage events are validated one by one, then every valid one is recorded in a single atomic
write; overlapping intervals count once and are split at the policy's local midnight. Decisions
with a subject id and no `usage` get today's use, the session and the spend from here (see
`service.py` for the whole `Ledger`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic_core import PydanticSerializationError

from youthmode.engine import Engine, system_clock
from youthmode.errors import RequestError, did_you_mean
from youthmode.ledger import deciding
from youthmode.ledger import guardian as guardian_rules
from youthmode.ledger.store import LedgerConflict, Store, StoreUnavailable, Transaction
from youthmode.ledger.text import is_clean_text
from youthmode.ledger.usage import Interval, coalesce, merge, session_seconds, split_days, total
from youthmode.model import Decision, DecisionRequest, Explanation, Guardian, Usage
from youthmode.policies import CompiledPolicy

T = TypeVar("T")
DAY_DOC_DAYS = 40  # usage documents kept, in days
RECORD_DAYS = 70  # purchases and orders kept, in days
# Per-subject documents stay bounded whatever a caller sends (docs/operations.md).
MAX_EVENTS_PER_DAY = 20_000  # event ids remembered for one local day
MAX_INTERVALS_PER_DAY = 1_000  # disjoint intervals kept for one day (shortest gaps closed)


@dataclass(frozen=True)
class LedgerSettings:
    session_gap: int = 600  # a break this long ends a session (seconds)
    max_skew: int = 120  # how far in the future a write may be dated (seconds)
    hold_seconds: int = 900  # reservations expire after this
    request_ttl: int = 3600  # unanswered ask-for-more-time requests expire after this
    max_event_seconds: int = 86400
    accept_past_days: int = 30  # how far back a ledger write may be dated (days)

    def __post_init__(self) -> None:
        # A record is accepted only while the ids that make it idempotent are still kept:
        # usage ids live DAY_DOC_DAYS, purchase and order ids RECORD_DAYS. Two days of margin
        # cover a local day that starts before the UTC one.
        if not 1 <= self.accept_past_days <= DAY_DOC_DAYS - 2:
            raise ValueError(
                f"accept_past_days must be from 1 to {DAY_DOC_DAYS - 2} (usage ids are kept "
                f"{DAY_DOC_DAYS} days), not {self.accept_past_days}"
            )
        if not 0 <= self.max_skew <= 3600:
            raise ValueError(f"max_skew must be from 0 to 3600 seconds, not {self.max_skew}")
        if not 60 <= self.hold_seconds <= 86400:
            raise ValueError(f"hold_seconds must be from 60 to 86400, not {self.hold_seconds}")
        if not 60 <= self.session_gap <= 86400:
            raise ValueError(f"session_gap must be from 60 to 86400, not {self.session_gap}")

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """The earliest and latest instants a ledger write may be dated at."""
        return (
            now - timedelta(days=self.accept_past_days),
            now + timedelta(seconds=self.max_skew),
        )


@dataclass(frozen=True)
class _Event:
    index: int
    id: str
    action: str
    start: int
    end: int
    counted: bool
    app: str | None = None
    warnings: tuple[str, ...] = ()


# What a usage event may carry (ledger_models.UsageEvent); other fields are reported, not fatal:
# refusing the event would lose the use it records.
EVENT_FIELDS = ("id", "action", "start", "end", "app", "category", "device")


def iso_day(day: date) -> str:
    return day.isoformat()


def usage_key(day: date) -> str:
    """The document of one local day's counted use: {"iv": [[start, end], ...]}."""
    return f"u:{iso_day(day)}"


def ids_key(day: date) -> str:
    """The event ids recorded on one local day (only writes read it, never decisions)."""
    return f"e:{iso_day(day)}"


def decision_keys(day: date, *, usage: bool) -> list[str]:
    """The documents a decision on the local ``day`` reads: guardian settings and grants, and
    with ``usage`` the use of today and yesterday (sessions cross midnight), spend and holds."""
    keys = ["guardian", guardian_rules.grant_key(day)]
    if usage:
        keys += [usage_key(day), usage_key(day - timedelta(days=1)), "spend", "orders"]
    return keys


def month_of(day: date) -> str:
    return day.strftime("%Y-%m")


def _dec(text: str | None) -> Decimal:
    return Decimal(text) if text else Decimal(0)


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
        checked: list[_Event | dict[str, Any]] = [
            self._check_event(i, e, policy, now) for i, e in enumerate(events)
        ]
        valid = [e for e in checked if isinstance(e, _Event)]

        def apply(tx: Transaction) -> tuple[list[dict[str, Any]], dict[str, Any]]:
            answers = self._record_events(tx, valid, policy)
            return answers, self._totals(tx, subject_id, policy, now)

        answers, totals = self._write(subject_id, apply)
        by_index = {a["index"]: a for a in answers}
        results = []
        for item in checked:
            if isinstance(item, _Event):
                result = {k: v for k, v in by_index[item.index].items() if k != "index"}
                if item.warnings:
                    result["warnings"] = list(item.warnings)
                results.append(result)
            else:
                results.append(item)
        return {"subject_id": subject_id, "results": results, "totals": totals}

    def _check_event(
        self, index: int, raw: Any, policy: CompiledPolicy, now: datetime
    ) -> _Event | dict[str, Any]:
        def reject(reason: str, event_id: Any = None) -> dict[str, Any]:
            shown = event_id if isinstance(event_id, str) else None
            return {"id": shown, "status": "rejected", "reason": reason}

        if not isinstance(raw, Mapping):
            return reject("an event must be an object")
        event_id = raw.get("id")
        if not isinstance(event_id, str) or not event_id or len(event_id) > 200:
            return reject("`id` must be a non-empty string", event_id)
        action = raw.get("action")
        if not isinstance(action, str) or action not in policy.actions:
            hint = did_you_mean(str(action), policy.actions)
            return reject(f"unknown action `{action}`" + (f"; {hint}" if hint else ""), event_id)
        if not is_clean_text(event_id):
            return reject("`id` is not valid Unicode (a lone surrogate)")
        try:
            start = utc_time(raw.get("start"))
            end = utc_time(raw.get("end"))
        except ValueError as err:
            return reject(str(err), event_id)
        if end <= start:
            return reject("`end` is not after `start`", event_id)
        if (end - start).total_seconds() > self.settings.max_event_seconds:
            return reject("the interval is longer than a day", event_id)
        earliest, latest = self.settings.window(now)
        if end > latest:
            return reject("the interval ends in the future", event_id)
        if start < earliest:
            return reject(
                f"the interval starts more than {self.settings.accept_past_days} days ago; "
                "it is too old to record",
                event_id,
            )
        for name in ("app", "category", "device"):
            if raw.get(name) is not None and not isinstance(raw[name], str):
                return reject(f"`{name}` must be a string", event_id)
            if raw.get(name) is not None and not is_clean_text(raw[name], 200):
                return reject(f"`{name}` must be valid Unicode of at most 200 characters", event_id)
        category = raw.get("category")
        counted = policy.actions[action].metered and category not in policy.exempt_categories
        warnings = []
        for name in raw:
            if name not in EVENT_FIELDS:
                if not is_clean_text(name, 100):
                    warnings.append("an unknown field with an unprintable name was ignored")
                    continue
                hint = did_you_mean(str(name), EVENT_FIELDS)
                warnings.append(f"unknown field `{name}` ignored" + (f"; {hint}" if hint else ""))
        return _Event(
            index,
            event_id,
            action,
            int(start.timestamp()),
            int(end.timestamp()),
            counted,
            raw.get("app"),
            tuple(warnings),
        )

    def _record_events(
        self, tx: Transaction, events: list[_Event], policy: CompiledPolicy
    ) -> list[dict[str, Any]]:
        days: dict[date, list[Interval]] = {}  # the counted intervals, per local day
        seen: dict[date, dict[str, Any]] = {}  # the event ids recorded, per local day
        changed: set[date] = set()

        def ids(day: date) -> dict[str, Any]:
            if day not in seen:
                legacy = (tx.get(usage_key(day)) or {}).get("ev", {})  # before ids moved out
                seen[day] = {**legacy, **(tx.get(ids_key(day)) or {})}
            return seen[day]

        def intervals(day: date) -> list[Interval]:
            if day not in days:
                days[day] = [(s, e) for s, e in (tx.get(usage_key(day)) or {"iv": []})["iv"]]
            return days[day]

        exempt_apps = set((tx.get("guardian") or {}).get("exempt_apps", []))
        answers = []
        for event in events:
            first = split_days(event.start, event.start + 1, policy.zone)[0][0]
            known = next(
                (
                    ids(day)[event.id]
                    for day in (first, first - timedelta(days=1), first + timedelta(days=1))
                    if event.id in ids(day)
                ),
                None,
            )
            if known is not None:
                same = known == [event.start, event.end, event.action]
                answers.append(
                    {
                        "index": event.index,
                        "id": event.id,
                        "status": "duplicate" if same else "rejected",
                        **({} if same else {"reason": "id reused with other content"}),
                    }
                )
                continue
            if len(ids(first)) >= MAX_EVENTS_PER_DAY:
                answers.append(
                    {
                        "index": event.index,
                        "id": event.id,
                        "status": "rejected",
                        "reason": f"more than {MAX_EVENTS_PER_DAY} events on one day; "
                        "send longer intervals",
                    }
                )
                continue
            ids(first)[event.id] = [event.start, event.end, event.action]
            changed.add(first)
            counted = event.counted and event.app not in exempt_apps
            if counted:
                for day, piece in split_days(event.start, event.end, policy.zone):
                    intervals(day).append(piece)  # merged once per day, below
                    changed.add(day)
            answers.append(
                {"index": event.index, "id": event.id, "status": "accepted", "counted": counted}
            )
        for day in sorted(changed):
            union = coalesce(merge(intervals(day)), MAX_INTERVALS_PER_DAY)
            tx.put(usage_key(day), {"iv": [list(iv) for iv in union]})
            tx.put(ids_key(day), ids(day))
        self._prune(tx, "u:", DAY_DOC_DAYS)
        self._prune(tx, "e:", DAY_DOC_DAYS)
        return answers

    def _prune(self, tx: Transaction, prefix: str, days: int) -> None:
        cutoff = iso_day(self._now().date() - timedelta(days=days))
        for key in tx.keys(prefix):
            if key[len(prefix) :] < cutoff:
                tx.delete(key)

    # -- totals and decisions -------------------------------------------------------------------
    def totals(
        self, subject_id: str, policy_id: str | None = None, at: datetime | None = None
    ) -> dict[str, Any]:
        policy = self.engine.policy(policy_id)
        when = at or self._now()
        return self._read(subject_id, lambda tx: self._totals(tx, subject_id, policy, when))

    def _totals(
        self, tx: Transaction, subject_id: str, policy: CompiledPolicy, at: datetime
    ) -> dict[str, Any]:
        local = at.astimezone(policy.zone)
        day, at_ts = local.date(), int(at.timestamp())
        today = [(s, e) for s, e in (tx.get(usage_key(day)) or {"iv": []})["iv"]]
        yesterday = [
            (s, e) for s, e in (tx.get(usage_key(day - timedelta(days=1))) or {"iv": []})["iv"]
        ]
        spend = self._spend(tx, day, at)
        return {
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
        }

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
            entry["day"] = _dec(figures.get(f"d:{iso_day(day)}"))
            entry["month"] = _dec(figures.get(f"m:{month_of(day)}"))
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
        return deciding.decide(engine, self, engine.parse(request)).decision

    def explain(self, request: DecisionRequest | Mapping[str, Any]) -> Explanation:
        engine = self.engine
        done = deciding.decide(engine, self, engine.parse(request), explain=True)
        return Explanation(decision=done.decision, trace=done.trace or [])

    def _fill(self, tx: Transaction, request: DecisionRequest, engine: Engine) -> DecisionRequest:
        policy = engine.policy(request.policy)
        at = request.at or self._now()
        local_day = at.astimezone(policy.zone).date()
        tx.prefetch(decision_keys(local_day, usage=request.usage is None))
        updates: dict[str, Any] = {}
        if request.usage is None:
            totals = self._totals(tx, request.subject.id or "", policy, at)
            action = policy.actions.get(request.action)
            kind = action.spend if action else None
            spend = totals["spend"].get(kind, {}) if kind else {}
            updates["usage"] = Usage(
                today_seconds=totals["today_seconds"],
                session_seconds=totals["session_seconds"],
                day_spent=_dec(spend.get("day")) + _dec(spend.get("held_day")),
                month_spent=_dec(spend.get("month")) + _dec(spend.get("held_month")),
            )
        stored = guardian_rules.for_decision(tx, local_day)
        if stored is not None:
            updates["guardian"] = guardian_rules.merge(request.guardian or Guardian(), stored)
        return request.model_copy(update=updates) if updates else request


def add_spend(tx: Transaction, kind: str, day: date, amount: Decimal, today: date) -> None:
    """Add ``amount`` to the day's and month's figures of ``kind``.

    Old figures are pruned relative to ``today`` (the server clock), never to ``day``: a record
    dated in the future must not erase figures that are still inside retention.
    """
    spend = tx.get("spend") or {}
    figures = spend.setdefault(kind, {})
    for key in (f"d:{iso_day(day)}", f"m:{month_of(day)}"):
        figures[key] = str(_dec(figures.get(key)) + amount)
    cutoff_day = iso_day(today - timedelta(days=DAY_DOC_DAYS))
    cutoff_month = month_of(today - timedelta(days=RECORD_DAYS))
    spend[kind] = {
        k: v
        for k, v in figures.items()
        if (k.startswith("d:") and k[2:] >= cutoff_day)
        or (k.startswith("m:") and k[2:] >= cutoff_month)
    }
    tx.put("spend", spend)


def prune_records(records: dict[str, Any], field: str, today: date) -> dict[str, Any]:
    cutoff = iso_day(today - timedelta(days=RECORD_DAYS))
    return {k: v for k, v in records.items() if v.get(field, cutoff) >= cutoff}


IDEMPOTENCY_SECONDS = 86400  # how long an idempotency key's answer is kept
MAX_IDEMPOTENCY_KEYS = 500  # keys remembered per subject (the newest)


@dataclass(frozen=True)
class Idempotency:
    """A caller's idempotency key for one write, and a fingerprint of what was asked."""

    key: str
    fingerprint: str

    @classmethod
    def of(cls, key: str | None, operation: str, *args: Any) -> Idempotency | None:
        if key is None:
            return None
        if not is_clean_text(key, 200) or not key:
            raise RequestError.single(
                ("Idempotency-Key",),
                "an idempotency key is 1 to 200 characters of valid Unicode",
                code="invalid_value",
            )
        asked = json.dumps([operation, *args], sort_keys=True, default=str, ensure_ascii=False)
        return cls(key, hashlib.sha256(asked.encode("utf-8", "surrogatepass")).hexdigest())

    def remember(self, answer: Any, now: float) -> dict[str, Any]:
        return {"at": now, "fp": self.fingerprint, "answer": answer}

    def replay(self, entry: dict[str, Any]) -> Any:
        if entry["fp"] != self.fingerprint:
            raise LedgerConflict.single(
                ("Idempotency-Key",),
                f"idempotency key `{self.key}` was used for another request",
                code="idempotency_key_reused",
            )
        return entry["answer"]


def check_subject_id(subject_id: Any) -> None:
    if not isinstance(subject_id, str) or not subject_id or not is_clean_text(subject_id):
        raise RequestError.single(
            ("subject_id",),
            "a subject id must be a non-empty string of valid Unicode, at most 200 characters",
            code="invalid_value",
        )


def check_encodable(answer: Any) -> None:
    """Raise a RequestError (which rolls the write back) if ``answer`` cannot be sent as
    UTF-8 JSON: a lone surrogate, or an integer too long to print."""
    try:
        if isinstance(answer, tuple):
            for part in answer:
                check_encodable(part)
        elif isinstance(answer, BaseModel):
            answer.model_dump_json().encode("utf-8")
        else:
            json.dumps(answer, ensure_ascii=False, default=str).encode("utf-8")
    except (ValueError, UnicodeError, PydanticSerializationError):
        raise RequestError.single(
            ("body",), "the answer to this request cannot be encoded", code="invalid_value"
        ) from None


def required_str(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value or len(value) > 200:
        raise RequestError.single(
            (key,), f"`{key}` must be a non-empty string", code="missing_field"
        )
    if not is_clean_text(value):
        raise RequestError.single(
            (key,), f"`{key}` is not valid Unicode (a lone surrogate)", code="invalid_value"
        )
    return value


def utc_time(value: Any) -> datetime:
    """An RFC 3339 time with an offset, as UTC; a time that has no UTC equivalent (year 1 at
    +14:00, year 9999 at -14:00) is a ValueError, not an OverflowError."""
    parsed = aware_time(value)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"`{value}` is out of range") from None


def ledger_time(value: Any, key: str, now: datetime, settings: LedgerSettings) -> datetime:
    """The time a ledger write is dated at, which must lie within the settings' window: an
    older record would be pruned in the same write (its id forgotten, so a retry counts twice),
    and a later one would date spend figures where no decision looks."""
    if value is None:
        return now
    try:
        at = utc_time(value)
    except ValueError as err:
        raise RequestError.single((key,), str(err), code="invalid_time") from None
    earliest, latest = settings.window(now)
    if not earliest <= at <= latest:
        raise RequestError.single(
            (key,),
            f"`{key}` must be within {settings.accept_past_days} days before and "
            f"{settings.max_skew} seconds after the server's clock ({now.isoformat()})",
            code="out_of_window",
        )
    return at


def aware_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"`{value}` is not an RFC 3339 time") from None
    else:
        raise ValueError("times must be RFC 3339 strings with an offset")
    if parsed.tzinfo is None:
        raise ValueError(f"`{value}` has no UTC offset")
    return parsed
