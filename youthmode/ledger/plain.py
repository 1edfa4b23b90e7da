"""Ledger-backed decisions on the plain route: from the request's JSON to facts, no models.

`Ledger.decide` used to parse the request into a `DecisionRequest` (pydantic), fill it from the
ledger (a `Usage`, a merged `Guardian`, a copied `Subject`, the request copied), then give the
filled request to the engine's typed route, which read facts back out of those models: about
a third of a ledger-backed decision (docs/performance.md). Here a plain request (what
`request.read_plain` takes: the contract's JSON types, nothing to coerce or refuse) is read
straight into `RequestFacts`, and the ledger's figures go into those facts as the typed route
would have read them from the filled request. Anything else (no plain request, a figure the
typed route would refuse, a guardian merge that needs validating) gives None, and the caller
takes the model route, which stays the reference: tests/test_ledger_plain.py holds the two to
the same decisions over random histories.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Hashable
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from youthmode.facts import ZERO, RequestFacts
from youthmode.ledger import guardian as guardian_rules
from youthmode.ledger.decision_usage import usage_figures
from youthmode.ledger.documents import decision_keys
from youthmode.ledger.guardian_merge import merged_facts
from youthmode.ledger.identity import IDENTITY_KEY
from youthmode.ledger.store import StoreUnavailable, Transaction
from youthmode.ledger.text import is_clean_text
from youthmode.model import MAX_ID_LENGTH
from youthmode.request import EMPTY, Read, read_plain_first

if TYPE_CHECKING:
    from youthmode.engine import Engine
    from youthmode.ledger.core import LedgerCore
    from youthmode.model import Decision

_FIELDS = [f.name for f in dataclasses.fields(RequestFacts)]
_VALUES = operator.attrgetter(*_FIELDS)
_AT = {name: i for i, name in enumerate(_FIELDS)}
# where the guardian merge's values go, in the order `merged_facts` gives them
_MERGED_AT = tuple(
    _AT[n]
    for n in (
        "consents", "exemptions", "exempt_apps", "guardian_daily_limit", "extra_seconds",
        "guardian_curfews", "app_consent", "linked",
    )
)  # fmt: skip
_USAGE_AT = tuple(
    _AT[n]
    for n in (
        "today_seconds", "session_seconds", "day_spent", "month_spent", "app_today_seconds",
        "week_seconds",
    )
)  # fmt: skip
Merged = tuple[tuple[int, Any], ...]  # the merge's facts, each with its place in `values`


def decide(ledger: LedgerCore, engine: Engine, data: dict[str, Any]) -> Decision | None:
    """``data``'s decision with what the ledger knows of its subject, as
    `deciding.decide(engine, ledger, engine.parse(data))` makes it; None when ``data`` is not
    a plain request or its filled facts need the model route."""
    now = engine.clock()
    # by the compiled reader where it is built, as `Engine.decide` reads a plain request
    found = read_plain_first(data, engine.policies, engine.default_policy, now)
    if found is None:
        return None
    subject_id = data.get("subject", EMPTY).get("id")
    if subject_id is None:
        return engine.decide_read(found, now)
    if not is_clean_text(subject_id, MAX_ID_LENGTH):
        return None  # a lone surrogate: the store could not key by it; the model refuses it
    asked = data.get("usage") is not None  # the caller's usage wins (deciding.py)
    try:
        filled = ledger.store.read(
            subject_id, lambda tx: _fill(tx, ledger, found, data, asked), decision=True
        )
    except StoreUnavailable:
        return engine.decide_read(found, now, degraded=asked, store_unavailable=not asked)
    if filled is None:
        return None
    return engine.decide_read((found[0], found[1], filled), now)


def _fill(
    tx: Transaction, ledger: LedgerCore, found: Read, data: dict[str, Any], asked: bool
) -> RequestFacts | None:
    """The facts of ``found`` filled from the subject's documents as `LedgerCore._fill` fills
    the request and `request_typed.typed_facts` then reads it; None where that would differ or
    raise. Builds new facts: the store may run this twice (sqlite_store.py)."""
    policy, at, facts = found
    now = ledger._now()  # the ledger's clock, as `LedgerCore._fill` reads it
    if data.get("at") is None:  # the use up to the ledger's instant, on its local day
        at_ts, day = int(now.timestamp()), now.astimezone(policy.zone).date()
    else:  # `at` (in the policy's zone already) from 2000 on: whole seconds alike
        at_ts, day = int(at.timestamp()), at.date()
    named = facts.app
    app = named if named and is_clean_text(named) else None
    spend = policy.actions[facts.action].spend  # the kind it spends, if any
    tx.prefetch(decision_keys(day, usage=not asked, app=app, spend=bool(spend)))
    values = list(_VALUES(facts))
    if not asked:
        figures = usage_figures(tx, day, at_ts, now, ledger.settings.session_gap, spend, named, app)
        if not _usage(values, figures, policy.currency_places):
            return None
    if not _identity(values, tx.get(IDENTITY_KEY), facts):
        return None
    merged = _merged_guardian(tx, day, facts, data.get("guardian"))
    if merged is None:
        return None  # the merge needs validating: the model route's
    for i, value in merged:  # the merged curfews (the caller's and the stored one) too
        values[i] = value
    return RequestFacts(*values)


def _usage(values: list[Any], figures: Any, places: int) -> bool:
    """Usage figures into ``values`` as the typed route reads a filled `usage`; False when it
    would refuse them (more decimal places than the currency has)."""
    today, session, day_spent, month_spent, app_today, week = figures
    if day_spent is not None:  # None: nothing of the action's kind, read as zero
        for amount in (day_spent, month_spent):
            exponent = amount.as_tuple().exponent
            if isinstance(exponent, int) and -exponent > places:
                return False  # `invalid_amount`: the model route raises it
    at_today, at_session, at_day, at_month, at_app, at_week = _USAGE_AT
    values[at_today] = today or 0
    values[at_session] = session or 0
    values[at_day] = day_spent or ZERO
    values[at_month] = month_spent or ZERO
    values[at_app] = app_today or 0
    values[at_week] = week or 0
    return True


def _identity(values: list[Any], identity: Any, facts: RequestFacts) -> bool:
    """A verified identity's part (identity.py's `verified_subject`); False when its birthdate
    falls after the decision's day (`birthdate_in_future` on the model route)."""
    if not isinstance(identity, dict) or identity.get("verified") is not True:
        return True
    values[_AT["verified"]] = True
    stored = identity.get("birthdate")
    if facts.birthdate is None and facts.declared_age is None and isinstance(stored, str):
        birthdate = date.fromisoformat(stored)
        if facts.at_date is None or birthdate > facts.at_date:
            return False
        values[_AT["birthdate"]] = birthdate
    return True


