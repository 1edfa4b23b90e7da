"""Reading a plain decision request straight into its facts: the hot path of `decide`.

`DecisionRequest` (pydantic) defines what a valid request is and words every error. Validating
through it, then turning the model into facts, costs about as much as the decision itself. So
`Engine.decide` first tries this reader. It takes only requests made of exactly the JSON types
the contract names (what every integration sends: strings, ints, bools, lists, objects) and
builds their facts in one pass. Anything else (a coercible value such as ``"12"`` for an age,
a Python `datetime`, an unknown field, a value out of range, a policy-level problem such as an
unknown action) makes it return None, and the request goes the long way through the model,
which coerces it or rejects it with a precise error.

So the reader never raises and never decides what is valid: it only recognises what is
obviously valid. A differential property test (tests/test_request_reader.py) holds it to that:
whatever it accepts, the model accepts with the same policy, instant and facts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from youthmode.facts import RequestFacts
from youthmode.model import parse_amount
from youthmode.policies import CompiledPolicy
from youthmode.units import UnitError, parse_time_of_day

# What each object may hold; anything else goes to the model (for `unknown field` errors).
REQUEST_KEYS = frozenset({"policy", "subject", "action", "at", "usage", "resource", "guardian"})
SUBJECT_KEYS = frozenset({"id", "birthdate", "age", "verified"})
USAGE_KEYS = frozenset({"today_seconds", "session_seconds", "month_spent", "day_spent"})
GUARDIAN_KEYS = frozenset(
    {
        "consents",
        "exemptions",
        "exempt_apps",
        "daily_limit_seconds",
        "curfew",
        "more_curfews",
        "extra_seconds",
    }
)
RESOURCE_FIELDS = ("app", "category", "amount", "currency", "min_age", "recipient")
RECIPIENTS = frozenset({"contact", "stranger"})

# The one RFC 3339 shape both `datetime.fromisoformat` and pydantic read the same way.
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
EARLIEST_BIRTHDATE = date(1850, 1, 1)
MAX_SECONDS = 10 * 366 * 86400
NOTHING: frozenset[str] = frozenset()
NO_NAMES: list[str] = []  # a missing list; a JSON null is no list, and the model rejects it
ZERO = Decimal(0)
EMPTY: Mapping[str, Any] = {}


class NotPlain(Exception):
    """This request needs the model: to be coerced, or rejected with a precise error."""


def read_plain(
    data: Mapping[str, Any],
    policies: Mapping[str, CompiledPolicy],
    default_policy: str | None,
    now: datetime,
) -> tuple[CompiledPolicy, datetime, RequestFacts] | None:
    """The policy, local instant and facts of a plain, valid request; None for any other."""
    try:
        return _read(data, policies, default_policy, now)
    except NotPlain:
        return None


def _read(
    data: Mapping[str, Any],
    policies: Mapping[str, CompiledPolicy],
    default_policy: str | None,
    now: datetime,
) -> tuple[CompiledPolicy, datetime, RequestFacts]:
    if not REQUEST_KEYS.issuperset(data):
        raise NotPlain
    policy = policies.get(_text(data.get("policy")) or default_policy or "")
    if policy is None:
        raise NotPlain
    action_name = data.get("action")
    if type(action_name) is not str:
        raise NotPlain
    action = policy.actions.get(action_name)
    if action is None:
        raise NotPlain
    at = (_instant(data.get("at")) or now).astimezone(policy.zone).replace(microsecond=0)
    local_day = at.date()

    subject = _object(data.get("subject", EMPTY), SUBJECT_KEYS)
    subject_id = subject.get("id")
    if subject_id is not None and (type(subject_id) is not str or len(subject_id) > 256):
        raise NotPlain
    birthdate = _birthdate(subject.get("birthdate"))
    if birthdate is not None and birthdate > local_day:
        raise NotPlain  # `birthdate_in_future`
    verified = subject.get("verified", False)
    if type(verified) is not bool:
        raise NotPlain

    usage = _optional_object(data.get("usage"), USAGE_KEYS)
    places = policy.currency_places
    month_spent = _money(usage.get("month_spent"), places)
    day_spent = _money(usage.get("day_spent"), places)

    resource = data.get("resource")
    if resource is None:
        fields: dict[str, Any] = {}
    elif type(resource) is dict and all(type(k) is str for k in resource):
        fields = dict.fromkeys(RESOURCE_FIELDS)
        fields.update(resource)
    else:
        raise NotPlain
    amount = _money(fields.get("amount"), places)
    if action.requires_amount and amount is None:
        raise NotPlain  # `missing_amount`
    currency = fields.get("currency")
    if currency is not None and currency != policy.currency:
        raise NotPlain  # `unsupported_currency`, or not a currency code at all
    recipient = fields.get("recipient")
    if recipient is not None and (type(recipient) is not str or recipient not in RECIPIENTS):
        raise NotPlain
    if fields:
        fields["amount"] = amount

    guardian = _optional_object(data.get("guardian"), GUARDIAN_KEYS)
    extra_seconds = _count(guardian.get("extra_seconds"), 0, 86400)
    return (
        policy,
        at,
        RequestFacts(
            action=action_name,
            metered=action.metered,
            verified=verified,
            birthdate=birthdate,
            declared_age=_count(subject.get("age"), 0, 150),
            amount=amount,
            category=_text(fields.get("category")),
            app=_text(fields.get("app")),
            min_age=_count(fields.get("min_age"), 0, 150),
            recipient=recipient,
            resource=fields,
            consents=_names(guardian.get("consents", NO_NAMES)),
            exemptions=_names(guardian.get("exemptions", NO_NAMES)),
            exempt_apps=_names(guardian.get("exempt_apps", NO_NAMES)),
            at_date=local_day,
            guardian_daily_limit=_count(guardian.get("daily_limit_seconds"), 1, 86400),
            guardian_curfews=_curfews(guardian.get("curfew"), guardian.get("more_curfews")),
            extra_seconds=extra_seconds or 0,
            today_seconds=_count(usage.get("today_seconds"), 0, MAX_SECONDS) or 0,
            session_seconds=_count(usage.get("session_seconds"), 0, MAX_SECONDS) or 0,
            day_spent=day_spent or ZERO,
            month_spent=month_spent or ZERO,
        ),
    )


def _object(value: Any, keys: frozenset[str]) -> Mapping[str, Any]:
    if type(value) is not dict or not keys.issuperset(value):
        raise NotPlain
    return value


def _optional_object(value: Any, keys: frozenset[str]) -> Mapping[str, Any]:
    return EMPTY if value is None else _object(value, keys)


def _text(value: Any) -> str | None:
    if value is None or type(value) is str:
        return value
    raise NotPlain


def _count(value: Any, low: int, high: int) -> int | None:
    if value is None:
        return None
    if type(value) is not int or not low <= value <= high:
        raise NotPlain
    return value


def _names(value: Any) -> frozenset[str]:
    if type(value) is not list or not all(type(v) is str for v in value):
        raise NotPlain
    return frozenset(value) if value else NOTHING


def _money(value: Any, places: int) -> Decimal | None:
    if value is None:
        return None
    if type(value) is not str and type(value) is not int and type(value) is not Decimal:
        raise NotPlain  # floats and booleans: the model words the answer
    try:
        amount = parse_amount(value)
    except ValueError:
        raise NotPlain from None
    exponent = amount.as_tuple().exponent
    if not isinstance(exponent, int) or -exponent > places:
        raise NotPlain  # `invalid_amount`: more places than the currency has
    return amount


def _instant(value: Any) -> datetime | None:
    if value is None:
        return None
    if type(value) is not str or not RFC3339.fullmatch(value):
        raise NotPlain
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        raise NotPlain from None
    if not 1970 <= found.year <= 2200:
        raise NotPlain
    return found


def _birthdate(value: Any) -> date | None:
    if value is None:
        return None
    if type(value) is not str or not ISO_DATE.fullmatch(value):
        raise NotPlain
    try:
        found = date.fromisoformat(value)
    except ValueError:
        raise NotPlain from None
    if found < EARLIEST_BIRTHDATE:
        raise NotPlain
    return found


def _curfews(first: Any, more: Any) -> tuple[tuple[int, int], ...]:
    if first is None and more is None:
        return ()
    windows = ([first] if first is not None else []) + (_list(more) if more is not None else [])
    out = set()
    for window in windows:
        if type(window) is not list or len(window) != 2:
            raise NotPlain
        start, end = window
        if type(start) is not str or type(end) is not str:
            raise NotPlain
        try:
            out.add((parse_time_of_day(start), parse_time_of_day(end)))
        except UnitError:
            raise NotPlain from None
    return tuple(sorted(w for w in out if w[0] != w[1]))


def _list(value: Any) -> list[Any]:
    if type(value) is not list:
        raise NotPlain
    return value
