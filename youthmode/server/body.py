"""JSON bodies: decoded with amounts as Decimal (never float), within the limits every body
keeps whatever the endpoint (docs/api.md "Limits"): depth, a number's size, valid Unicode."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import orjson
from flask import request

from youthmode import compiled
from youthmode.server.problems import ApiProblem


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


# Limits on every JSON body, whatever the endpoint (docs/api.md "Limits"). Fields add their own.
MAX_DEPTH = 32  # objects and arrays nested in each other, the body itself counting as one
MAX_NUMBER_CHARS = 40  # a number as written, sign and exponent included
MAX_EXPONENT = 40  # |x| < 10^41, and no non-zero digit finer than 10^-40
# A `\u` escape of a UTF-16 surrogate (D800-DFFF): only these can make a lone surrogate.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")


class NumberOutOfRange(ValueError):
    """A JSON number beyond MAX_NUMBER_CHARS or MAX_EXPONENT (raised while decoding)."""


def _json_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:  # also spares `int` the 4300-digit ValueError
        raise NumberOutOfRange(text)
    return int(text)


def _json_decimal(text: str) -> Decimal:
    if len(text) > MAX_NUMBER_CHARS:
        raise NumberOutOfRange(text)
    value = Decimal(text)
    if not -MAX_EXPONENT <= value.adjusted() <= MAX_EXPONENT:
        raise NumberOutOfRange(text)  # 1E+999999999 would overflow the first sum it enters
    return value


class _Oversized(str):
    """A number out of range, kept as its text so that its place can be named."""


def _mark_int(text: str) -> Any:
    return _Oversized(text) if len(text) > MAX_NUMBER_CHARS else 0


def _mark_decimal(text: str) -> Any:
    try:
        return _json_decimal(text)
    except NumberOutOfRange:
        return _Oversized(text)


# One decoder for every body: `json.loads` with hooks builds a new one per call.
JSON_BODY = json.JSONDecoder(
    parse_float=_json_decimal, parse_int=_json_int, parse_constant=_reject_constant
)
_MARKING = json.JSONDecoder(
    parse_float=_mark_decimal, parse_int=_mark_int, parse_constant=_reject_constant
)
Loc = list[str | int]


def parse_json_body() -> Any:
    """The request body as JSON with numbers that have a fraction kept as Decimal.

    A body breaking a limit (depth, a number's size, a lone UTF-16 surrogate in any string or
    key, which no response could ever encode) is a 400 naming the field. The checks that walk
    the decoded body run only when its text could break them: a plain decision pays two
    substring counts.
    """
    exact = request.environ.get("CONTENT_TYPE") == "application/json"  # skips header parsing
    if (
        not exact
        and request.mimetype != "application/json"
        and not request.mimetype.endswith("+json")
    ):
        raise ApiProblem(
            415,
            "Unsupported media type",
            f"send `Content-Type: application/json`, not `{request.mimetype or 'none'}`",
        )
    return parse_json_bytes(request.get_data(cache=False))


def parse_json_bytes(raw: bytes) -> Any:
    """`parse_json_body` once the media type is known to be JSON: the same 400s.

    A body of UTF-8 JSON without a fraction or exponent anywhere (most requests: amounts
    usually come as strings) is read by orjson, in a third of the time. orjson reads such
    numbers as float and refuses anything the standard decoder would have to word an error
    for (other encodings, lone surrogates, NaN); all of those go the standard way, which
    keeps every fraction a Decimal. tests/test_body.py holds the two readings equal.
    """
    if not (b"\\u" in raw and SURROGATE_ESCAPE_BYTES.search(raw)):
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
        else:
            if plain_numbers(body, MAX_DEPTH):
                return body
    return _parse_exactly(raw)


def _plain_numbers(value: Any, room: int) -> bool:
    """No float anywhere, and no container deeper than ``room`` levels (else the standard
    way). Level by level rather than recursively: a third of the time on a batch."""
    level = [value]
    for _ in range(room):
        deeper: list[Any] = []
        for item in level:
            kind = type(item)
            if kind is dict:
                deeper.extend(item.values())
            elif kind is list:
                deeper.extend(item)
            elif kind is float:
                return False
        if not deeper:
            return True
        level = deeper
    return not any(type(item) in _NOT_PLAIN_LEAVES for item in level)


_NOT_PLAIN_LEAVES = (dict, list, float)  # below the last level a container is too deep


def _compiled_plain_numbers() -> Callable[[Any, int], bool]:
    """youthmode/_body.c's `plain_numbers`, `_plain_numbers`'s compiled twin, where it is
    built and current (compiled.py); else `_plain_numbers`."""
    module = compiled.load("_body")
    check: Callable[[Any, int], bool] = _plain_numbers if module is None else module.plain_numbers
    return check


plain_numbers = _compiled_plain_numbers()


def _parse_exactly(raw: bytes) -> Any:
    text, surrogates = _body_text(raw)
    try:
        body = JSON_BODY.decode(text)
    except NumberOutOfRange as err:
        _reject(_locate(_decode_marked(text), _oversized), "number_out_of_range")
        raise ApiProblem(400, "Invalid request", f"the number `{err}` is out of range") from None
    except ValueError as err:
        raise ApiProblem(400, "Malformed JSON", f"the body is not valid JSON: {err}") from None
    except RecursionError:
        raise ApiProblem(
            400, "Malformed JSON", f"the body is nested too deeply (the limit is {MAX_DEPTH})"
        ) from None
    if surrogates:
        _reject(_locate(body, _lone_surrogate), "invalid_unicode")
    elif text.count("{") + text.count("[") > MAX_DEPTH and not _shallow_body(body):
        _reject(_locate(body, None), "too_deep")  # (fewer containers cannot nest too deeply)
    return body


def _shallow_body(body: Any) -> bool:
    return not isinstance(body, dict | list) or _shallow(body, MAX_DEPTH - 1)


def _shallow(value: Any, room: int) -> bool:
    """Do the containers in ``value`` nest at most ``room`` levels further? (The fast check
    for batches, which always hold many containers; `_locate` then names the place.)"""
    for child in value.values() if type(value) is dict else value:
        kind = type(child)
        if (kind is dict or kind is list) and (room == 0 or not _shallow(child, room - 1)):
            return False
    return True


def _body_text(raw: bytes) -> tuple[str, bool]:
    """The body as text (as `json.loads` reads bytes: UTF-8, -16 or -32), and whether it
    may hold a lone surrogate: from a `\\udXXX` escape, or bytes that encode one."""
    encoding = json.detect_encoding(raw)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        try:  # encoded surrogates decode, to be named by their place in the body below
            return raw.decode(encoding, "surrogatepass"), True
        except UnicodeDecodeError as err:
            raise ApiProblem(
                400, "Malformed JSON", f"the body is not valid {encoding}: {err}"
            ) from None
    return text, "\\u" in text and SURROGATE_ESCAPE.search(text) is not None


def _decode_marked(text: str) -> Any:
    try:
        return _MARKING.decode(text)
    except (ValueError, RecursionError) as err:
        raise ApiProblem(400, "Malformed JSON", f"the body is not valid JSON: {err}") from None


def _oversized(value: Any) -> str | None:
    if type(value) is not _Oversized:
        return None
    shown = value if len(value) <= 24 else value[:20] + "..."
    return (
        f"the number `{shown}` is out of range: at most {MAX_NUMBER_CHARS} characters and "
        f"an exponent within ±{MAX_EXPONENT}"
    )


def _lone_surrogate(value: Any) -> str | None:
    if type(value) is not str:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "not valid Unicode: a lone UTF-16 surrogate (e.g. `\\ud800`) is not a character"
    return None


def _locate(
    value: Any, bad: Callable[[Any], str | None] | None, depth: int = 1
) -> tuple[Loc, str] | None:
    """The path to the first place that nests too deeply or that ``bad`` names, and why."""
    if type(value) is dict:
        pairs: Iterable[tuple[Any, Any]] = value.items()
    elif type(value) is list:
        pairs = enumerate(value)
    else:
        why = bad(value) if bad is not None else None
        return ([], why) if why else None
    if depth > MAX_DEPTH:
        return [], f"nested more than {MAX_DEPTH} levels deep (the limit)"
    for key, child in pairs:
        if bad is not None and (why := bad(key)):
            return [key], f"the object key is {why}"
        if bad is None and type(child) is not dict and type(child) is not list:
            continue  # the depth alone: scalars cannot nest
        found = _locate(child, bad, depth + 1)
        if found is not None:
            found[0].insert(0, key)
            return found
    return None


def _reject(found: tuple[Loc, str] | None, code: str) -> None:
    if found is None:
        return
    loc, msg = found
    # A lone surrogate in a key would break the answer itself: show it escaped.
    shown: Loc = [
        p if not isinstance(p, str) else p.encode("utf-8", "backslashreplace").decode() for p in loc
    ]
    where = ".".join(str(p) for p in shown) or "body"
    raise ApiProblem(
        400,
        "Invalid request",
        f"{where}: {msg}",
        errors=[{"loc": shown, "msg": msg, "code": code}],
    )
