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
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from youthmode.facts import ZERO, RequestFacts
from youthmode.ledger import guardian as guardian_rules
from youthmode.ledger.decision_usage import usage_figures
from youthmode.ledger.documents import decision_keys
from youthmode.ledger.guardian_merge import merged_facts
from youthmode.ledger.identity import IDENTITY_KEY
from youthmode.ledger.store import StoreUnavailable, Transaction
from youthmode.ledger.text import is_clean_text
from youthmode.request import EMPTY, Read, read_plain

if TYPE_CHECKING:
    from youthmode.engine import Engine
    from youthmode.ledger.core import LedgerCore
    from youthmode.model import Decision

_FIELDS = [f.name for f in dataclasses.fields(RequestFacts)]
_VALUES = operator.attrgetter(*_FIELDS)
_AT = {name: i for i, name in enumerate(_FIELDS)}
_GUARDIAN = [_AT[n] for n in ("consents", "exemptions", "exempt_apps")]
_LIMITS = [_AT[n] for n in ("guardian_daily_limit", "extra_seconds", "guardian_curfews")]


def decide(ledger: LedgerCore, engine: Engine, data: dict[str, Any]) -> Decision | None:
    """``data``'s decision with what the ledger knows of its subject, as
    `deciding.decide(engine, ledger, engine.parse(data))` makes it; None when ``data`` is not
    a plain request or its filled facts need the model route."""
    now = engine.clock()
    found = read_plain(data, engine.policies, engine.default_policy, now)
    if found is None:
        return None
    subject_id = data.get("subject", EMPTY).get("id")
    if subject_id is None:
        return engine.decide_read(found, now)
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
    when = now if data.get("at") is None else at  # `at` from 2000 on: whole seconds alike
    day = when.astimezone(policy.zone).date()
    named = facts.app
    app = named if named and is_clean_text(named) else None
    tx.prefetch(decision_keys(day, usage=not asked, app=app))
    values = list(_VALUES(facts))
    if not asked:
        spend = policy.actions[facts.action].spend
        figures = usage_figures(
            tx, day, int(when.timestamp()), now.timestamp(), ledger.settings.session_gap,
            spend, named, app,
        )  # fmt: skip
        if not _usage(values, figures, policy.currency_places):
            return None
    if not _identity(values, tx.get(IDENTITY_KEY), facts):
        return None
    stored = guardian_rules.for_decision(tx, day)
    if stored is not None and not _guardian(values, facts, data.get("guardian"), stored):
        return None
    return RequestFacts(*values)


def _usage(values: list[Any], figures: Any, places: int) -> bool:
    """Usage figures into ``values`` as the typed route reads a filled `usage`; False when it
    would refuse them (more decimal places than the currency has)."""
    today, session, day_spent, month_spent, app_today, week = figures
    day_spent = day_spent if day_spent is not None else Decimal(0)
    month_spent = month_spent if month_spent is not None else Decimal(0)
    for amount in (day_spent, month_spent):
        exponent = amount.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > places:
            return False  # `invalid_amount`: the model route raises it
    values[_AT["today_seconds"]] = today or 0
    values[_AT["session_seconds"]] = session or 0
    values[_AT["day_spent"]] = day_spent or ZERO
    values[_AT["month_spent"]] = month_spent or ZERO
    values[_AT["app_today_seconds"]] = app_today or 0
    values[_AT["week_seconds"]] = week or 0
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


def _guardian(values: list[Any], facts: RequestFacts, given: Any, stored: dict[str, Any]) -> bool:
    """The stored settings merged with the caller's guardian facts (`guardian_merge.merge`);
    False when the merge needs validating. The merged curfews (the caller's, all of them, and
    the stored one) replace the plain facts'."""
    mine = (
        facts.consents,
        facts.exemptions,
        facts.exempt_apps,
        facts.guardian_daily_limit,
        facts.extra_seconds,
        facts.guardian_curfews,
    )
    found = merged_facts(mine, (given or EMPTY).get("curfew"), stored)
    if found is None:
        return False
    (consents, exemptions, exempt_apps, limit, extra, curfews), app_consent, linked = found
    for i, names in zip(_GUARDIAN, (consents, exemptions, exempt_apps), strict=True):
        values[i] = names
    for i, value in zip(_LIMITS, (limit, extra, curfews), strict=True):
        values[i] = value
    values[_AT["app_consent"]] = app_consent
    values[_AT["linked"]] = linked
    return True