# The guardian part of a decision's facts by what it is made of: the stored settings' and the
# day's grants' text as read in this decision's own snapshot, and the caller's guardian facts.
# Not a cache of the store: a changed document is different text, so a decision never gets a
# merge of settings other than the ones it read. The merge (decoding both documents, set
# unions, the stricter limit, the curfews read) was a seventh of a decision's time (cProfile).
_MERGES: dict[Hashable, Merged | None] = {}
_MERGES_KEPT = 4096  # then emptied: a bound on memory, not on correctness


def _merged_guardian(tx: Transaction, day: date, facts: RequestFacts, given: Any) -> Merged | None:
    """The stored settings merged with the caller's guardian facts (`guardian_merge.merge`):
    what `merged_facts` gives, each value with its place among the facts (none: nothing
    stored); None when the merge needs validating."""
    mine = (
        facts.consents,
        facts.exemptions,
        facts.exempt_apps,
        facts.guardian_daily_limit,
        facts.extra_seconds,
        facts.guardian_curfews,
    )
    curfew = (given or EMPTY).get("curfew")
    grants = _grant_key(day)
    memo = (tx.text("guardian"), tx.text(grants), mine, None if curfew is None else tuple(curfew))
    kept = _MERGES.get(memo, _MISSING)
    if kept is not _MISSING:
        return kept  # type: ignore[return-value]
    stored = guardian_rules.for_decision(tx, day)
    merged: Merged | None = ()  # nothing stored: nothing to merge
    if stored is not None:
        found = merged_facts(mine, curfew, stored)
        if found is None:
            merged = None
        else:  # the facts, the app consent and the link
            merged = tuple(zip(_MERGED_AT, (*found[0], *found[1:]), strict=True))
    if len(_MERGES) >= _MERGES_KEPT:
        _MERGES.clear()
    _MERGES[memo] = merged
    return merged


_MISSING = object()
_grant_key = lru_cache(maxsize=64)(guardian_rules.grant_key)
