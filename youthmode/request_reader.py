"""Reading a plain decision request straight into its facts: the hot path of `decide`.

`DecisionRequest` (pydantic) defines what a valid request is and words every error. Validating
through it costs about 5 µs before any fact is built, a sixth of a whole decision (see
docs/performance.md). So `Engine.decide` first tries this reader. It takes only requests made
of exactly the JSON types the contract names (what every integration sends: strings, ints,
bools, lists, objects) and builds their facts in one pass. Anything else (a coercible value
such as ``"12"`` for an age, a Python `datetime`, an unknown field, a value out of range, a
policy-level problem such as an unknown action) makes it return None, and the request goes the
long way through the model, which coerces it or rejects it with a precise error.

So the reader never raises and never decides what is valid: it only recognises what is
obviously valid. A differential property test (tests/test_request_reader.py) holds it to that:
whatever it accepts, the model accepts with the same policy, instant and facts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from youthmode.facts import RequestFacts, curfew_windows
from youthmode.model import at_in_range, parse_amount
from youthmode.policies import CompiledPolicy
from youthmode.units import MAX_AMOUNT, UnitError

REQUEST_KEYS = frozenset({"policy", "subject", "action", "at", "usage", "resource", "guardian"})
RESOURCE_FIELDS = ("app", "category", "amount", "currency", "min_age", "recipient")
RECIPIENTS = frozenset({"contact", "stranger"})

# The one RFC 3339 shape both `datetime.fromisoformat` and pydantic read the same way.
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
EARLIEST_BIRTHDATE = date(1850, 1, 1)
FAST_AMOUNT_DIGITS = len(str(MAX_AMOUNT)) - 1  # 999999999999.99 < MAX_AMOUNT: no check needed
MAX_SECONDS = 10 * 366 * 86400
NOTHING: frozenset[str] = frozenset()
ZERO = Decimal(0)
EMPTY: Mapping[str, Any] = {}
T = TypeVar("T")


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
    # Each object is read key by key, so absent keys cost nothing and an unknown one (an
    # `unknown field` error for the model to word) is noticed on the way.
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
    at = (_instant(data.get("at")) or now).astimezone(policy.zone)
    if at.microsecond:
        at = at.replace(microsecond=0)  # not free with a ZoneInfo: only when needed
    local_day = at.date()
    places = policy.currency_places

    birthdate = age = None
    verified = False
    subject = data.get("subject", EMPTY)
    if type(subject) is not dict:
        raise NotPlain
    for key, value in subject.items():
        if key == "age":
            age = _count(value, 0, 150)
        elif key == "verified":
            if type(value) is not bool:
                raise NotPlain
            verified = value
        elif key == "birthdate":
            birthdate = _birthdate(value)
            if birthdate is not None and birthdate > local_day:
                raise NotPlain  # `birthdate_in_future`
        elif key == "id":
            if value is not None and (type(value) is not str or len(value) > 256):
                raise NotPlain
        else:
            raise NotPlain

    today_seconds = session_seconds = 0
    day_spent = month_spent = ZERO
    usage = data.get("usage")
    if usage is not None:
        if type(usage) is not dict:
            raise NotPlain
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

    resource = data.get("resource")
    amount = None
    if resource is None:
        fields: dict[str, Any] = {}
    elif type(resource) is dict:
        fields = dict.fromkeys(RESOURCE_FIELDS)
        fields.update(resource)
        if not all(type(k) is str for k in resource):
            raise NotPlain
        amount = fields["amount"] = _money(fields["amount"], places)
        currency = fields["currency"]
        if currency is not None and currency != policy.currency:
            raise NotPlain  # `unsupported_currency`, or not a currency code at all
        recipient = fields["recipient"]
        if recipient is not None and (type(recipient) is not str or recipient not in RECIPIENTS):
            raise NotPlain
        _text(fields["app"])
        _text(fields["category"])
        _count(fields["min_age"], 0, 150)
    else:
        raise NotPlain
    if action.requires_amount and amount is None:
        raise NotPlain  # `missing_amount`

    consents = exemptions = exempt_apps = NOTHING
    daily_limit = None
    first_curfew = more_curfews = None
    extra_seconds = 0
    guardian = data.get("guardian")
    if guardian is not None:
        if type(guardian) is not dict:
            raise NotPlain
        for key, value in guardian.items():
            if key == "consents":
                consents = _names(value)
            elif key == "exemptions":
                exemptions = _names(value)
            elif key == "exempt_apps":
                exempt_apps = _names(value)
            elif key == "daily_limit_seconds":
                daily_limit = _count(value, 1, 86400)
            elif key == "extra_seconds":
                extra_seconds = _count(value, 0, 86400) or 0
            elif key == "curfew":
                first_curfew = value
            elif key == "more_curfews":
                more_curfews = value
            else:
                raise NotPlain
    return (
        policy,
        at,
        RequestFacts(
            action=action_name,
            metered=action.metered,
            verified=verified,
            birthdate=birthdate,
            declared_age=age,
            amount=amount,
            category=fields.get("category"),
            app=fields.get("app"),
            min_age=fields.get("min_age"),
            recipient=fields.get("recipient"),
            resource=fields,
            consents=consents,
            exemptions=exemptions,
            exempt_apps=exempt_apps,
            at_date=local_day,
            guardian_daily_limit=daily_limit,
            guardian_curfews=_curfews(first_curfew, more_curfews),
            extra_seconds=extra_seconds,
            today_seconds=today_seconds,
            session_seconds=session_seconds,
            day_spent=day_spent,
            month_spent=month_spent,
        ),
    )


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
    # Years 2001-2098 are in range whatever the offset; only the edges need the exact check.
    if found is not None and not 2000 < found.year < 2099 and not at_in_range(found):
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
    windows = ([first] if first is not None else []) + (more or [])
    for window in windows:
        if type(window) is not list or len(window) != 2:
            raise NotPlain
        if type(window[0]) is not str or type(window[1]) is not str:
            raise NotPlain
    try:
        return curfew_windows(windows)
    except UnitError:
        raise NotPlain from None
