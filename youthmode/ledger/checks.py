"""What the ledger accepts: ids, text, times within the acceptance window, encodable answers,
and idempotency keys for writes that have no id of their own."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticSerializationError

from youthmode.errors import RequestError
from youthmode.ledger.settings import LedgerSettings
from youthmode.ledger.store import LedgerConflict
from youthmode.ledger.text import is_clean_text

IDEMPOTENCY_SECONDS = 86400  # how long an idempotency key's answer is kept
MAX_IDEMPOTENCY_KEYS = 500  # keys remembered per subject (the newest)


@dataclass(frozen=True)
class Idempotency:
    """A caller's idempotency key for one write, and a fingerprint of what was asked."""

    key: str
    fingerprint: str

    @classmethod
    def of(cls, key: str | None, operation: str, *args: Any) -> Idempotency | None:
        if key is None:
            return None
        if not is_clean_text(key, 200) or not key:
            raise RequestError.single(
                ("Idempotency-Key",),
                "an idempotency key is 1 to 200 characters of valid Unicode",
                code="invalid_value",
            )
        asked = json.dumps([operation, *args], sort_keys=True, default=str, ensure_ascii=False)
        return cls(key, hashlib.sha256(asked.encode("utf-8", "surrogatepass")).hexdigest())

    def remember(self, answer: Any, now: float) -> dict[str, Any]:
        return {"at": now, "fp": self.fingerprint, "answer": answer}

    def replay(self, entry: dict[str, Any]) -> Any:
        if entry["fp"] != self.fingerprint:
            raise LedgerConflict.single(
                ("Idempotency-Key",),
                f"idempotency key `{self.key}` was used for another request",
                code="idempotency_key_reused",
            )
        return entry["answer"]


def check_subject_id(subject_id: Any) -> None:
    if not isinstance(subject_id, str) or not subject_id or not is_clean_text(subject_id):
        raise RequestError.single(
            ("subject_id",),
            "a subject id must be a non-empty string of valid Unicode, at most 200 characters",
            code="invalid_value",
        )


def check_encodable(answer: Any) -> None:
    """Raise a RequestError (which rolls the write back) if ``answer`` cannot be sent as
    UTF-8 JSON: a lone surrogate, or an integer too long to print."""
    try:
        if isinstance(answer, tuple):
            for part in answer:
                check_encodable(part)
        elif isinstance(answer, BaseModel):
            answer.model_dump_json().encode("utf-8")
        else:
            json.dumps(answer, ensure_ascii=False, default=str).encode("utf-8")
    except (ValueError, UnicodeError, PydanticSerializationError):
        raise RequestError.single(
            ("body",), "the answer to this request cannot be encoded", code="invalid_value"
        ) from None


def required_str(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value or len(value) > 200:
        raise RequestError.single(
            (key,), f"`{key}` must be a non-empty string", code="missing_field"
        )
    if not is_clean_text(value):
        raise RequestError.single(
            (key,), f"`{key}` is not valid Unicode (a lone surrogate)", code="invalid_value"
        )
    return value


def utc_time(value: Any) -> datetime:
    """An RFC 3339 time with an offset, as UTC; a time that has no UTC equivalent (year 1 at
    +14:00, year 9999 at -14:00) is a ValueError, not an OverflowError."""
    parsed = aware_time(value)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"`{value}` is out of range") from None


def ledger_time(value: Any, key: str, now: datetime, settings: LedgerSettings) -> datetime:
    """The time a ledger write is dated at, which must lie within the settings' window: an
    older record would be pruned in the same write (its id forgotten, so a retry counts twice),
    and a later one would date spend figures where no decision looks."""
    if value is None:
        return now
    try:
        at = utc_time(value)
    except ValueError as err:
        raise RequestError.single((key,), str(err), code="invalid_time") from None
    earliest, latest = settings.window(now)
    if not earliest <= at <= latest:
        raise RequestError.single(
            (key,),
            f"`{key}` must be within {settings.accept_past_days} days before and "
            f"{settings.max_skew} seconds after the server's clock ({now.isoformat()})",
            code="out_of_window",
        )
    return at


def aware_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"`{value}` is not an RFC 3339 time") from None
    else:
        raise ValueError("times must be RFC 3339 strings with an offset")
    if parsed.tzinfo is None:
        raise ValueError(f"`{value}` has no UTC offset")
    return parsed
