"""Request -> facts, in one place: `read` gives a request's policy, local instant and
`RequestFacts`, or raises `RequestError`. Two routes, one set of limits (model.py's constants):

- The typed route, `parse` then `typed_facts` (request_typed.py, re-exported here):
  `DecisionRequest` says what is valid, coerces what may be coerced and words every error;
  the policy's checks (action, currency, decimal places, a birthdate after `at`) follow.
- The plain route, `read_plain`, the hot path of `Engine.decide`: validating through pydantic
  costs ~5 µs before any fact is built (docs/performance.md), so this takes only requests of
  exactly the contract's JSON types (what integrations send) and builds their facts in one
  pass. Anything else (a coercible ``"12"`` for an age, a `datetime`, an unknown field, a value
  out of range, an unknown action) gives None, and the request takes the typed route. It never
  raises and never decides what is valid: it only recognises what obviously is.

Both build `RequestFacts` with `facts.request_facts`, as do the points `youthmode diff` and
`floor` evaluate (authoring/points.py). tests/test_request.py: whatever the plain route takes,
the typed route takes alike (policy, instant, facts), and both agree at and just past every
named limit.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import MISSING
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from youthmode import compiled
from youthmode.facts import (
    NO_GUARDIAN,
    NO_USAGE,
    NOTHING,
    ZERO,
    GuardianFacts,
    RequestFacts,
    SubjectFacts,
    UsageFacts,
    plain_curfew_windows,
)
from youthmode.facts import request_facts as facts
from youthmode.model import (
    AMOUNT_PLACES,
    DAY_SECONDS,
    EARLIEST_AT,
    EARLIEST_BIRTHDATE,
    LATEST_AT,
    MAX_AGE,
    MAX_AMOUNT,
    MAX_ID_LENGTH,
    MAX_SECONDS,
    MIN_DAILY_LIMIT_SECONDS,
    RECIPIENTS,
    DecisionRequest,
    at_in_range,
    parse_amount,
)
from youthmode.policies import CompiledPolicy
from youthmode.policies.compile import CompiledAction
from youthmode.request_typed import find_policy as find_policy
from youthmode.request_typed import parse as parse
from youthmode.request_typed import typed_facts as typed_facts
from youthmode.zone_spans import zone_span
from youthmode.zones import known_zone

Read = tuple[CompiledPolicy, datetime, RequestFacts]
# Only the fields the plain route reads: a field added to the model goes the typed route until
# the plain route learns it (tests/test_request.py notices the difference).
REQUEST_KEYS = frozenset({"policy", "subject", "action", "at", "usage", "resource", "guardian"})
RESOURCE_FIELDS = ("app", "category", "amount", "currency", "min_age", "recipient")
# The one RFC 3339 shape both `datetime.fromisoformat` and pydantic read the same way.
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Offsets are under a day, so every instant of these years is in range whatever its offset:
# only the years at the edges need the exact comparison.
_SURE_YEARS = range(
    (EARLIEST_AT + timedelta(days=1)).year + 1, (LATEST_AT - timedelta(days=1)).year
)
# Amounts of at most this many whole digits are below MAX_AMOUNT: no comparison needed.
FAST_AMOUNT_DIGITS = len(str(int(MAX_AMOUNT))) - 1
EMPTY: Mapping[str, Any] = {}
T = TypeVar("T")


def read(
    request: DecisionRequest | Mapping[str, Any],
    policies: Mapping[str, CompiledPolicy],
    default_policy: str | None,
    now: datetime,
) -> Read:
    """The policy, local instant (``now`` if the request names none) and facts of a request.

    Raises RequestError for an invalid one."""
    if type(request) is dict:
        plain = read_plain_first(request, policies, default_policy, now)
        if plain is not None:
            return plain
    req = parse(request)  # typed, coercible or invalid: the model decides, and words any error
    policy = find_policy(policies, default_policy, req.policy)
    at = (req.at or now).astimezone(policy.zone).replace(microsecond=0)
    return policy, at, typed_facts(req, policy, at)


def read_plain_first(
    data: dict[str, Any],
    policies: Mapping[str, CompiledPolicy],
    default_policy: str | None,
    now: datetime,
) -> Read | None:
    """`read_plain`'s answer, from the compiled reader where it is built and takes ``data``
    (the same answer: tests/test_reader_compiled.py), else from `read_plain`."""
    if read_compiled is not None:
        found = read_compiled(data, policies, default_policy, now)
        if found is not None:
            return found
    return read_plain(data, policies, default_policy, now)


# -- the plain route --------------------------------------------------------------------------
class NotPlain(Exception):
    """This request needs the model: to be coerced, or rejected with a precise error."""


def read_plain(
    data: Mapping[str, Any],
    policies: Mapping[str, CompiledPolicy],
    default_policy: str | None,
    now: datetime,
) -> Read | None:
    """The policy, local instant and facts of a plain, valid request; None for any other."""
    try:
        return _read(data, policies, default_policy, now)
    except NotPlain:
        return None


# Each object is read key by key, so absent keys cost nothing and an unknown one (an
# `unknown field` error for the model to word) is noticed on the way.
def _read(
    data: Mapping[str, Any],
    policies: Mapping[str, CompiledPolicy],
    default_policy: str | None,
    now: datetime,
) -> Read:
    if not REQUEST_KEYS.issuperset(data):
        raise NotPlain
    policy = policies.get(_text(data.get("policy")) or default_policy or "")
    if policy is None:
        raise NotPlain
    action_name: Any = data.get("action")
    action = policy.actions.get(action_name) if type(action_name) is str else None
    if action is None:
        raise NotPlain
    at = (_instant(data.get("at")) or now).astimezone(policy.zone)
    if at.microsecond:
        at = at.replace(microsecond=0)  # not free with a ZoneInfo: only when needed
    local_day = at.date()
    usage = data.get("usage")
    fields, amount = _resource(data.get("resource"), policy)
    if action.requires_amount and amount is None:
        raise NotPlain  # `missing_amount`
    person = data.get("subject", EMPTY)
    subject = _subject(person, local_day)
    zone = _zone(person.get("timezone")) if "timezone" in person else None
    used = NO_USAGE if usage is None else _usage(usage, policy.currency_places)
    guardian = data.get("guardian")
    granted = NO_GUARDIAN if guardian is None else _guardian(guardian)
    return (
        policy,
        at,
        facts(
            action_name, action.metered, subject, fields, used, granted, local_day, timezone=zone
        ),
    )


def _subject(subject: Any, local_day: date) -> SubjectFacts:
    if type(subject) is not dict:
        raise NotPlain
    birthdate = age = None
    verified = False
    for key, value in subject.items():
        if key == "age":
            age = _count(value, 0, MAX_AGE)
        elif key == "verified":
            if type(value) is not bool:
                raise NotPlain
            verified = value
        elif key == "birthdate":
            birthdate = _birthdate(value)
            if birthdate is not None and birthdate > local_day:
                raise NotPlain  # `birthdate_in_future`
        elif key == "id":
            if value is not None and (type(value) is not str or len(value) > MAX_ID_LENGTH):
                raise NotPlain
        elif key != "timezone":  # read by `_zone`
            raise NotPlain
    return verified, birthdate, age


def _zone(value: Any) -> ZoneInfo | None:
    """`subject.timezone`: an IANA name, or null; anything else is the model's to word."""
    if value is None:
        return None
    found = known_zone(value) if type(value) is str else None
    if found is None:
        raise NotPlain  # `invalid_timezone`
    return found


