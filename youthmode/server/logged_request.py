"""The request a decision-log record keeps: as the engine saw it, replayable, nothing more
personal (the subject id goes, a birthdate becomes the age on the day); read straight from a
plain JSON body when it is one, without building the request model."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from youthmode import compiled
from youthmode.facts import age_on
from youthmode.model import AMOUNT_PLACES, Decision, DecisionRequest, Usage, parse_amount
from youthmode.request import FAST_AMOUNT_DIGITS


def replayable(
    request: DecisionRequest | dict[str, Any], decision: Decision, local_time: str
) -> dict[str, Any]:
    """The request as the engine saw it, with the birthdate replaced by the computed age and
    `at` by the local time the engine used (``local_time``: as the decision's JSON has it)."""
    if isinstance(request, dict):
        data = request  # from `plain_request`: a new dict, ours to change
    else:
        data = request.model_dump(mode="json", exclude_none=True)
    subject = data.get("subject", {})
    subject.pop("id", None)
    if (birthdate := subject.pop("birthdate", None)) is not None:
        subject["age"] = _age_on_the_day(birthdate, decision)
    data["at"] = local_time
    return data


def _age_on_the_day(birthdate: Any, decision: Decision) -> int | None:
    """The age the birthdate gives on the decision's local day: the engine's, when it used
    one; else (an age signal with a narrower range won, or the policy does not accept the
    operator's word) computed here, so that a replay under other rules still has it."""
    if decision.facts.age is not None:
        return decision.facts.age
    try:
        birth = date.fromisoformat(str(birthdate))
    except ValueError:
        return None
    # The policy's rollover is not known here; `next_day` differs from `on_birthday` only on
    # the anniversary itself, where it gives the younger (the more protective) age.
    return age_on(birth, decision.facts.local_time.date(), "next_day")


# -- the logged request of a plain JSON body, without building the request model --------------
class _NotPlain(Exception):
    """The body needs the model to say what it means (`plain_request` gives up)."""


REQUEST_KEYS = frozenset({"policy", "subject", "action", "at", "usage", "resource", "guardian"})
RESOURCE_FIELDS = ("app", "category", "amount", "currency", "min_age", "recipient")
GUARDIAN_LISTS = ("consents", "exemptions", "exempt_apps")
GUARDIAN_FIELDS = (
    *GUARDIAN_LISTS,
    "daily_limit_seconds",
    "curfew",
    "more_curfews",
    "extra_seconds",
)
USAGE_FIELDS = tuple(Usage.model_fields)  # the model's order


def plain_request(body: Any) -> dict[str, Any] | None:
    """`DecisionRequest(body).model_dump(mode="json", exclude_none=True)`, read straight from a
    decided JSON body made of the plain types the contract names; None for anything else (a
    coercible value such as ``"12"`` for an age, an unknown field): the model says what that
    means. Field order and defaults are the model's (tests/test_decision_log_plain.py).

    The compiled twin (youthmode/_logged_request.c) answers first where it is built; what it
    declines is read here (tests/test_logged_request_compiled.py)."""
    if compiled_plain is not None and (found := compiled_plain(body)) is not None:
        return found
    try:
        return _plain(body)
    except _NotPlain:
        return None


def _plain(body: Any) -> dict[str, Any]:
    if type(body) is not dict or not REQUEST_KEYS.issuperset(body):
        raise _NotPlain
    out: dict[str, Any] = {}
    if (policy := _optional(body.get("policy"), str)) is not None:
        out["policy"] = policy
    out["subject"] = _subject(body.get("subject", {}))
    out["action"] = _exact(body.get("action"), str)
    if _optional(body.get("at"), str) is not None:
        out["at"] = None  # its place: `_replayable` writes the local time the engine used
    for key, read in (("usage", _usage), ("resource", _resource), ("guardian", _guardian)):
        if (value := body.get(key)) is not None:
            out[key] = read(value)
    return out


def _exact(value: Any, kind: type) -> Any:
    if type(value) is not kind:
        raise _NotPlain
    return value


def _optional(value: Any, kind: type) -> Any:
    return None if value is None else _exact(value, kind)


# Each part's fields in the model's order, with their one plain type; the sets are built once
# (this runs for every logged decision).
SUBJECT_FIELDS = (("id", str), ("birthdate", str), ("age", int), ("verified", bool))
SUBJECT_KEYS = frozenset(key for key, _ in SUBJECT_FIELDS)
USAGE_KEYS = frozenset(USAGE_FIELDS)
USAGE_SECONDS = tuple((key, key.endswith("_seconds")) for key in USAGE_FIELDS)
RESOURCE_KINDS = {"app": str, "category": str, "currency": str, "min_age": int, "recipient": str}
GUARDIAN_KEYS = frozenset(GUARDIAN_FIELDS)
GUARDIAN_SCALARS = GUARDIAN_FIELDS[len(GUARDIAN_LISTS) :]


def _subject(data: Any) -> dict[str, Any]:
    if type(data) is not dict or not SUBJECT_KEYS.issuperset(data):
        raise _NotPlain
    out: dict[str, Any] = {}
    for key, kind in SUBJECT_FIELDS:
        if (value := data.get(key)) is not None:
            if type(value) is not kind:
                raise _NotPlain
            out[key] = value
    if "verified" not in out:
        out["verified"] = False
    return out


def _usage(data: Any) -> dict[str, Any]:
    if type(data) is not dict or not USAGE_KEYS.issuperset(data):
        raise _NotPlain
    out: dict[str, Any] = {}
    for key, seconds in USAGE_SECONDS:
        if (value := data.get(key)) is not None:
            out[key] = _exact(value, int) if seconds else _amount(value)
    return out


def _amount(value: Any) -> str:
    if type(value) not in (str, int, Decimal):
        raise _NotPlain
    try:
        return str(parse_amount(value))
    except ValueError:
        raise _NotPlain from None


def _resource(data: Any) -> dict[str, Any]:
    if type(data) is not dict:
        raise _NotPlain
    out: dict[str, Any] = {}
    for key in RESOURCE_FIELDS:
        if (value := data.get(key)) is not None:
            out[key] = _amount(value) if key == "amount" else _exact(value, RESOURCE_KINDS[key])
    if len(out) == len(data):
        return out  # no open fields (nor nulls): the common case
    for key, value in data.items():  # the open fields, after the model's own
        if key in RESOURCE_FIELDS or value is None:
            continue
        if type(value) not in (str, int, bool, Decimal):
            raise _NotPlain
        out[key] = str(value) if type(value) is Decimal else value
    return out


def _guardian(data: Any) -> dict[str, Any]:
    if type(data) is not dict or not GUARDIAN_KEYS.issuperset(data):
        raise _NotPlain
    out: dict[str, Any] = {
        key: [] if data.get(key) is None else _strings(data[key]) for key in GUARDIAN_LISTS
    }
    for key in GUARDIAN_SCALARS:
        value = data.get(key)
        if value is None:
            continue
        if key == "curfew":
            out[key] = _strings(value)
        elif key == "more_curfews":
            out[key] = [_strings(pair) for pair in _exact(value, list)]
        else:
            out[key] = _exact(value, int)
    return out


def _strings(value: Any) -> list[str]:
    return [_exact(item, str) for item in _exact(value, list)]


def _compiled_plain() -> Callable[[Any], dict[str, Any] | None] | None:
    """youthmode/_logged_request.c's `plain`, handed this module's fields, or None where it is
    not built or not current (compiled.py)."""
    module = compiled.load("_logged_request")
    if module is None:
        return None
    module.configure(
        {
            "request_keys": REQUEST_KEYS,
            "subject_fields": SUBJECT_FIELDS,
            "subject_keys": SUBJECT_KEYS,
            "usage_fields": tuple((key, seconds) for key, seconds in USAGE_SECONDS),
            "usage_keys": USAGE_KEYS,
            # the amount's type is None: it is read as an amount, not by its type
            "resource_fields": tuple((key, RESOURCE_KINDS.get(key)) for key in RESOURCE_FIELDS),
            "guardian_lists": GUARDIAN_LISTS,
            "guardian_scalars": GUARDIAN_SCALARS,
            "guardian_keys": GUARDIAN_KEYS,
            "fast_amount_digits": FAST_AMOUNT_DIGITS,
            "amount_places": AMOUNT_PLACES,
        }
    )
    plain: Callable[[Any], dict[str, Any] | None] = module.plain
    return plain


compiled_plain = _compiled_plain()
