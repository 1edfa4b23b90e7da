"""Parsing of the small value languages used in policy files: durations, times of day, money.

These are the only places that turn text into numbers, so every format rule lives here.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_DURATION_PART = re.compile(r"(\d+)\s*(h|m|s)")
_DURATION_FULL = re.compile(r"^\s*(?:\d+\s*[hms]\s*)+$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}


class UnitError(ValueError):
    """A value in a small language that does not parse; ``code`` is the policy error code."""

    def __init__(self, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint


def parse_duration(text: object) -> int:
    """`"40m"`, `"2h"`, `"1h30m"`, `"90s"` -> seconds."""
    if not isinstance(text, str) or not _DURATION_FULL.match(text):
        raise UnitError(
            "invalid_duration",
            f"`{text}` is not a duration",
            'write a number with a unit, like "40m", "2h" or "1h30m"',
        )
    seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(text))
    if seconds <= 0:
        raise UnitError("invalid_duration", f"duration `{text}` must be longer than zero")
    return seconds


def parse_time_of_day(text: object) -> int:
    """`"22:00"` or `"22:00:30"` -> seconds after local midnight; `"24:00"` is the day's end."""
    match = _TIME.match(text) if isinstance(text, str) else None
    if match is None:
        raise UnitError(
            "invalid_time", f"`{text}` is not a time of day", 'write 24-hour time like "22:00"'
        )
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    total = hours * 3600 + minutes * 60 + seconds
    if minutes > 59 or seconds > 59 or total > 86400:
        raise UnitError("invalid_time", f"`{text}` is not a time of day between 00:00 and 24:00")
    return total


def format_time_of_day(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def format_duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{secs}s" if secs else "",
    ]
    return "".join(parts) or "0s"


def parse_money(value: object, *, places: int = 2) -> Decimal:
    """A decimal string (or integer) -> Decimal; never via float, never negative or NaN.

    ``places`` is the currency's minor unit: an amount finer than it is refused rather than
    rounded, because rounding 50.004 down would let it through a 50.00 cap.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise UnitError(
            "invalid_amount",
            f"amount `{value}` must be a decimal string",
            f'write it in quotes, like "{value:.2f}"' if isinstance(value, float) else None,
        )
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            raise UnitError("invalid_amount", f"`{value}` is not a decimal amount") from None
    else:
        raise UnitError("invalid_amount", f"`{value}` is not a decimal amount")
    return check_amount(amount, places=places)


# No price, cap or top-up reaches this in any currency; beyond it Decimal arithmetic on
# exponents like 1E+999999999 is slow or overflows the context, so such input is refused.
MAX_AMOUNT = Decimal("1000000000000")


def check_amount(amount: Decimal, *, places: int = 2) -> Decimal:
    if not amount.is_finite():
        raise UnitError("invalid_amount", f"amount `{amount}` must be a finite number")
    if amount < 0:
        raise UnitError("invalid_amount", f"amount `{amount}` must not be negative")
    if amount > MAX_AMOUNT:
        raise UnitError(
            "invalid_amount", f"amount `{amount:.6g}` is larger than {MAX_AMOUNT:,} allows"
        )
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise UnitError(
            "invalid_amount",
            f"amount `{amount}` has more than {places} decimal places",
            "amounts are exact to the currency's minor unit",
        )
    return amount
