"""Reading a studio request body: untrusted JSON, checked field by field before anything runs.

Every bad field is a `StudioError` naming the field and what it should be, answered as a 400
problem; nothing is evaluated until the whole body is understood.
"""

from __future__ import annotations

import re
from typing import Any

from youthmode.studio.workspace import StudioError

MAX_TEXT_BYTES = 256 * 1024  # ten times the largest shipped pack, far under the server's cap
MAX_BODY_BYTES = 2 * MAX_TEXT_BYTES
MAX_AGE = 150
YEARS = range(2000, 2100)  # the instants a decision may be asked for (CONTRACT section 1)
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.toml")
_JURISDICTION = re.compile(r"[A-Za-z]{2}(-[A-Za-z0-9]{1,3})?")


def body_object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise StudioError("body", "the body must be a JSON object")
    return data


def file_name(body: dict[str, Any]) -> str:
    """`file`: the name of a served policy file, such as `cn-baseline.toml`."""
    name = body.get("file")
    if not isinstance(name, str) or not _FILE_NAME.fullmatch(name):
        raise StudioError("file", "`file` must be a policy file name such as `cn-baseline.toml`")
    return name


def policy_text(body: dict[str, Any]) -> str:
    """`text`: the edited file, at most 256 KiB of UTF-8."""
    text = body.get("text")
    if not isinstance(text, str):
        raise StudioError("text", "`text` must be the policy file's text, as a string")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        raise StudioError("text", f"`text` is over {MAX_TEXT_BYTES // 1024} KiB", 413)
    if "\x00" in text:
        raise StudioError("text", "`text` contains a NUL character; a policy file is text")
    return text


def optional_str(body: dict[str, Any], key: str, limit: int = 200) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise StudioError(key, f"`{key}` must be text of at most {limit} characters")
    return value


def required_str(body: dict[str, Any], key: str) -> str:
    value = optional_str(body, key)
    if value is None:
        raise StudioError(key, f"`{key}` is required")
    return value


def age(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_AGE:
        raise StudioError(key, f"`{key}` must be a whole number of years from 0 to {MAX_AGE}")
    return value


def subject(body: dict[str, Any]) -> dict[str, Any]:
    """Who the schedule is for: an age, or an age range, and optionally a jurisdiction."""
    who: dict[str, Any] = {
        "age": age(body, "age"),
        "age_lower": age(body, "age_lower"),
        "age_upper": age(body, "age_upper"),
        "verified": body.get("verified", True),
    }
    if not isinstance(who["verified"], bool):
        raise StudioError("verified", "`verified` must be true or false")
    low, high = who["age_lower"], who["age_upper"]
    if low is not None and high is not None and low > high:
        raise StudioError("age_upper", "the age range's upper bound is below its lower bound")
    if high is not None and low is None:
        raise StudioError("age_lower", "an age range needs its lower bound")
    place = optional_str(body, "jurisdiction", 10)
    if place is not None and not _JURISDICTION.fullmatch(place):
        raise StudioError("jurisdiction", "`jurisdiction` is a code such as `CN` or `US-TX`")
    who["jurisdiction"] = place
    return who


def year(body: dict[str, Any], default: int) -> int:
    value = body.get("year", default)
    if isinstance(value, bool) or not isinstance(value, int) or value not in YEARS:
        raise StudioError("year", f"`year` must be from {YEARS.start} to {YEARS.stop - 1}")
    return value


def choice(body: dict[str, Any], key: str, options: tuple[str, ...]) -> str:
    value = body.get(key, options[0])
    if value not in options:
        raise StudioError(key, f"`{key}` must be one of {', '.join(options)}")
    return str(value)


def decision_request(body: dict[str, Any]) -> dict[str, Any]:
    """`request`: a decision request, as `POST /v1/decisions` takes it (the engine checks it)."""
    request = body.get("request")
    if not isinstance(request, dict):
        raise StudioError("request", "`request` must be a decision request object")
    return request
