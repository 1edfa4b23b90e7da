"""Reference evaluator for the cn-baseline policy, used only by tests.

Written directly from shared/CONTRACT.md (sections 1-3), the team's cn-spec.md and the
official calendars in shared/reference/regulations-cn.md, without looking at the engine, so
that the engine can be cross-checked against it on random requests.  It is plain and slow on
purpose:

* every rule is in one function, `rule_reasons`, in the order of cn-spec.md, and it answers
  for one instant with the usage figures passed to it;
* `remaining_seconds` and `next_allowed_at` are found by brute force, by asking `rule_reasons`
  about the instants after `at` (minute by minute, then second by second), never by working
  out candidate instants.

Public functions: `reference_decide`, `reference_reasons_at`, `rule_reasons`,
`parse_request`, `age_on`, `band_for_age`, `day_type`, `is_game_day`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

# --------------------------------------------------------------------------------------------
# Calendar: State Council notices for 2025 (S16) and 2026 (S15), regulations-cn.md section 3.
# Other years have no entries, so they fall back to plain weekdays.
# --------------------------------------------------------------------------------------------


def _days(first: str, last: str) -> set[date]:
    """Every date from `first` to `last`, both included."""
    start = date.fromisoformat(first)
    end = date.fromisoformat(last)
    return {start + timedelta(days=n) for n in range((end - start).days + 1)}


# Every day of each official rest window (放假), weekend days inside the window included.
HOLIDAYS: frozenset[date] = frozenset(
    # 2025
    _days("2025-01-01", "2025-01-01")  # 元旦
    | _days("2025-01-28", "2025-02-04")  # 春节
    | _days("2025-04-04", "2025-04-06")  # 清明
    | _days("2025-05-01", "2025-05-05")  # 劳动节
    | _days("2025-05-31", "2025-06-02")  # 端午
    | _days("2025-10-01", "2025-10-08")  # 国庆 + 中秋
    # 2026
    | _days("2026-01-01", "2026-01-03")  # 元旦
    | _days("2026-02-15", "2026-02-23")  # 春节
    | _days("2026-04-04", "2026-04-06")  # 清明
    | _days("2026-05-01", "2026-05-05")  # 劳动节
    | _days("2026-06-19", "2026-06-21")  # 端午
    | _days("2026-09-25", "2026-09-27")  # 中秋
    | _days("2026-10-01", "2026-10-07")  # 国庆
)

# Weekend days that the notices make working days (调休上班).
MAKEUP_WORKDAYS: frozenset[date] = frozenset(
    date.fromisoformat(d)
    for d in (
        # 2025
        "2025-01-26",  # Sun, 春节
        "2025-02-08",  # Sat, 春节
        "2025-04-27",  # Sun, 劳动节
        "2025-09-28",  # Sun, 国庆
        "2025-10-11",  # Sat, 国庆
        # 2026
        "2026-01-04",  # Sun, 元旦
        "2026-02-14",  # Sat, 春节
        "2026-02-28",  # Sat, 春节
        "2026-05-09",  # Sat, 劳动节
        "2026-09-20",  # Sun, 国庆
        "2026-10-10",  # Sat, 国庆
    )
)

FRIDAY, SATURDAY, SUNDAY = 4, 5, 6


def day_type(day: date) -> str:
    """`holiday`, `makeup_workday`, `weekend` or `workday` (cn-spec.md, Time and calendar)."""
    if day in HOLIDAYS:
        return "holiday"
    if day in MAKEUP_WORKDAYS:
        return "makeup_workday"
    if day.weekday() in (SATURDAY, SUNDAY):
        return "weekend"
    return "workday"


def is_game_day(day: date) -> bool:
    """A holiday, or a Friday, Saturday or Sunday that is not a make-up working day."""
    if day in HOLIDAYS:
        return True
    return day.weekday() in (FRIDAY, SATURDAY, SUNDAY) and day not in MAKEUP_WORKDAYS


# --------------------------------------------------------------------------------------------
# Age and bands
# --------------------------------------------------------------------------------------------


def _birthday_in_year(birthdate: date, year: int) -> date:
    """The birthday in `year`; for 29 February in a non-leap year, 28 February."""
    if birthdate.month == 2 and birthdate.day == 29:
        try:
            return date(year, 2, 29)
        except ValueError:
            return date(year, 2, 28)
    return date(year, birthdate.month, birthdate.day)


def age_on(birthdate: date, today: date) -> int:
    """Whole years on local date `today`, `next_day` rollover.

    Age N starts at 00:00 on the day AFTER the Nth birthday: born 2014-03-02 is 11 on
    2026-03-02 and 12 from 2026-03-03.  Born 29 February: the new age starts on 1 March
    in every year (the day after 28 February, or after 29 February in leap years).
    On the day of birth itself the age is 0.
    """
    if today < birthdate:
        raise ValueError(f"birthdate {birthdate} is after {today}")
    age = today.year - birthdate.year
    if today <= _birthday_in_year(birthdate, today.year):
        age -= 1  # this year's birthday has not been completed yet
    return max(age, 0)


MINOR_BANDS = ("under-3", "3-8", "8-12", "12-16", "16-18")


def band_for_age(age: int | None) -> str:
    """cn-baseline band for a whole-year age; `unknown` when no age is known."""
    if age is None:
        return "unknown"
    if age < 3:
        return "under-3"
    if age < 8:
        return "3-8"
    if age < 12:
        return "8-12"
    if age < 16:
        return "12-16"
    if age < 18:
        return "16-18"
    return "adult"


# --------------------------------------------------------------------------------------------
# Actions and constants of cn-baseline
# --------------------------------------------------------------------------------------------

METERED_ACTIONS = frozenset({"app.use", "game.play", "content.view", "livestream.host"})
SPENDING_ACTIONS = frozenset({"game.purchase", "purchase", "livestream.tip"})
KNOWN_ACTIONS = (
    METERED_ACTIONS
    | SPENDING_ACTIONS
    | {
        "fan.fundraise",
        "fan.vote",
        "comment.post",
        "dm.send",
        "notification.send",
    }
)
EXEMPT_CATEGORIES = frozenset({"system_core", "emergency_communication", "filed_education"})

# Rule 1: actions that need a verified identity, for every band.
NEEDS_VERIFIED = frozenset(
    {"game.play", "game.purchase", "livestream.tip", "livestream.host", "comment.post", "dm.send"}
)
# Rule 2: actions that need a known age (band unknown).
NEEDS_KNOWN_AGE = frozenset(
    {
        "game.play",
        "game.purchase",
        "purchase",
        "livestream.tip",
        "livestream.host",
        "comment.post",
        "dm.send",
        "fan.fundraise",
        "fan.vote",
    }
)
INDUCEMENT_ACTIONS = frozenset({"fan.fundraise", "fan.vote"})
GAME_ACTIONS = frozenset({"game.play", "game.purchase"})

CURFEW_START = time(22, 0)
CURFEW_END = time(6, 0)
GAME_WINDOW_START = time(20, 0)
GAME_WINDOW_END = time(21, 0)

DAILY_LIMIT_UNDER_16 = 3600
DAILY_LIMIT_16_18 = 7200

# band -> (per-transaction cap, monthly cap for game.purchase)
SPENDING_CAPS: dict[str, tuple[Decimal, Decimal]] = {
    "8-12": (Decimal("50.00"), Decimal("200.00")),
    "12-16": (Decimal("50.00"), Decimal("200.00")),
    "16-18": (Decimal("100.00"), Decimal("400.00")),
}

REST_REMINDER_AFTER = 1800

# --------------------------------------------------------------------------------------------
# Request
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """The facts of a decision request that cn-baseline looks at, parsed once."""

    action: str
    at: datetime  # aware, Asia/Shanghai, whole seconds
    birthdate: date | None
    declared_age: int | None  # subject.age; used only when there is no birthdate
    verified: bool
    today_seconds: int
    session_seconds: int
    day_spent: Decimal
    month_spent: Decimal
    amount: Decimal | None
    category: str | None
    min_age: int | None
    recipient: str | None
    consents: frozenset[str]
    exemptions: frozenset[str]

    def age_on(self, local_day: date) -> int | None:
        """Age on a local date: from the birthdate when given (it wins), else as declared."""
        if self.birthdate is not None:
            return age_on(self.birthdate, local_day)
        return self.declared_age


def _decimal(value: Any, where: str) -> Decimal:
    """A decimal from a JSON string or integer; floats are refused, never rounded."""
    if isinstance(value, bool) or not isinstance(value, Decimal | str | int):
        raise TypeError(f"{where}: expected a decimal string, got {value!r}")
    result = Decimal(value)
    if not result.is_finite():
        raise ValueError(f"{where}: not a finite number: {value!r}")
    return result


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"{where}: expected an integer, got {value!r}")
    return int(value)


def _parse_at(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = datetime.fromisoformat(value)
    else:
        raise TypeError("at: an RFC 3339 timestamp with offset is required by the reference")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"at: no UTC offset in {value!r}")
    # Every rule boundary of cn-baseline is a whole second, so dropping a fraction of a
    # second does not change any answer; it keeps remaining_seconds a whole number.
    return parsed.astimezone(SHANGHAI).replace(microsecond=0)


def parse_request(request: Mapping[str, Any]) -> Request:
    """Parse a CONTRACT section 1 request dict.  Raises ValueError / TypeError when invalid."""
    policy = request.get("policy", "cn-baseline")
    if policy != "cn-baseline":
        raise ValueError(f"the reference knows only cn-baseline, not {policy!r}")
    action = request.get("action")
    if action not in KNOWN_ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    at = _parse_at(request.get("at"))

    subject = request.get("subject") or {}
    usage = request.get("usage") or {}
    resource = request.get("resource") or {}
    guardian = request.get("guardian") or {}

    birthdate = None
    if subject.get("birthdate") is not None:
        birthdate = date.fromisoformat(subject["birthdate"])
    declared_age = None
    if subject.get("age") is not None:
        declared_age = _int(subject["age"], "subject.age")
        if declared_age < 0:
            raise ValueError("subject.age is negative")

    amount = None
    if resource.get("amount") is not None:
        amount = _decimal(resource["amount"], "resource.amount")
    if action in SPENDING_ACTIONS and amount is None:
        raise ValueError(f"{action} needs resource.amount")
    min_age = None
    if resource.get("min_age") is not None:
        min_age = _int(resource["min_age"], "resource.min_age")

    parsed = Request(
        action=action,
        at=at,
        birthdate=birthdate,
        declared_age=declared_age,
        verified=bool(subject.get("verified", False)),
        today_seconds=_int(usage.get("today_seconds", 0), "usage.today_seconds"),
        session_seconds=_int(usage.get("session_seconds", 0), "usage.session_seconds"),
        day_spent=_decimal(usage.get("day_spent", "0"), "usage.day_spent"),
        month_spent=_decimal(usage.get("month_spent", "0"), "usage.month_spent"),
        amount=amount,
        category=resource.get("category"),
        min_age=min_age,
        recipient=resource.get("recipient"),
        consents=frozenset(guardian.get("consents") or ()),
        exemptions=frozenset(guardian.get("exemptions") or ()),
    )
    parsed.age_on(at.date())  # a birthdate after `at` raises ValueError here
    return parsed


# --------------------------------------------------------------------------------------------
# The rules at one instant
# --------------------------------------------------------------------------------------------


def rule_reasons(
    req: Request,
    when: datetime,
    today_seconds: int,
    day_spent: Decimal,
    month_spent: Decimal,
) -> tuple[str, ...]:
    """Reason codes of every rule that denies `req` at instant `when` with these usage figures.

    Empty tuple = allow.  Order = rule order of cn-spec.md.  `day_spent` is not used:
    cn-baseline has no daily spending cap (it is a parameter so the usage model is complete).
    """
    local = when.astimezone(SHANGHAI)
    clock = local.time()
    age = req.age_on(local.date())
    band = band_for_age(age)
    action = req.action
    exempt_category = req.category in EXEMPT_CATEGORIES
    reasons: list[str] = []

    # 1. unverified: every band, adults and unknown ages included.  Not waivable.
    if action in NEEDS_VERIFIED and not req.verified:
        reasons.append("unverified")

    # 2. unknown-age: the age must be known, even when verified.  Not waivable.
    if band == "unknown" and action in NEEDS_KNOWN_AGE:
        reasons.append("unverified")

    # Adults and unknown ages get no other rule.
    if band not in MINOR_BANDS:
        return tuple(reasons)
    assert age is not None

    # 3. no-tipping.
    if action == "livestream.tip":
        reasons.append("feature_forbidden")

    # 4. no-fan-inducement.
    if action in INDUCEMENT_ACTIONS:
        reasons.append("feature_forbidden")

    # 5. no-spending-under-8.
    if band in ("under-3", "3-8") and action in ("game.purchase", "purchase"):
        reasons.append("feature_forbidden")

    # 6. no-hosting-under-16.
    if band in ("under-3", "3-8", "8-12", "12-16") and action == "livestream.host":
        reasons.append("feature_forbidden")

    # 7. hosting-consent (16-18).
    if band == "16-18" and action == "livestream.host" and "livestream.host" not in req.consents:
        reasons.append("guardian_consent_required")

    # 8. stranger-dm.  Waivable.
    if (
        action == "dm.send"
        and req.recipient == "stranger"
        and "stranger_contact" not in req.exemptions
    ):
        reasons.append("stranger_contact")

    # 9. content-age.  Not waivable.
    if req.min_age is not None and req.min_age > age:
        reasons.append("age_restricted")

    # 10. curfew [22:00, 06:00), every action.  Waivable; exempt categories skip it.
    in_curfew = clock >= CURFEW_START or clock < CURFEW_END
    if in_curfew and not exempt_category and "curfew" not in req.exemptions:
        reasons.append("curfew")

    # 11. game-window [20:00, 21:00) on game days.  Not waivable, exempt categories included.
    if action in GAME_ACTIONS:
        in_window = is_game_day(local.date()) and GAME_WINDOW_START <= clock < GAME_WINDOW_END
        if not in_window:
            reasons.append("outside_allowed_window")

    # 12. daily-limit, every action (metered or not).  Waivable; exempt categories skip it.
    limit = DAILY_LIMIT_16_18 if band == "16-18" else DAILY_LIMIT_UNDER_16
    if today_seconds >= limit and not exempt_category and "daily_limit" not in req.exemptions:
        reasons.append("daily_limit")

    # 13. spending caps, exact Decimal comparisons.  Not waivable.  (Under 8: rule 5.)
    if action in ("game.purchase", "purchase") and band in SPENDING_CAPS:
        per_transaction_cap, monthly_cap = SPENDING_CAPS[band]
        assert req.amount is not None
        if req.amount > per_transaction_cap:
            reasons.append("per_transaction_cap")
        if action == "game.purchase" and month_spent + req.amount > monthly_cap:
            reasons.append("monthly_cap")

    return tuple(reasons)


def reference_reasons_at(
    request: Mapping[str, Any],
    when: datetime,
    today_seconds: int,
    day_spent: Decimal,
    month_spent: Decimal,
) -> tuple[str, ...]:
    """`rule_reasons` for a request dict (its own `usage` is ignored; the figures given win)."""
    return rule_reasons(parse_request(request), when, today_seconds, day_spent, month_spent)


# --------------------------------------------------------------------------------------------
# Usage models for the scans (cn-spec.md, remaining_seconds and next_allowed_at)
# --------------------------------------------------------------------------------------------

ZERO = Decimal(0)


def _local_midnight(local_day: date) -> datetime:
    return datetime.combine(local_day, time(0, 0), tzinfo=SHANGHAI)


def _usage_if_kept_using(req: Request, when: datetime) -> tuple[int, Decimal, Decimal]:
    """(today_seconds, day_spent, month_spent) at `when` if the subject used the service
    without a break from `at` to `when`: metered use grows by one per second and starts
    again from 0 at each local midnight; other figures stay as given until their reset."""
    metered = req.action in METERED_ACTIONS
    local = when.astimezone(SHANGHAI)
    if local.date() == req.at.date():
        today = req.today_seconds
        if metered:
            today += int((when - req.at).total_seconds())
        day_spent = req.day_spent
    else:
        today = 0
        if metered:
            today = int((when - _local_midnight(local.date())).total_seconds())
        day_spent = ZERO
    same_month = (local.year, local.month) == (req.at.year, req.at.month)
    month_spent = req.month_spent if same_month else ZERO
    return today, day_spent, month_spent


def _usage_if_waiting(req: Request, when: datetime) -> tuple[int, Decimal, Decimal]:
    """(today_seconds, day_spent, month_spent) at `when` if the subject waits (no use while
    denied): figures as given, today's reset from the next local midnight, the month's from
    the first of the next month."""
    local = when.astimezone(SHANGHAI)
    same_day = local.date() == req.at.date()
    same_month = (local.year, local.month) == (req.at.year, req.at.month)
    today = req.today_seconds if same_day else 0
    day_spent = req.day_spent if same_day else ZERO
    month_spent = req.month_spent if same_month else ZERO
    return today, day_spent, month_spent


# --------------------------------------------------------------------------------------------
# Brute-force scan
# --------------------------------------------------------------------------------------------

MINUTE = 60
REMAINING_HORIZON = 48 * 3600
NEXT_ALLOWED_HORIZON = 14 * 24 * 3600


def _first_second(at: datetime, horizon: int, wanted: Callable[[datetime], bool]) -> int | None:
    """Smallest whole s with 1 <= s <= horizon and wanted(at + s), or None.

    `horizon` is a whole number of minutes.  Samples at + 60 s, at + 120 s, ... (aligned to
    `at`, which may have seconds).  A minute step (start, end] is searched second by second
    when its end sample is wanted, or when it contains a local midnight.

    Why this cannot skip the first wanted second, for cn-baseline:
    every rule changes its answer only at whole local minutes (06:00, 20:00, 21:00, 22:00,
    and local midnights, where the day type, today's use, the month's spend and the age
    change), with one exception: while a metered action is used, the daily budget runs out at
    at + (limit - today_seconds), which can be any second.
    * Any stretch of the same answer that starts and ends at whole minutes lasts a whole
      number of minutes, so at least 60 s, and so contains a sample of a 60 s grid whatever
      the grid's seconds are.  In particular no allow period is shorter than a minute (the
      shortest in cn-baseline is the one-hour game window), so the next_allowed_at scan, where
      usage does not grow, cannot skip one.
    * A denial that starts when the budget runs out lasts until the budget resets at the next
      local midnight, or longer.  If it is shorter than a minute it contains that midnight's
      step, which is searched second by second.
    """
    for end in range(MINUTE, horizon + 1, MINUTE):
        start = end - MINUTE
        t_start = at + timedelta(seconds=start)
        t_end = at + timedelta(seconds=end)
        crosses_midnight = t_start.astimezone(SHANGHAI).date() != t_end.astimezone(SHANGHAI).date()
        if wanted(t_end) or crosses_midnight:
            for s in range(start + 1, end + 1):
                if wanted(at + timedelta(seconds=s)):
                    return s
    return None


def remaining_seconds(req: Request) -> int | None:
    """For an allowed request: seconds of continued use from `at` until it is first denied,
    or None when that is more than 48 hours away."""
    at = req.at.astimezone(UTC)  # scan in UTC: plain elapsed-time arithmetic

    def denied(when: datetime) -> bool:
        return bool(rule_reasons(req, when, *_usage_if_kept_using(req, when)))

    return _first_second(at, REMAINING_HORIZON, denied)


def next_allowed_at(req: Request) -> datetime | None:
    """For a denied request: the earliest second in (at, at + 14 days] at which it is
    allowed (no use while waiting), in Asia/Shanghai; None if there is none."""
    at = req.at.astimezone(UTC)

    def allowed(when: datetime) -> bool:
        return not rule_reasons(req, when, *_usage_if_waiting(req, when))

    s = _first_second(at, NEXT_ALLOWED_HORIZON, allowed)
    if s is None:
        return None
    return (at + timedelta(seconds=s)).astimezone(SHANGHAI)


# --------------------------------------------------------------------------------------------
# Decision
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefDecision:
    effect: str  # "allow" or "deny"
    reasons: tuple[str, ...]  # reason codes, rule order of cn-spec.md; empty for allow
    remaining_seconds: int | None  # allow only
    next_allowed_at: datetime | None  # deny only; aware, Asia/Shanghai
    band: str = "unknown"  # band at `at`
    obligations: tuple[str, ...] = ()  # obligation types, e.g. ("rest_reminder",)


def reference_decide(request: Mapping[str, Any], *, timeline: bool = True) -> RefDecision:
    """Decide a CONTRACT section 1 request under cn-baseline.  `at` is required.

    With ``timeline=False`` the slow scans are skipped and both timeline fields are None.
    """
    req = parse_request(request)
    band = band_for_age(req.age_on(req.at.date()))
    reasons = rule_reasons(req, req.at, req.today_seconds, req.day_spent, req.month_spent)
    if reasons:
        return RefDecision("deny", reasons, None, next_allowed_at(req) if timeline else None, band)
    obligations: tuple[str, ...] = ()
    # 14. rest-reminder: an allow for a minor whose session is over 30 minutes.
    if band in MINOR_BANDS and req.session_seconds > REST_REMINDER_AFTER:
        obligations = ("rest_reminder",)
    remaining = remaining_seconds(req) if timeline else None
    return RefDecision("allow", (), remaining, None, band, obligations)
