"""The documents of one subject, by key, and the figures kept in them.

u:<day>     {"iv": [[s, e], ...]} counted union of use      e:<day>  event ids seen that day
a:<day>:<app>  {"iv": [[s, e], ...]} counted union of one app's use that day (apps.py)
spend       {kind: {"d:<day>": "12.00", "m:<month>": "30.00"}}
purchases   {purchase id: {...}}   orders (open holds), closed   {order id: {state, ...}}
guardian    settings   g:<day> time grants   requests   log:<n>, logseq   idem (keys)
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from youthmode.ledger import guardian as guardian_rules
from youthmode.ledger.settings import DAY_DOC_DAYS, RECORD_DAYS
from youthmode.ledger.store import Transaction


# Every decision names a dozen days' keys (the week's use); the days in play are few.
@lru_cache(maxsize=4096)
def iso_day(day: date) -> str:
    return day.isoformat()


@lru_cache(maxsize=4096)
def usage_key(day: date) -> str:
    """The document of one local day's counted use: {"iv": [[start, end], ...]}."""
    return f"u:{iso_day(day)}"


def ids_key(day: date) -> str:
    """The event ids recorded on one local day (only writes read it, never decisions)."""
    return f"e:{iso_day(day)}"


def app_prefix(day: date) -> str:
    return f"a:{iso_day(day)}:"


def app_key(day: date, app: str) -> str:
    """The document of one app's counted use on one local day: {"iv": [[start, end], ...]}."""
    return app_prefix(day) + app


@lru_cache(maxsize=4096)
def decision_keys(
    day: date, *, usage: bool, app: str | None = None, spend: bool = True
) -> tuple[str, ...]:
    """The documents a decision on the local ``day`` reads: guardian settings and grants, and
    with ``usage`` the use of today and yesterday (sessions cross midnight), spend and holds
    (only with ``spend``: an action that spends; the holds can be the largest document), the
    earlier days of the ISO week (Monday first: at most seven day documents in all) and, with
    ``app``, that app's use today."""
    keys = ["guardian", guardian_rules.grant_key(day), "identity"]  # identity.py
    if usage:
        keys += [usage_key(day), usage_key(day - timedelta(days=1))]
        keys += ["spend", "orders"] if spend else []
        keys += [usage_key(day - timedelta(days=n)) for n in range(2, day.weekday() + 1)]
        if app is not None:
            keys.append(app_key(day, app))
    return tuple(keys)


@lru_cache(maxsize=4096)  # strftime is slow, and a spending decision asks twice
def month_of(day: date) -> str:
    return day.strftime("%Y-%m")


def dec(text: str | None) -> Decimal:
    return Decimal(text) if text else Decimal(0)


def add_spend(tx: Transaction, kind: str, day: date, amount: Decimal, today: date) -> None:
    """Add ``amount`` to the day's and month's figures of ``kind``.

    Old figures are pruned relative to ``today`` (the server clock), never to ``day``: a record
    dated in the future must not erase figures that are still inside retention.
    """
    spend = tx.get("spend") or {}
    figures = spend.setdefault(kind, {})
    for key in (f"d:{iso_day(day)}", f"m:{month_of(day)}"):
        figures[key] = str(dec(figures.get(key)) + amount)
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
