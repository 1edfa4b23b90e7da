"""Random decision requests for cn-baseline, clustered around every limit the pack mentions.

Shared by the differential test (against the reference evaluator) and the property tests.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
ACTIONS = (
    "app.use",
    "game.play",
    "game.purchase",
    "purchase",
    "livestream.tip",
    "livestream.host",
    "fan.fundraise",
    "fan.vote",
    "comment.post",
    "dm.send",
    "content.view",
    "notification.send",
)
SPENDING = {"game.purchase", "purchase", "livestream.tip"}
METERED = {"app.use", "game.play", "content.view", "livestream.host"}
EDGES = ("05:59", "06:00", "19:59", "20:00", "20:59", "21:00", "21:59", "22:00", "23:59", "00:00")
AMOUNTS = ("0.01", "30.00", "49.99", "50.00", "50.01", "99.99", "100.00", "100.01", "150.00")
SPENT = ("0", "100.00", "150.00", "150.01", "199.99", "200.00", "300.00", "350.00", "400.00")


def random_at(rng: random.Random) -> datetime:
    day = date(2025, 1, 1) + timedelta(days=rng.randrange(730))
    if rng.random() < 0.6:
        hh, mm = map(int, rng.choice(EDGES).split(":"))
        ss = rng.choice((0, 0, 1, 59, rng.randrange(60)))
    else:
        hh, mm, ss = rng.randrange(24), rng.randrange(60), rng.randrange(60)
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=SHANGHAI)


def random_subject(rng: random.Random, at: datetime) -> dict[str, Any]:
    subject: dict[str, Any] = {"verified": rng.random() < 0.8}
    roll = rng.random()
    if roll < 0.45:
        subject["age"] = rng.randrange(0, 26)
    elif roll < 0.9:
        years = rng.randrange(0, 26)
        near = at.date() + timedelta(days=rng.randrange(-3, 15))
        try:
            birth = near.replace(year=near.year - years)
        except ValueError:
            birth = date(near.year - years, 2, 28)
        if rng.random() < 0.05:
            birth = date(rng.choice((2008, 2012, 2016, 2020)), 2, 29)
        if birth > at.date():
            birth = at.date()
        subject["birthdate"] = birth.isoformat()
    return subject


def random_request(rng: random.Random) -> dict[str, Any]:
    at = random_at(rng)
    action = rng.choice(ACTIONS)
    request: dict[str, Any] = {
        "policy": "cn-baseline",
        "subject": random_subject(rng, at),
        "action": action,
        "at": at.isoformat(),
    }
    usage: dict[str, Any] = {}
    if rng.random() < 0.8:
        usage["today_seconds"] = rng.choice(
            (0, 1200, 3000, 3599, 3600, 3601, 7199, 7200, rng.randrange(9000))
        )
    if rng.random() < 0.5:
        usage["session_seconds"] = rng.choice((0, 1799, 1800, 1801, 3000))
    if action in SPENDING and rng.random() < 0.7:
        usage["month_spent"] = rng.choice(SPENT)
    if usage:
        request["usage"] = usage
    resource: dict[str, Any] = {}
    if action in SPENDING:
        resource["amount"] = rng.choice(AMOUNTS)
    if rng.random() < 0.2:
        resource["category"] = rng.choice(("game", "system_core", "filed_education", "video"))
    if action == "dm.send":
        resource["recipient"] = rng.choice(("contact", "stranger"))
    if rng.random() < 0.15:
        resource["min_age"] = rng.choice((0, 8, 12, 16, 18))
    if resource:
        request["resource"] = resource
    guardian: dict[str, Any] = {}
    if rng.random() < 0.3:
        guardian["exemptions"] = rng.sample(
            ["curfew", "daily_limit", "stranger_contact", "outside_allowed_window"],
            rng.randrange(1, 3),
        )
    if rng.random() < 0.2:
        guardian["consents"] = ["livestream.host"]
    if guardian:
        request["guardian"] = guardian
    return request


def shifted(request: dict[str, Any], when: datetime, *, in_use: bool) -> dict[str, Any]:
    """The same request asked at ``when``, with usage as CONTRACT section 2 describes.

    With ``in_use`` a metered action has been used without a break since `at`: today's use grows
    by the elapsed seconds and restarts from the local midnight. Otherwise counters only reset at
    their period boundaries.
    """
    at = datetime.fromisoformat(request["at"]).astimezone(SHANGHAI)
    when = when.astimezone(SHANGHAI)
    usage = dict(request.get("usage") or {})
    today = int(usage.get("today_seconds", 0))
    same_day = when.date() == at.date()
    if in_use and request["action"] in METERED:
        midnight = datetime.combine(when.date(), datetime.min.time(), tzinfo=SHANGHAI)
        elapsed = int((when - at).total_seconds())
        usage["today_seconds"] = (
            today + elapsed if same_day else int((when - midnight).total_seconds())
        )
    elif not same_day:
        usage["today_seconds"] = 0
    if not same_day:
        usage.pop("day_spent", None)
    if (when.year, when.month) != (at.year, at.month):
        usage["month_spent"] = str(Decimal(0))
    out = dict(request, at=when.isoformat())
    out["usage"] = usage
    return out
