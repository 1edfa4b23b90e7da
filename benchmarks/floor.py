"""(c) The floor: cn-baseline written by hand as one plain Python function.

Effect and reason codes only (no remaining time, next allowed instant, obligations or response
model): the least work any implementation of these rules must do for a request dict. It parses
the same request dicts the engine gets (timestamp, birthdate, decimal amounts), so the ratio to
the engine is the price of the engine's generality and of the extra answers it gives.
Rules and their order: /work/scratch/cn-spec.md ("Rules, in this order").
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from cn_calendar import CST, is_game_day

ACTIONS = frozenset(
    {
        "app.use", "game.play", "game.purchase", "purchase", "livestream.tip", "livestream.host",
        "fan.fundraise", "fan.vote", "comment.post", "dm.send", "content.view",
        "notification.send",
    }
)  # fmt: skip
SPENDING = frozenset({"game.purchase", "purchase", "livestream.tip"})
NEEDS_VERIFIED = frozenset(
    {"game.play", "game.purchase", "livestream.tip", "livestream.host", "comment.post", "dm.send"}
)
UNKNOWN_AGE_CLOSED = NEEDS_VERIFIED | {"purchase", "fan.fundraise", "fan.vote"}
INDUCEMENT = frozenset({"fan.fundraise", "fan.vote"})
GAME = frozenset({"game.play", "game.purchase"})
EXEMPT_CATEGORIES = frozenset({"system_core", "emergency_communication", "filed_education"})
# band -> (daily limit seconds, game top-up per transaction, per month, purchase per transaction)
D50, D100, D200, D400 = Decimal("50.00"), Decimal("100.00"), Decimal("200.00"), Decimal("400.00")
LIMITS = {
    "under-3": (3600, None, None, None),
    "3-8": (3600, None, None, None),
    "8-12": (3600, D50, D200, D50),
    "12-16": (3600, D50, D200, D50),
    "16-18": (7200, D100, D400, D100),
}
NONE: tuple[str, ...] = ()


def band_of(age: int | None) -> str:
    if age is None:
        return "unknown"
    if age >= 18:
        return "adult"
    if age >= 16:
        return "16-18"
    if age >= 12:
        return "12-16"
    if age >= 8:
        return "8-12"
    return "3-8" if age >= 3 else "under-3"


def age_on(birth: date, day: date) -> int:
    """Whole years with the `next_day` rollover: one year older the day after the birthday.

    A 29 February birth turns older on 1 March in every year, which the tuple comparison gives.
    """
    years = day.year - birth.year - ((day.month, day.day) <= (birth.month, birth.day))
    return years if years > 0 else 0


def decide(req: dict[str, Any]) -> tuple[str, list[str]]:
    """(effect, reason codes in rule order) for one cn-baseline request dict."""
    action = req["action"]
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    subject = req.get("subject") or {}
    resource = req.get("resource") or {}
    if action in SPENDING and resource.get("amount") is None:
        raise ValueError("spending actions need resource.amount")
    local = datetime.fromisoformat(req["at"]).astimezone(CST)
    birth = subject.get("birthdate")
    age = age_on(date.fromisoformat(birth), local.date()) if birth else subject.get("age")
    band = band_of(age)
    codes: list[str] = []
    if action in NEEDS_VERIFIED and not subject.get("verified", False):
        codes.append("unverified")
    if band == "unknown":
        if action in UNKNOWN_AGE_CLOSED:
            codes.append("unverified")
        return ("deny" if codes else "allow"), codes
    if band == "adult":
        return ("deny" if codes else "allow"), codes

    guardian = req.get("guardian") or {}
    exemptions = guardian.get("exemptions") or NONE
    if action == "livestream.tip" or action in INDUCEMENT:
        codes.append("feature_forbidden")
    elif action == "livestream.host":
        if band == "16-18":
            if "livestream.host" not in (guardian.get("consents") or NONE):
                codes.append("guardian_consent_required")
        else:
            codes.append("feature_forbidden")
    elif band in ("under-3", "3-8") and (action == "game.purchase" or action == "purchase"):
        codes.append("feature_forbidden")
    elif (
        action == "dm.send"
        and resource.get("recipient") == "stranger"
        and "stranger_contact" not in exemptions
    ):
        codes.append("stranger_contact")
    min_age = resource.get("min_age")
    if min_age is not None and min_age > age:
        codes.append("age_restricted")

    exempt = resource.get("category") in EXEMPT_CATEGORIES
    second = local.hour * 3600 + local.minute * 60 + local.second
    if not exempt and (second >= 79200 or second < 21600) and "curfew" not in exemptions:
        codes.append("curfew")
    if action in GAME and not (72000 <= second < 75600 and is_game_day(local.date())):
        codes.append("outside_allowed_window")
    limit, topup_max, topup_month, purchase_max = LIMITS[band]
    usage = req.get("usage") or {}
    if not exempt and usage.get("today_seconds", 0) >= limit and "daily_limit" not in exemptions:
        codes.append("daily_limit")
    if action == "game.purchase" and topup_max is not None:
        amount = Decimal(resource["amount"])
        if amount > topup_max:
            codes.append("per_transaction_cap")
        if Decimal(usage.get("month_spent") or 0) + amount > topup_month:
            codes.append("monthly_cap")
    elif action == "purchase" and purchase_max is not None:
        if Decimal(resource["amount"]) > purchase_max:
            codes.append("per_transaction_cap")
    return ("deny" if codes else "allow"), codes
