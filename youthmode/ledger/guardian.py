"""Guardian controls: what a guardian may change, and how it reaches decisions.

A guardian may always tighten (a shorter daily limit, an earlier curfew) and may loosen only
what the policy marks `waivable` (waivers, time grants, exempt apps) or gates on consent
(consents). Anything else, such as a waiver of the game window or a spending cap, is refused
with a clear error and changes nothing. Every change is logged with who, when, what, before and
after.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from youthmode.errors import RequestError, RequestProblem, did_you_mean
from youthmode.ledger.guardian_merge import APP_CONSENT
from youthmode.ledger.guardian_merge import merge as merge
from youthmode.ledger.store import LedgerConflict, NotFound, Transaction
from youthmode.ledger.text import is_clean_text
from youthmode.policies import CompiledPolicy
from youthmode.policies.rules import ConsentRule, DailyBudgetRule
from youthmode.units import UnitError, parse_duration, parse_time_of_day

MAX_PENDING = 20  # unanswered time requests a subject may have at once
SETTINGS = ("daily_limit", "curfew", "exempt_apps", "waivers", "consents", "app_consent", "linked")
ANSWERS = {"15m": 900, "1h": 3600, "rest_of_day": 86400, "deny": 0}
REST_OF_DAY = 86400


class GuardianRefused(RequestError):
    """A guardian change the policy does not allow; nothing was changed."""


def _refuse(key: str, message: str, hint: str | None = None) -> GuardianRefused:
    return GuardianRefused([RequestProblem((key,), message, "guardian_refused", hint)])


def waivable_codes(policy: CompiledPolicy) -> set[str]:
    return {r.code for r in policy.rules if r.waivable}


def consent_names(policy: CompiledPolicy) -> set[str]:
    names = set()
    for rule in policy.rules:
        if isinstance(rule, ConsentRule):
            names |= {rule.consent} if rule.consent else set(rule.actions)
    return names


def validate_settings(changes: Mapping[str, Any], policy: CompiledPolicy) -> dict[str, Any]:
    """Check a settings change against the policy; returns the normalised change."""
    if not isinstance(changes, Mapping):
        raise _refuse("settings", "settings must be an object")
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in SETTINGS:
            raise RequestError(
                [
                    RequestProblem(
                        (key,),
                        f"unknown setting `{key}`",
                        "unknown_field",
                        did_you_mean(key, SETTINGS),
                    )
                ]
            )
        clean[key] = _validate_one(key, value, policy)
    return clean


def _validate_one(key: str, value: Any, policy: CompiledPolicy) -> Any:
    if value is None:
        return None  # clears the setting: always allowed (back to the policy's default)
    if key == "daily_limit":
        try:
            if isinstance(value, str) and len(value) > 20:
                raise ValueError(value)
            seconds = parse_duration(value) if isinstance(value, str) else _positive_int(value) * 60
        except (UnitError, ValueError):
            raise _refuse(key, f"`{value}` is not a duration", 'e.g. "45m", or minutes') from None
        if seconds > 86400:
            raise _refuse(
                key,
                "a daily limit longer than a day tightens nothing",
                'e.g. "45m"; clear the setting with null',
            )
        return seconds
    if key in ("app_consent", "linked"):
        return _account_fact(key, value)
    if key == "curfew":
        if not isinstance(value, list) or len(value) != 2:
            raise _refuse(key, 'curfew is a window like ["21:00", "06:00"]')
        try:
            start, end = (parse_time_of_day(v) for v in value)
        except UnitError as err:
            raise _refuse(key, err.message) from None
        if start == end:
            raise _refuse(key, "the curfew window is empty")
        return list(value)
    names = _string_list(key, value)
    if key == "waivers":
        allowed = waivable_codes(policy)
        for code in names:
            if code not in allowed:
                raise _refuse(
                    key,
                    f"`{code}` cannot be waived: policy `{policy.id}` does not mark it waivable",
                    "waivable: " + ", ".join(sorted(allowed)),
                )
    elif key == "consents":
        allowed = consent_names(policy)
        for name in names:
            if name not in allowed:
                raise _refuse(
                    key,
                    f"`{name}` is not unlocked by guardian consent under policy `{policy.id}`",
                    "consent-gated: " + ", ".join(sorted(allowed)),
                )
    elif key == "exempt_apps" and names and not _has_waivable_exemptions(policy):
        raise _refuse(key, f"policy `{policy.id}` has no waivable time limit to exempt apps from")
    return names


def _account_fact(key: str, value: Any) -> str | bool:
    """`app_consent` (one of APP_CONSENT) or `linked` (true or false), checked."""
    if key == "linked":
        if not isinstance(value, bool):
            raise RequestError.single((key,), "`linked` must be true or false", "invalid_value")
        return value
    if value not in APP_CONSENT:
        shown = value if is_clean_text(str(value), 40) else "…"
        raise RequestError.single(
            (key,),
            f"unknown app consent state `{shown}`",
            "invalid_value",
            "one of: " + ", ".join(APP_CONSENT),
        )
    return str(value)


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(value)
    return value


MAX_LIST = 200  # entries in one settings list (exempt apps, waivers, consents)


def _string_list(key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _refuse(key, f"`{key}` must be a list of strings")
    if len(value) > MAX_LIST or not all(is_clean_text(v) for v in value):
        raise _refuse(
            key, f"`{key}` takes at most {MAX_LIST} names of valid Unicode, 200 characters each"
        )
    return sorted(set(value))


def check_actor(actor: Any) -> str:
    """Who makes a change, as it goes into the change log."""
    if not isinstance(actor, str) or not actor or not is_clean_text(actor):
        raise RequestError.single(
            ("actor",),
            "`actor` must be a non-empty string of valid Unicode, at most 200 characters",
            code="invalid_value",
        )
    return actor


def _has_waivable_exemptions(policy: CompiledPolicy) -> bool:
    return any(r.waivable and r.category_exemptions for r in policy.rules)


def grant_seconds(amount: Any, policy: CompiledPolicy) -> int:
    """A time grant ("30m", 1800 or "rest_of_day") as seconds, if the policy lets it loosen."""
    if not any(isinstance(r, DailyBudgetRule) and r.waivable for r in policy.rules):
        raise _refuse("minutes", f"policy `{policy.id}` has no waivable daily limit to extend")
    if amount == "rest_of_day":
        return REST_OF_DAY
    try:
        if isinstance(amount, str):
            seconds = parse_duration(amount) if len(amount) <= 20 else 0
        else:
            seconds = _positive_int(amount) * 60 if _positive_int(amount) <= 1440 else 0
    except (UnitError, ValueError):
        seconds = 0
    if not 0 < seconds <= REST_OF_DAY:
        shown = amount if not isinstance(amount, str | int) or len(str(amount)) <= 20 else "…"
        raise _refuse(
            "minutes",
            f"`{shown}` is not a number of minutes from 1 to 1440",
            'minutes as a number, a duration like "30m", or "rest_of_day"',
        )
    return seconds


def answer_seconds(answer: Any, policy: CompiledPolicy) -> int:
    if answer not in ANSWERS:
        raise RequestError(
            [
                RequestProblem(
                    ("answer",),
                    f"unknown answer `{answer}`",
                    "invalid_value",
                    "one of: " + ", ".join(ANSWERS),
                )
            ]
        )
    if answer == "deny":
        return 0
    grant_seconds("15m", policy)  # the policy must let a guardian extend the day at all
    return ANSWERS[answer]


def next_midnight(now: datetime, zone: ZoneInfo) -> datetime:
    day = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=zone)


# -- documents ---------------------------------------------------------------------------------
def _settings(tx: Transaction) -> dict[str, Any]:
    stored: dict[str, Any] = tx.get("guardian") or {}
    return stored


LOG_ENTRIES = 1_000  # the most recent guardian changes kept per subject


def _log(tx: Transaction, actor: str, now: datetime, what: str, before: Any, after: Any) -> None:
    seq = int(tx.get("logseq") or 0) + 1
    tx.put("logseq", seq)
    if seq > LOG_ENTRIES:  # the document stays bounded: the oldest change makes room
        tx.delete(f"log:{seq - LOG_ENTRIES:09d}")
    tx.put(
        f"log:{seq:09d}",
        {
            "seq": seq,
            "at": now.isoformat(),
            "actor": actor,
            "change": what,
            "before": before,
            "after": after,
        },
    )


def apply_settings(tx: Transaction, clean: dict[str, Any], actor: str, now: datetime) -> None:
    before = _settings(tx)
    after = dict(before)
    for key, value in clean.items():
        if value is None:
            after.pop(key, None)
        else:
            after[key] = value
    if after != before:
        tx.put("guardian", after)
        _log(tx, actor, now, "settings", before, after)


GRANT_DAYS = 40  # days a time grant document is kept (as usage documents are)


def grant_key(day: date) -> str:
    """The document of the time granted for one local day."""
    return f"g:{day.isoformat()}"


def add_grant(
    tx: Transaction, day: date, seconds: int, actor: str, now: datetime, source: str
) -> None:
    key = grant_key(day)
    grants = tx.get(key) or []
    grants.append({"seconds": seconds, "actor": actor, "at": now.isoformat(), "source": source})
    tx.put(key, grants)
    # A grant only counts on its own day; the change log below keeps the record of it.
    cutoff = (day - timedelta(days=GRANT_DAYS)).isoformat()
    for old in tx.keys("g:"):
        if old[2:] < cutoff:
            tx.delete(old)
    _log(
        tx,
        actor,
        now,
        "time_grant",
        None,
        {"day": day.isoformat(), "seconds": seconds, "source": source},
    )


def file_request(
    tx: Transaction, request_id: str, minutes: Any, note: Any, now: datetime, expires: datetime
) -> dict[str, Any]:
    if minutes is not None and (
        isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 < minutes <= 1440
    ):
        raise RequestError.single(
            ("minutes",), "minutes must be a whole number from 1 to 1440", code="invalid_value"
        )
    if note is not None and not is_clean_text(note, 500):
        raise RequestError.single(
            ("note",),
            "`note` must be a string of valid Unicode, at most 500 characters",
            code="invalid_value",
        )
    requests = tx.get("requests") or {}
    pending = [r for r in requests.values() if _current(r, now)["status"] == "pending"]
    if len(pending) >= MAX_PENDING:
        raise LedgerConflict.single(
            ("request_id",),
            f"{len(pending)} time requests are waiting for an answer; answer one first",
            code="too_many_requests",
        )
    entry = {
        "id": request_id,
        "minutes": minutes,
        "note": note or None,
        "status": "pending",
        "created_at": now.isoformat(),
        "expires_at": expires.isoformat(),
    }
    requests[request_id] = entry
    cutoff = (now - timedelta(days=7)).isoformat()
    tx.put("requests", {k: v for k, v in requests.items() if v["created_at"] >= cutoff})
    _log(tx, "subject", now, "time_request", None, entry)
    return _current(entry, now)


def _current(entry: dict[str, Any], now: datetime) -> dict[str, Any]:
    if entry["status"] == "pending" and entry["expires_at"] <= now.isoformat():
        return {**entry, "status": "expired"}
    return entry


def answer(
    tx: Transaction, request_id: str, reply: str, seconds: int, actor: str, now: datetime, day: date
) -> dict[str, Any]:
    requests: dict[str, dict[str, Any]] = tx.get("requests") or {}
    entry = requests.get(request_id)
    if entry is None:
        raise NotFound.single(
            ("request_id",), f"no time request `{request_id}`", code="unknown_request"
        )
    current = _current(entry, now)
    if current["status"] != "pending":
        raise LedgerConflict.single(
            ("request_id",),
            f"time request `{request_id}` is {current['status']}",
            code="request_closed",
        )
    before = dict(entry)
    entry.update(
        status="denied" if reply == "deny" else "approved",
        answer=reply,
        answered_by=actor,
        answered_at=now.isoformat(),
    )
    tx.put("requests", requests)
    _log(tx, actor, now, "time_request_answer", before, dict(entry))
    if seconds:
        add_grant(tx, day, seconds, actor, now, source=f"request {request_id}")
    return entry


def view(tx: Transaction, subject_id: str, day: date, now: datetime) -> dict[str, Any]:
    grants = tx.get(grant_key(day)) or []
    requests = [_current(r, now) for r in (tx.get("requests") or {}).values()]
    extra = sum(g["seconds"] for g in grants)
    return {
        "subject_id": subject_id,
        "settings": _settings(tx),
        "day": day.isoformat(),
        "grants": grants,
        "extra_seconds_today": min(extra, REST_OF_DAY),
        "rest_of_day": extra >= REST_OF_DAY,
        "requests": sorted(requests, key=lambda r: r["created_at"], reverse=True)[:50],
    }


def read_log(tx: Transaction) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = [tx.get(key) for key in tx.keys("log:")]
    return entries


def for_decision(tx: Transaction, day: date) -> dict[str, Any] | None:
    settings = _settings(tx)
    extra = sum(g["seconds"] for g in tx.get(grant_key(day)) or [])
    if not settings and not extra:
        return None
    return {**settings, "extra_seconds": min(extra, REST_OF_DAY)}
