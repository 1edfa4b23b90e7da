"""The usage a decision needs, read straight from the subject's documents.

`LedgerCore._totals` builds the usage report: the figures of every spend kind as strings for
the wire, each day of the week decoded a second time for `week_seconds`. A decision needs six
numbers and one spend kind, and the report cost half of a ledger-backed decision (issue 13).
Here each document is read and decoded once, the spend figures go from the stored text to
Decimal once, and the numbers are the ones `_totals` gives: tests/test_ledger_decision_usage.py
checks them against it over random histories.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from youthmode.ledger.apps import day_intervals, week_days
from youthmode.ledger.documents import app_key, dec, iso_day, month_of, usage_key
from youthmode.ledger.store import Transaction
from youthmode.ledger.usage import merge, session_seconds, total
from youthmode.model import Usage
from youthmode.trusted import trusted


def decision_usage(
    tx: Transaction,
    *,
    day: date,
    at: datetime,
    now: datetime,
    session_gap: int,
    spend_kind: str | None,
    named: str | None,
    app: str | None,
) -> Usage:
    """`usage` for a decision at ``at`` on the local ``day``: today's, the session's and the
    week's use, ``named``'s use today (``app``: the name when it can have a document) and what
    was spent or is held (holds still open at ``now``) of ``spend_kind``."""
    today, session, day_spent, month_spent, app_today, week = usage_figures(
        tx, day, int(at.timestamp()), now, session_gap, spend_kind, named, app
    )
    # The ledger's own sums of records validated when written: built without validating them
    # again (a third of filling a request, docs/performance.md).
    return trusted(
        Usage,
        {
            "today_seconds": today,
            "session_seconds": session,
            "month_spent": month_spent if month_spent is not None else Decimal(0),
            "day_spent": day_spent if day_spent is not None else Decimal(0),
            "app_today_seconds": app_today,
            "week_seconds": week,
        },
    )


Figures = tuple[int, int, Decimal | None, Decimal | None, int | None, int]


def usage_figures(
    tx: Transaction,
    day: date,
    at_ts: int,
    now: datetime,
    session_gap: int,
    spend_kind: str | None,
    named: str | None,
    app: str | None,
) -> Figures:
    """`decision_usage`'s figures (``at_ts``: the decision's instant, whole seconds): today's,
    the session's seconds, the day's and month's spend with holds (None: nothing of the kind),
    the named app's seconds today (None: no app named) and the week's seconds."""
    week_keys, yesterday_key = _use_keys(day)
    get = tx.get
    # Each day's stored [start, end] pairs as they are (no tuples: `total` and `merge` read
    # pairs alike); most days of a week have no document, and add nothing.
    week = [(get(key) or _NO_USE)["iv"] for key in week_keys]
    today = week[-1]
    # Monday's yesterday is last week's Sunday: not among the week's documents.
    yesterday = week[-2] if len(week) > 1 else (get(yesterday_key) or _NO_USE)["iv"]
    day_spent, month_spent = _spent(tx, spend_kind, day, now) if spend_kind else (None, None)
    today_seconds = total(today, at_ts) if today else 0
    week_seconds = today_seconds
    for intervals in week[:-1]:
        if intervals:
            week_seconds += total(intervals, at_ts)
    session = 0
    if today or yesterday:
        session = session_seconds(merge([*yesterday, *today]), at_ts, session_gap)
    return (
        today_seconds,
        session,
        day_spent,
        month_spent,
        _app_seconds(tx, named, app, day, at_ts),
        week_seconds,
    )


_NO_USE: dict[str, Any] = {"iv": ()}  # no document: no use


@lru_cache(maxsize=1024)
def _use_keys(day: date) -> tuple[tuple[str, ...], str]:
    """The use documents of ``day``'s ISO week up to ``day`` (Monday first), and of the day
    before ``day``."""
    return tuple(usage_key(d) for d in week_days(day)), usage_key(day - timedelta(1))


def _spent(
    tx: Transaction, kind: str, day: date, now: datetime
) -> tuple[Decimal | None, Decimal | None]:
    """What was spent of ``kind`` on ``day`` and in its month, each with its open holds (open
    at ``now``); None for both when nothing of ``kind`` is recorded or held (the report has no
    entry then)."""
    now_ts = now.timestamp()  # only here: an aware datetime's timestamp is not cheap
    figures: dict[str, Any] | None = (tx.get("spend") or {}).get(kind)
    today, month = iso_day(day), month_of(day)
    held_day = held_month = Decimal(0)
    held = False
    for order in (tx.get("orders") or {}).values():
        if order["state"] == "held" and order["expires_at"] > now_ts and order["kind"] == kind:
            held = True
            if order["day"] == today:
                held_day += Decimal(order["amount"])
            if order["month"] == month:
                held_month += Decimal(order["amount"])
    if figures is None and not held:
        return None, None
    spent_day = dec(figures.get(f"d:{today}")) if figures is not None else Decimal(0)
    spent_month = dec(figures.get(f"m:{month}")) if figures is not None else Decimal(0)
    return spent_day + held_day, spent_month + held_month


def _app_seconds(
    tx: Transaction, named: str | None, app: str | None, day: date, at_ts: int
) -> int | None:
    """`usage.app_today_seconds`: the use of the app the request names (``named``; ``app`` when
    it could have a document) on its local day up to ``at_ts``; None when it names none."""
    if named is None:
        return None
    if app is None:
        return 0
    return total(day_intervals(tx, app_key(day, app)), until=at_ts)
