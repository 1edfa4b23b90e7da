"""A fixed, seeded workload of cn-baseline decision requests.

Every request is a valid CONTRACT section 1 request (plain JSON types: amounts are strings), so
the same list feeds the library, the Cedar glue, the hand-written floor and the HTTP API.
The mix is deliberately hard rather than typical: ages 0 to 25 (declared, from a birthdate near
its anniversary, 29 February births, or unknown), local times all over 2026 with extra weight on
holidays, make-up working days and the days around them, clock times on and next to every window
edge, all twelve actions, and usage and amounts on both sides of every limit and cap.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from cn_calendar import CST, HOLIDAYS, MAKEUP

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
SPENDING = frozenset({"game.purchase", "purchase", "livestream.tip"})

YEAR_DAYS = [date(2026, 1, 1) + timedelta(days=i) for i in range(365)]
# Holidays, make-up days, their neighbours, and the Fridays-Sundays around them.
SPECIAL_DAYS = sorted(
    {
        d + timedelta(days=k)
        for d in (HOLIDAYS | MAKEUP)
        if d.year == 2026
        for k in (-1, 0, 1)
        if (d + timedelta(days=k)).year == 2026
    }
)
EDGES = (
    (0, 0, 0), (5, 59, 59), (6, 0, 0), (6, 0, 1), (19, 59, 59), (20, 0, 0), (20, 0, 1),
    (20, 59, 59), (21, 0, 0), (21, 59, 59), (22, 0, 0), (22, 0, 1), (23, 59, 59),
)  # fmt: skip
OFFSETS = (
    (timezone(timedelta(hours=8)), 0.8),
    (UTC, 0.1),
    (timezone(timedelta(hours=9)), 0.05),
    (timezone(timedelta(hours=-5)), 0.05),
)
TODAY = (0, 600, 1200, 3000, 3599, 3600, 3601, 5400, 7199, 7200, 7201, 10000)
SESSION = (0, 600, 1799, 1800, 1801, 3600)
AMOUNTS = (
    "0.01", "1", "6.00", "30.00", "49.99", "50.00", "50.01", "68", "99.99", "100.00", "100.01",
    "128.00", "200.00",
)  # fmt: skip
MONTH_SPENT = (
    "0", "0.00", "50.00", "100.00", "150.00", "150.01", "199.99", "200.00", "250.00", "300.00",
    "300.01", "349.99", "350.00", "399.99", "400.00", "500.00",
)  # fmt: skip
CATEGORIES = (
    "game",
    "video",
    "social",
    "system_core",
    "emergency_communication",
    "filed_education",
)
EXEMPTIONS = ("curfew", "daily_limit", "stranger_contact", "outside_allowed_window", "unverified")


def _local_time(rng: random.Random) -> datetime:
    day = rng.choice(SPECIAL_DAYS) if rng.random() < 0.4 else rng.choice(YEAR_DAYS)
    if rng.random() < 0.6:
        hh, mm, ss = rng.choice(EDGES)
    else:
        hh, mm, ss = rng.randrange(24), rng.randrange(60), rng.randrange(60)
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=CST)


def _stamp(rng: random.Random, local: datetime) -> str:
    zone = rng.choices([z for z, _ in OFFSETS], [w for _, w in OFFSETS])[0]
    text = local.astimezone(zone).isoformat()
    return text.replace("+00:00", "Z") if text.endswith("+00:00") and rng.random() < 0.5 else text


def _subject(rng: random.Random, local: datetime) -> dict[str, Any]:
    subject: dict[str, Any] = {"verified": rng.random() < 0.8}
    roll = rng.random()
    years = rng.randrange(0, 26)
    if roll < 0.42:
        subject["age"] = years
    elif roll < 0.92:
        today = local.date()
        if rng.random() < 0.05:
            birth = date(rng.choice((2004, 2008, 2012, 2016, 2020, 2024)), 2, 29)
        else:
            near = today + timedelta(
                days=rng.choice((-2, -1, 0, 0, 1, 2, rng.randrange(-180, 180)))
            )
            try:
                birth = near.replace(year=near.year - years)
            except ValueError:  # 29 February in a common year
                birth = date(near.year - years, 2, 28)
        subject["birthdate"] = min(birth, today).isoformat()
        if rng.random() < 0.1:
            subject["age"] = rng.randrange(0, 26)  # birthdate wins
    # else: neither age nor birthdate -> band unknown
    return subject


def make_request(rng: random.Random) -> dict[str, Any]:
    local = _local_time(rng)
    action = rng.choice(ACTIONS)
    request: dict[str, Any] = {
        "policy": "cn-baseline",
        "subject": _subject(rng, local),
        "action": action,
        "at": _stamp(rng, local),
    }
    usage: dict[str, Any] = {}
    if rng.random() < 0.85:
        usage["today_seconds"] = rng.choice(TODAY)
    if rng.random() < 0.5:
        usage["session_seconds"] = rng.choice(SESSION)
    if action in SPENDING and rng.random() < 0.8:
        usage["month_spent"] = rng.choice(MONTH_SPENT)
    if usage:
        request["usage"] = usage
    resource: dict[str, Any] = {}
    if action in SPENDING:
        resource["amount"] = rng.choice(AMOUNTS)
        if rng.random() < 0.3:
            resource["currency"] = "CNY"
    if rng.random() < 0.3:
        resource["app"] = rng.choice(("com.example.game", "com.example.video", "com.example.edu"))
    if rng.random() < 0.25:
        resource["category"] = rng.choice(CATEGORIES)
    if action == "dm.send":
        resource["recipient"] = rng.choice(("contact", "stranger"))
    if rng.random() < 0.15:
        resource["min_age"] = rng.choice((0, 3, 8, 12, 16, 18))
    if resource:
        request["resource"] = resource
    guardian: dict[str, Any] = {}
    if rng.random() < 0.3:
        guardian["exemptions"] = rng.sample(EXEMPTIONS, rng.randrange(1, 3))
    if rng.random() < 0.25:
        guardian["consents"] = rng.sample(("livestream.host", "purchase", "dm.send"), 1)
    if guardian:
        request["guardian"] = guardian
    return request


def workload(count: int = 12_000, seed: int = 20260101) -> list[dict[str, Any]]:
    """``count`` requests; the same list for the same ``seed`` on every machine."""
    rng = random.Random(seed)
    return [make_request(rng) for _ in range(count)]


def describe(requests: list[dict[str, Any]]) -> dict[str, Any]:
    """Coverage facts about a workload, printed with the results."""
    actions = {a: 0 for a in ACTIONS}
    days, holidays, makeup, ages, unknown = set(), 0, 0, set(), 0
    for req in requests:
        actions[req["action"]] += 1
        local = datetime.fromisoformat(req["at"]).astimezone(CST).date()
        days.add(local)
        holidays += local in HOLIDAYS
        makeup += local in MAKEUP
        subject = req["subject"]
        if "age" in subject and "birthdate" not in subject:
            ages.add(subject["age"])
        elif "birthdate" not in subject:
            unknown += 1
    return {
        "requests": len(requests),
        "distinct_local_days": len(days),
        "on_holidays": holidays,
        "on_makeup_workdays": makeup,
        "declared_ages": f"{min(ages)}-{max(ages)}" if ages else None,
        "unknown_age": unknown,
        "per_action": actions,
    }