def _usage(usage: Any, places: int) -> UsageFacts:
    if type(usage) is not dict:
        raise NotPlain
    today_seconds = session_seconds = 0
    day_spent = month_spent = ZERO
    for key, value in usage.items():
        if key == "today_seconds":
            today_seconds = _count(value, 0, MAX_SECONDS) or 0
        elif key == "session_seconds":
            session_seconds = _count(value, 0, MAX_SECONDS) or 0
        elif key == "month_spent":
            month_spent = _money(value, places) or ZERO
        elif key == "day_spent":
            day_spent = _money(value, places) or ZERO
        else:
            raise NotPlain
    return today_seconds, session_seconds, day_spent, month_spent


def _resource(resource: Any, policy: CompiledPolicy) -> tuple[dict[str, Any], Decimal | None]:
    if resource is None:
        return {}, None
    if type(resource) is not dict:
        raise NotPlain
    for key in resource:  # a loop, not all(): a generator costs more than these few keys
        if type(key) is not str:
            raise NotPlain
    fields = dict.fromkeys(RESOURCE_FIELDS)
    fields.update(resource)
    amount = fields["amount"] = _money(fields["amount"], policy.currency_places)
    currency = fields["currency"]
    if currency is not None and currency != policy.currency:
        raise NotPlain  # `unsupported_currency`, or not a currency code at all
    recipient = fields["recipient"]
    if recipient is not None and (type(recipient) is not str or recipient not in RECIPIENTS):
        raise NotPlain
    _text(fields["app"])
    _text(fields["category"])
    _count(fields["min_age"], 0, MAX_AGE)
    return fields, amount


