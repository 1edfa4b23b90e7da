"""Use per app and per week: what `usage.app_today_seconds` and `usage.week_seconds` are made of.

Each local day keeps, beside the union of all counted use (`u:<day>`), one document per app
that had counted use that day (`a:<day>:<app>`, the union of that app's intervals), so a
decision about one app reads one small document, never every app's. A day holds at most
MAX_APPS_PER_DAY apps (a write naming more is refused whole, 409 `too_many_apps`) and each
app's document at most MAX_INTERVALS_PER_DAY intervals (the shortest gaps closed, as for the
total). A week is the ISO week of the policy's zone, Monday to Sunday: its use is the sum of
the day totals from Monday to the day asked about, at most seven documents.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from youthmode.ledger.documents import app_key, app_prefix, usage_key
from youthmode.ledger.settings import MAX_APPS_PER_DAY, MAX_INTERVALS_PER_DAY
from youthmode.ledger.store import LedgerConflict, Transaction
from youthmode.ledger.usage import Interval, coalesce, merge, total


@lru_cache(maxsize=1024)
def week_days(day: date) -> tuple[date, ...]:
    """The local days of ``day``'s ISO week up to ``day``: Monday first, at most seven."""
    return tuple(day - timedelta(days=n) for n in range(day.weekday(), -1, -1))


def day_intervals(tx: Transaction, key: str) -> list[Interval]:
    return [(s, e) for s, e in (tx.get(key) or {"iv": []})["iv"]]


def week_seconds(tx: Transaction, day: date, until: int) -> int:
    """Counted use from the Monday of ``day``'s week up to ``until`` (an instant on ``day``)."""
    return sum(total(day_intervals(tx, usage_key(d)), until=until) for d in week_days(day))


def apps_today(tx: Transaction, day: date, until: int) -> dict[str, int]:
    """Counted use of each app on ``day`` up to ``until``, for the usage report (a key listing
    and one read per app: at most MAX_APPS_PER_DAY)."""
    prefix = app_prefix(day)
    keys = tx.keys(prefix)
    tx.prefetch(keys)
    seconds = {key[len(prefix) :]: total(day_intervals(tx, key), until=until) for key in keys}
    return {app: s for app, s in sorted(seconds.items()) if s > 0}


class AppUse:
    """The per-app intervals one usage write adds to, loaded on first use and saved at the end;
    the number of apps per day is checked before anything is saved."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self.added: dict[tuple[date, str], list[Interval]] = {}
        self._known: dict[date, set[str]] = {}

    def add(self, day: date, app: str, piece: Interval) -> None:
        if (day, app) not in self.added:
            self.added[(day, app)] = day_intervals(self.tx, app_key(day, app))
        self.added[(day, app)].append(piece)

    def save(self) -> None:
        """Store each changed app's union; refuse the whole write (nothing is kept) when a day
        would hold more than MAX_APPS_PER_DAY apps."""
        for day in sorted({day for day, _ in self.added}):
            prefix = app_prefix(day)
            stored = {k[len(prefix) :] for k in self.tx.keys(prefix)}
            named = stored | {app for d, app in self.added if d == day}
            if len(named) > MAX_APPS_PER_DAY:
                raise LedgerConflict.single(
                    ("events",),
                    f"more than {MAX_APPS_PER_DAY} apps with use on {day.isoformat()} "
                    f"({len(stored)} recorded, {len(named - stored)} more in this batch)",
                    code="too_many_apps",
                    hint="send the use of further apps without `app`: it then counts toward "
                    "the day's total, not per app",
                )
        for (day, app), intervals in self.added.items():
            union = coalesce(merge(intervals), MAX_INTERVALS_PER_DAY)
            self.tx.put(app_key(day, app), {"iv": [list(iv) for iv in union]})
