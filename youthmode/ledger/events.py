"""Usage events: each checked on its own, then all recorded in one atomic write.

Overlapping intervals count once; an interval is split at the policy's local midnight; a day
keeps at most MAX_EVENTS_PER_DAY ids and MAX_INTERVALS_PER_DAY intervals (the shortest gaps
closed, so use is over-counted, never under-counted). An event's `app` also adds its intervals
to that app's own union for the day (`apps.py`), at most MAX_APPS_PER_DAY apps a day.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from youthmode.errors import did_you_mean
from youthmode.ledger.apps import AppUse
from youthmode.ledger.checks import utc_time
from youthmode.ledger.documents import app_key, ids_key, usage_key
from youthmode.ledger.settings import MAX_EVENTS_PER_DAY, MAX_INTERVALS_PER_DAY, LedgerSettings
from youthmode.ledger.store import Transaction
from youthmode.ledger.text import is_clean_text
from youthmode.ledger.usage import Interval, coalesce, merge, split_days
from youthmode.policies import CompiledPolicy


@dataclass(frozen=True)
class Event:
    """A usage event that passed its checks."""

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


def check_event(
    index: int, raw: Any, policy: CompiledPolicy, now: datetime, settings: LedgerSettings
) -> Event | dict[str, Any]:
    """One usage event checked on its own: an `Event` to record, or its rejection."""

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
    if (end - start).total_seconds() > settings.max_event_seconds:
        return reject("the interval is longer than a day", event_id)
    earliest, latest = settings.window(now)
    if end > latest:
        return reject("the interval ends in the future", event_id)
    if start < earliest:
        return reject(
            f"the interval starts more than {settings.accept_past_days} days ago; "
            "it is too old to record",
            event_id,
        )
    problem = _label_problem(raw)
    if problem is not None:
        return reject(problem, event_id)
    category = raw.get("category")
    counted = policy.actions[action].metered and category not in policy.exempt_categories
    # An empty `app` names no app: recorded (refusing it would lose the use), not kept per app.
    empty_app = (
        ("`app` is empty: counted toward the day's total only",) if raw.get("app") == "" else ()
    )
    return Event(
        index,
        event_id,
        action,
        int(start.timestamp()),
        int(end.timestamp()),
        counted,
        raw.get("app") or None,
        _unknown_fields(raw) + empty_app,
    )


def _label_problem(raw: Mapping[str, Any]) -> str | None:
    """What is wrong with the event's app, category or device, if anything."""
    for name in ("app", "category", "device"):
        value = raw.get(name)
        if value is not None and not isinstance(value, str):
            return f"`{name}` must be a string"
        if value is not None and not is_clean_text(value, 200):
            return f"`{name}` must be valid Unicode of at most 200 characters"
    return None


def _unknown_fields(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """A warning for each field the event may not carry (recorded past, not refused)."""
    warnings = []
    for name in raw:
        if name not in EVENT_FIELDS:
            if not is_clean_text(name, 100):
                warnings.append("an unknown field with an unprintable name was ignored")
                continue
            hint = did_you_mean(str(name), EVENT_FIELDS)
            warnings.append(f"unknown field `{name}` ignored" + (f"; {hint}" if hint else ""))
    return tuple(warnings)


def _answer(event: Event, status: str, **more: Any) -> dict[str, Any]:
    return {"index": event.index, "id": event.id, "status": status, **more}


def _seen_or_full(
    event: Event, first: date, ids: Callable[[date], dict[str, Any]]
) -> dict[str, Any] | None:
    """The answer for an event whose id is known (on its first local day or the days next to
    it) or whose day holds MAX_EVENTS_PER_DAY ids already; None for one to record."""
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
        reused = {} if same else {"reason": "id reused with other content"}
        return _answer(event, "duplicate" if same else "rejected", **reused)
    if len(ids(first)) >= MAX_EVENTS_PER_DAY:
        too_many = f"more than {MAX_EVENTS_PER_DAY} events on one day; send longer intervals"
        return _answer(event, "rejected", reason=too_many)
    return None


def event_keys(events: list[Event], policy: CompiledPolicy) -> list[str]:
    """The documents `record_events` reads for ``events``: the guardian's settings, each day's
    use and event ids, each app's use. A write prefetches them: one round trip for all instead
    of one a document (a heartbeat took twelve on Redis and PostgreSQL, docs/scaling.md)."""
    keys = ["guardian"]
    for event in events:
        first = split_days(event.start, event.start + 1, policy.zone)[0][0]
        keys += [usage_key(first), ids_key(first)]
        for day, _ in split_days(event.start, event.end, policy.zone):
            keys += [usage_key(day), ids_key(day)]
            if event.app is not None:
                keys.append(app_key(day, event.app))
    return list(dict.fromkeys(keys))


def record_events(
    tx: Transaction, events: list[Event], policy: CompiledPolicy
) -> list[dict[str, Any]]:
    """Record the checked events in one transaction; each answered accepted, duplicate or
    rejected (an id reused with other content, a day past its limit of ids)."""
    days: dict[date, list[Interval]] = {}  # the counted intervals, per local day
    seen: dict[date, dict[str, Any]] = {}  # the event ids recorded, per local day
    changed: set[date] = set()

    def load(day: date) -> None:
        """The day's two documents, each read once."""
        used = tx.get(usage_key(day)) or {}
        days[day] = [(s, e) for s, e in used.get("iv", [])]
        legacy = used.get("ev", {})  # ids were kept in the usage document before
        seen[day] = {**legacy, **(tx.get(ids_key(day)) or {})}

    def ids(day: date) -> dict[str, Any]:
        if day not in seen:
            load(day)
        return seen[day]

    def intervals(day: date) -> list[Interval]:
        if day not in days:
            load(day)
        return days[day]

    exempt_apps = set((tx.get("guardian") or {}).get("exempt_apps", []))
    per_app = AppUse(tx)
    answers = []
    for event in events:
        first = split_days(event.start, event.start + 1, policy.zone)[0][0]
        refused = _seen_or_full(event, first, ids)
        if refused is not None:
            answers.append(refused)
            continue
        ids(first)[event.id] = [event.start, event.end, event.action]
        changed.add(first)
        counted = event.counted and event.app not in exempt_apps
        if counted:
            for day, piece in split_days(event.start, event.end, policy.zone):
                intervals(day).append(piece)  # merged once per day, below
                changed.add(day)
                if event.app is not None:
                    per_app.add(day, event.app, piece)
        answers.append(_answer(event, "accepted", counted=counted))
    per_app.save()  # first: too many apps on a day refuses the whole write
    for day in sorted(changed):
        union = coalesce(merge(intervals(day)), MAX_INTERVALS_PER_DAY)
        tx.put(usage_key(day), {"iv": [list(iv) for iv in union]})
        tx.put(ids_key(day), ids(day))
    return answers