def _guardian(guardian: Any) -> GuardianFacts:
    if type(guardian) is not dict:
        raise NotPlain
    consents = exemptions = exempt_apps = NOTHING
    daily_limit = first_curfew = more_curfews = None
    extra_seconds = 0
    for key, value in guardian.items():
        if key == "consents":
            consents = _names(value)
        elif key == "exemptions":
            exemptions = _names(value)
        elif key == "exempt_apps":
            exempt_apps = _names(value)
        elif key == "daily_limit_seconds":
            daily_limit = _count(value, MIN_DAILY_LIMIT_SECONDS, DAY_SECONDS)
        elif key == "extra_seconds":
            extra_seconds = _count(value, 0, DAY_SECONDS) or 0
        elif key == "curfew":
            first_curfew = value
        elif key == "more_curfews":
            more_curfews = value
        else:
            raise NotPlain
    curfews = _curfews(first_curfew, more_curfews)
    return consents, exemptions, exempt_apps, daily_limit, extra_seconds, curfews


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
    if type(value) is str and value.isascii():
        # The usual shape, "30.00": digits with at most `places` decimals, read exactly as
        # `parse_amount` would read them, without its general checks.
        whole, dot, fraction = value.partition(".")
        if (
            whole.isdigit()
            and len(whole) <= FAST_AMOUNT_DIGITS
            and (fraction.isdigit() if dot else True)
            and len(fraction) <= places
            and len(fraction) <= AMOUNT_PLACES
        ):
            return Decimal(value)
    elif type(value) is not int and type(value) is not Decimal:
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
    found = _iso(value, RFC3339, datetime.fromisoformat)
    if found is not None and found.year not in _SURE_YEARS and not at_in_range(found):
        raise NotPlain
    return found


def _birthdate(value: Any) -> date | None:
    found = _iso(value, ISO_DATE, date.fromisoformat)
    if found is not None and found < EARLIEST_BIRTHDATE:
        raise NotPlain
    return found


def _iso(value: Any, shape: re.Pattern[str], parse: Callable[[str], T]) -> T | None:
    """An ISO string of exactly ``shape``, parsed; None for null."""
    if value is None:
        return None
    if type(value) is not str or not shape.fullmatch(value):
        raise NotPlain
    try:
        return parse(value)
    except ValueError:
        raise NotPlain from None


def _curfews(first: Any, more: Any) -> tuple[tuple[int, int], ...]:
    if first is None and more is None:
        return ()
    if more is not None and type(more) is not list:
        raise NotPlain
    found = plain_curfew_windows(([first] if first is not None else []) + (more or []))
    if found is None:
        raise NotPlain
    return found


# -- the plain route, compiled ----------------------------------------------------------------
CompiledReader = Callable[[Mapping[str, Any], Any, str | None, datetime], Read | None]


def _compiled_reader() -> CompiledReader | None:
    """youthmode/_reader.c's `read`, handed this module's limits and helpers, or None where
    it is not built or not current (compiled.py). It takes what `read_plain` takes, or less,
    and gives the same (tests/test_reader_compiled.py); None sends a request to `read_plain`."""
    read: CompiledReader | None = compiled.configured("_reader", _reader_configuration, "read")
    return read


def _reader_configuration() -> dict[str, Any]:
    """What youthmode/_reader.c reads requests with: this module's limits and helpers."""
    fields = dataclasses.fields(RequestFacts)
    return {
        "facts_type": RequestFacts,
        "field_names": tuple(f.name for f in fields),
        "defaults": {f.name: f.default for f in fields if f.default is not MISSING},
        "decimal": Decimal,
        "fromisoformat": datetime.fromisoformat,
        "at_in_range": at_in_range,
        "zone_of": _zone,
        "curfews_of": _curfews,
        "not_plain": NotPlain,
        "zero": ZERO,
        "nothing": NOTHING,
        "recipients": RECIPIENTS,
        "request_keys": REQUEST_KEYS,
        "resource_fields": dict.fromkeys(RESOURCE_FIELDS),
        "earliest_birthdate": EARLIEST_BIRTHDATE,
        "zone_span": zone_span,
        "action_type": CompiledAction,
        "requires_amount": vars(CompiledAction)["requires_amount"],
        "policy_type": CompiledPolicy,
        "max_age": MAX_AGE,
        "max_id_length": MAX_ID_LENGTH,
        "max_seconds": MAX_SECONDS,
        "day_seconds": DAY_SECONDS,
        "min_daily_limit": MIN_DAILY_LIMIT_SECONDS,
        "fast_amount_digits": FAST_AMOUNT_DIGITS,
        "amount_places": AMOUNT_PLACES,
        "sure_years_low": _SURE_YEARS.start,
        "sure_years_high": _SURE_YEARS.stop,
    }


read_compiled = _compiled_reader()
