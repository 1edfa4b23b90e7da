"""The fast path (youthmode/fastpath.py, schedule.py) held to the pure path (timeline.py,
decision.py), which stays the reference: the same request through an engine with the fast path
and one without must give the same decision, field for field (what pydantic counts as set
included), except the random decision id.

The requests are hard ones: window edges and the second either side, local midnights, holidays
and make-up working days and the days next to them, 29 February, year ends (2099-12-31, the
first day of 2000), birthdays on and next to the date, usage and money straddling every limit,
guardian waivers, exempt categories and apps; in cn-baseline, in the other packs, and in copies
of cn-baseline moved to zones with daylight saving (one changes at midnight, one by 30 minutes),
where the fast path must hand over to the pure path on the days of a change.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from random_requests import random_request

import youthmode
from youthmode.errors import RequestError
from youthmode.fastpath import decide_fast
from youthmode.model import Decision, Facts, Remedy
from youthmode.request import read

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
NOW = datetime(2026, 5, 4, 12, 30, 15, tzinfo=UTC)
# cn-baseline moved to zones whose days are not all 24 hours long.
MOVED = {
    "cn-berlin": "Europe/Berlin",  # 02:00 -> 03:00, inside the curfew
    "cn-santiago": "America/Santiago",  # changes at midnight: a day without 00:00
    "cn-lord-howe": "Australia/Lord_Howe",  # a 30-minute change
}
EDGES = (
    time(0, 0, 0), time(0, 0, 1), time(0, 30), time(1, 59, 59), time(2, 0), time(2, 30),
    time(3, 0), time(5, 59, 59), time(6, 0), time(6, 0, 1), time(19, 59, 59), time(20, 0),
    time(20, 0, 1), time(20, 30), time(20, 59, 59), time(21, 0), time(21, 59, 59), time(22, 0),
    time(22, 0, 1), time(23, 0), time(23, 59, 59),
)  # fmt: skip
TODAY = (0, 1, 600, 1799, 1800, 3000, 3599, 3600, 3601, 5400, 7199, 7200, 7201, 86399)
SESSION = (0, 1799, 1800, 1801, 3600)
AMOUNTS = ("0", "0.01", "30.00", "49.99", "50.00", "50.01", "99.99", "100.00", "100.01", "500")
SPENT = ("0", "0.00", "150.00", "150.01", "199.99", "200.00", "349.99", "350.00", "400.00")
CODES = ("curfew", "daily_limit", "stranger_contact", "outside_allowed_window", "unverified")
CATEGORIES = ("game", "video", "system_core", "emergency_communication", "filed_education")
HOURS_5 = timedelta(hours=5)
ZONES = {
    **MOVED,
    "cn-baseline": "Asia/Shanghai",
    "us-tx-sb2420": "America/Chicago",
    "vn-decree-147": "Asia/Ho_Chi_Minh",
    "au-smma": "Australia/Sydney",
    "br-eca-digital": "America/Sao_Paulo",
    "us-ut": "America/Denver",
    "us-la": "America/Chicago",
    "us-al": "America/Chicago",
    "us-co": "America/Denver",
    "eu-dsa28": "Europe/Brussels",
    "eu-dsa28-av": "Europe/Brussels",
    "uk-aadc": "Europe/London",
    "kr": "Asia/Seoul",
    "us-ca": "America/Los_Angeles",
    "us-ny": "America/New_York",
}
SETTINGS = settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))


def moved_packs(folder: Path) -> Path:
    text = (CONFIGS / "cn-baseline.toml").read_text(encoding="utf-8")
    for pid, zone in MOVED.items():
        moved = text.replace('id = "cn-baseline"', f'id = "{pid}"', 1)
        moved = moved.replace('"Asia/Shanghai"', f'"{zone}"', 1).replace("default = true", "")
        (folder / f"{pid}.toml").write_text(moved, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> tuple[youthmode.Engine, ...]:
    moved = moved_packs(tmp_path_factory.mktemp("moved"))
    both = tuple(
        youthmode.Engine.from_path(CONFIGS, moved, clock=lambda: NOW, fast=fast)
        for fast in (True, False)
    )
    ACTIONS.update({pid: sorted(p.actions) for pid, p in both[0].policies.items()})
    assert set(ACTIONS) == set(ZONES)
    return both


def shape(value: Any) -> Any:
    """Everything a decision's JSON and its model say, to compare (the id left out)."""
    if isinstance(value, BaseModel):
        fields = {k: shape(v) for k, v in value.__dict__.items() if k != "decision_id"}
        return type(value).__name__, sorted(value.__pydantic_fields_set__), list(fields), fields
    if isinstance(value, list | tuple):
        return [shape(v) for v in value]
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    return type(value).__name__, repr(value)  # repr: a datetime's zone and fold too


def answer(engine: youthmode.Engine, request: Any) -> Any:
    try:
        decision = engine.decide(request)
    except RequestError as err:
        return "error", str(err)
    return shape(decision), decision.model_dump_json(exclude={"decision_id"})


def same(engines: tuple[youthmode.Engine, ...], request: Any) -> bool:
    """Both paths answer alike; True when the fast path itself answered."""
    fast, pure = engines
    assert answer(fast, request) == answer(pure, request), f"request={request}"
    try:
        policy, at, facts = read(request, fast.policies, fast.default_policy, NOW)
    except RequestError:
        return False
    return decide_fast(policy, facts, at, "id") is not None  # and it never raises


def change_days(zone_name: str) -> list[date]:
    """The local dates in 2025-2026 on which ``zone_name`` changes its offset."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(zone_name)
    out = []
    day = date(2025, 1, 1)
    while day.year < 2027:
        start = datetime.combine(day, time(0), tzinfo=zone)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        if start.utcoffset() != end.utcoffset():
            out.append(day)
        day += timedelta(days=1)
    return out


NEW_YEAR, SPRING_FESTIVAL = date(2026, 1, 1), date(2026, 2, 14)
SPECIAL_DAYS = sorted(
    {
        *(d + timedelta(days=k) for d in (NEW_YEAR, SPRING_FESTIVAL) for k in range(-2, 12)),
        *(date(2026, 9, 28) + timedelta(days=k) for k in range(14)),  # National Day, make-ups
        *(date(2025, 4, 30) + timedelta(days=k) for k in range(8)),  # Labour Day 2025
        date(2024, 2, 29), date(2028, 2, 29), date(2026, 2, 28), date(2026, 3, 1),
        date(2025, 12, 31), date(2026, 12, 31), date(2000, 1, 1), date(2000, 1, 2),
        date(2099, 12, 30), date(2099, 12, 31),
        *(d + timedelta(days=k) for z in MOVED.values() for d in change_days(z) for k in (-1, 0, 1)),  # noqa: E501
    }
)  # fmt: skip


@st.composite
def requests(draw: st.DrawFn, policies: tuple[str, ...]) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    pid = draw(st.sampled_from(policies))
    zone = ZoneInfo(ZONES[pid])
    day = draw(
        st.one_of(st.sampled_from(SPECIAL_DAYS), st.dates(date(2000, 1, 2), date(2099, 12, 30)))
    )
    clock = draw(st.one_of(st.sampled_from(EDGES), st.times()))
    local = datetime.combine(day, clock.replace(microsecond=0), tzinfo=zone)
    local = local.replace(fold=draw(st.integers(0, 1)))
    shown = draw(
        st.sampled_from((zone, UTC, timezone(timedelta(hours=9)), timezone(-timedelta(hours=5))))
    )
    at = local.astimezone(shown)
    if not datetime(2000, 1, 1, tzinfo=UTC) <= at < datetime(2100, 1, 1, tzinfo=UTC):
        at = local.astimezone(zone)
    request: dict[str, Any] = {
        "policy": pid,
        "action": draw(st.sampled_from(ACTIONS[pid])),
        "at": at.isoformat().replace("+00:00", "Z"),
        "subject": draw(subjects(local.date())),
    }
    for key, part in (("usage", usage()), ("resource", resources()), ("guardian", guardians())):
        found = draw(part)
        if found:
            request[key] = found
    if pid == "vn-decree-147":  # the dong has no minor unit: whole amounts only
        for key, value in {**request.get("usage", {}), **request.get("resource", {})}.items():
            if key in ("amount", "month_spent", "day_spent"):
                part = request["resource" if key == "amount" else "usage"]
                part[key] = value.split(".")[0]
    return request


@st.composite
def subjects(draw: st.DrawFn, today: date) -> dict[str, Any]:
    subject: dict[str, Any] = {"verified": draw(st.booleans())}
    kind = draw(st.sampled_from(("age", "birthdate", "both", "none")))
    if kind in ("age", "both"):
        subject["age"] = draw(st.integers(0, 25))
    if kind in ("birthdate", "both"):
        near = today + timedelta(days=draw(st.sampled_from((-2, -1, 0, 1, 2, 3, 10, -200))))
        years = draw(st.integers(0, 25))
        birth = date(near.year - years, 2, 28) if (near.month, near.day) == (2, 29) else None
        birth = birth or near.replace(year=near.year - years)
        if draw(st.integers(0, 19)) == 0:
            birth = date(draw(st.sampled_from((2004, 2008, 2012, 2016, 2020))), 2, 29)
        elif draw(st.integers(0, 19)) == 0:  # the epoch's edges, and the earliest accepted
            birth = draw(st.sampled_from((date(1969, 12, 31), date(1970, 1, 1), date(1850, 1, 1))))
        subject["birthdate"] = min(birth, today).isoformat()
    return subject


def usage() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "today_seconds": st.sampled_from(TODAY),
            "session_seconds": st.sampled_from(SESSION),
            "month_spent": st.sampled_from(SPENT),
            "day_spent": st.sampled_from(SPENT),
        },
    )


def resources() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"amount": st.sampled_from(AMOUNTS)},
        optional={
            "app": st.sampled_from(("com.example.game", "com.example.edu")),
            "category": st.sampled_from(CATEGORIES),
            "recipient": st.sampled_from(("contact", "stranger")),
            "min_age": st.sampled_from((0, 8, 12, 13, 16, 18)),
        },
    )


def guardians() -> st.SearchStrategy[dict[str, Any]]:
    names = st.lists(st.sampled_from(CODES), max_size=3, unique=True)
    return st.fixed_dictionaries(
        {},
        optional={
            "exemptions": names,
            "consents": st.lists(st.sampled_from(("livestream.host", "purchase", "dm.send"))),
            "exempt_apps": st.just(["com.example.edu"]),
            # a guardian's own settings: on the fast path (but a grant, which takes the pure one)
            "daily_limit_seconds": st.sampled_from(GUARDIAN_LIMITS),
            "curfew": st.sampled_from(GUARDIAN_CURFEWS),
            "more_curfews": st.lists(st.sampled_from(GUARDIAN_CURFEWS), max_size=2),
            "extra_seconds": st.sampled_from((0, 1, 600, 1800)),
        },
    )


GUARDIAN_LIMITS = (900, 1799, 1800, 3000, 3600, 7200, 86400)
GUARDIAN_CURFEWS = (
    ["21:00", "06:00"], ["20:30", "07:00"], ["12:00", "13:00"], ["00:00", "06:00"],
    ["22:00", "00:00"], ["19:59:59", "20:00:01"],
)  # fmt: skip


ACTIONS: dict[str, list[str]] = {}  # by policy, filled by the `engines` fixture


@SETTINGS
@given(data=st.data())
def test_fast_and_pure_paths_decide_alike(
    engines: tuple[youthmode.Engine, ...], data: st.DataObject
) -> None:
    same(engines, data.draw(requests(tuple(ZONES))))


@SETTINGS
@given(data=st.data())
def test_alike_where_the_fast_path_serves_most(
    engines: tuple[youthmode.Engine, ...], data: st.DataObject
) -> None:
    same(engines, data.draw(requests(("cn-baseline", "cn-berlin"))))


def test_the_fast_path_serves_the_requests_integrations_send(
    engines: tuple[youthmode.Engine, ...],
) -> None:
    """The shapes of benchmarks/workload.py, decided alike, nearly all by the fast path (or
    the speed it exists for is silently lost)."""
    rng = random.Random(13)
    batch = [random_request(rng) for _ in range(3000)]
    assert sum(same(engines, r) for r in batch) >= 0.99 * len(batch)


def at_on(pid: str, day: date, clock: time) -> str:
    from zoneinfo import ZoneInfo

    return datetime.combine(day, clock, tzinfo=ZoneInfo(ZONES[pid])).isoformat()


@pytest.mark.parametrize("pid", sorted(MOVED))
def test_days_of_a_change_go_the_pure_way(engines: tuple[youthmode.Engine, ...], pid: str) -> None:
    """Walking onto a day that is not 24 hours long hands over to the pure path."""
    for day in change_days(ZONES[pid]):
        for before in (0, 1, 2):
            for clock in (time(21, 59, 59), time(23, 59, 59), time(12), time(2, 30)):
                request = {
                    "policy": pid,
                    "action": "game.play",
                    "at": at_on(pid, day - timedelta(days=before), clock),
                    "subject": {"age": 12, "verified": True},
                    "usage": {"today_seconds": 3000},
                }
                served = same(engines, request)
                assert not (before == 0 and served), request


@pytest.mark.parametrize(
    "guardian",
    [
        {"curfew": ["20:00", "07:00"]},
        {"daily_limit_seconds": 1800},
        {
            "daily_limit_seconds": 600,
            "curfew": ["21:00", "06:00"],
            "more_curfews": [["12:00", "13:00"]],
        },
        {"daily_limit_seconds": 1800, "exemptions": ["daily_limit"]},
    ],
)
def test_a_guardians_own_curfew_and_limit_take_the_fast_path(
    engines: tuple[youthmode.Engine, ...], guardian: dict[str, Any]
) -> None:
    """Most subjects with a ledger have a guardian's limit or curfew (the ledger fills them):
    those decisions take the fast path, at every hour and on both sides of the limit."""
    for hour in range(24):
        for today in (0, 599, 600, 1799, 1800, 5000):
            request = {
                "action": "app.use",
                "at": f"2026-05-04T{hour:02}:30:00+08:00",
                "subject": {"age": 12, "verified": True},
                "usage": {"today_seconds": today},
                "guardian": guardian,
            }
            assert same(engines, request), request


@pytest.mark.parametrize(
    ("request_", "why"),
    [
        ({"guardian": {"extra_seconds": 600}}, "a grant"),
        ({"guardian": {"daily_limit_seconds": 1800, "extra_seconds": 1}}, "a limit and a grant"),
        ({"policy": "vn-decree-147"}, "per-app and weekly counters"),
        ({"policy": "us-tx-sb2420", "subject": {"age": 12}}, "a reason code that varies"),
    ],
)
def test_what_the_schedule_does_not_hold_goes_the_pure_way(
    engines: tuple[youthmode.Engine, ...], request_: dict[str, Any], why: str
) -> None:
    request = {
        "action": "app.use",
        "at": "2026-05-04T21:30:00+08:00",
        "subject": {"age": 12, "verified": True},
        **request_,
    }
    assert not same(engines, request), why


def test_fast_decisions_are_built_as_trusted_builds_them(
    engines: tuple[youthmode.Engine, ...],
) -> None:
    """Fields in declaration order (pydantic writes JSON in that order), and decisions that
    validate back to themselves."""
    assert all(cls.__new__ is object.__new__ for cls in (Decision, Facts, Remedy))
    rng = random.Random(7)
    for _ in range(300):
        decision = engines[0].decide(random_request(rng))
        assert list(decision.__dict__) == list(Decision.model_fields)
        assert list(decision.facts.__dict__) == list(Facts.model_fields)
        for remedy in decision.remedies:
            assert list(remedy.__dict__) == list(Remedy.model_fields)
        again = Decision.model_validate_json(decision.model_dump_json())
        assert again.model_dump_json() == decision.model_dump_json()


def test_threads_share_the_schedules(engines: tuple[youthmode.Engine, ...]) -> None:
    """One engine, many threads, fresh memos: every answer the pure path's."""
    from concurrent.futures import ThreadPoolExecutor

    fast, pure = engines
    for policy in fast.policies.values():
        policy.memo.clear()
    rng = random.Random(99)
    batch = [random_request(rng) for _ in range(800)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda r: answer(fast, r), batch))
    assert got == [answer(pure, r) for r in batch]


def test_the_memo_stays_bounded(engines: tuple[youthmode.Engine, ...]) -> None:
    from youthmode.policies.compile import MEMO_LIMIT

    policy = engines[0].policies["cn-baseline"]
    policy.memo.update({("filler", i): None for i in range(MEMO_LIMIT)})
    rng = random.Random(5)
    for _ in range(50):
        engines[0].decide(random_request(rng))
    assert len(policy.memo) < MEMO_LIMIT


# Issue 15's kinds read another zone's clock, or offer two remedies: the schedule's tables do
# not hold them, so the fast path hands them to the pure path, which must answer alike.
ZONED_PACK = """[policy]
id = "zoned"
version = "1"
timezone = "America/Los_Angeles"

[[bands]]
id = "minor"
from = 0
to = 18

[[bands]]
id = "adult"
from = 18

[catalog.actions."notification.send"]
[catalog.actions."feed.personalized"]
[catalog.actions."feed.chronological"]
[catalog.actions."app.use"]
metered = true

[[rules]]
id = "night"
kind = "quiet_hours"
bands = ["minor"]
actions = ["notification.send"]
between = ["00:00", "06:00"]
message = { zh-CN = "夜间不推送", en = "No notifications at night" }

[[rules]]
id = "school"
kind = "quiet_hours"
bands = ["minor"]
actions = ["notification.send"]
between = ["08:00", "15:00"]
days = ["mon", "tue", "wed", "thu", "fri"]
months = ["sep-may"]
zone = "America/New_York"
message = { zh-CN = "上课时间不推送", en = "No notifications in school hours" }

[[rules]]
id = "feed"
kind = "require_consent"
bands = ["minor"]
actions = ["feed.personalized"]
instead = "feed.chronological"
message = { zh-CN = "需要家长同意", en = "Needs a parent's consent" }

[[rules]]
id = "warn"
kind = "use_warning"
bands = ["minor"]
actions = ["app.use"]
first_access = true
after = "3h"
every = "1h"
message = { zh-CN = "注意时长", en = "Mind the time" }
"""


@given(
    action=st.sampled_from(("notification.send", "feed.personalized", "app.use")),
    ts=st.integers(
        int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()),
        int(datetime(2028, 12, 31, tzinfo=UTC).timestamp()),
    ),
    zone=st.sampled_from((None, "America/New_York", "Asia/Tokyo", "Europe/London")),
    age=st.sampled_from((12, 17, 18, 40)),
    used=st.sampled_from((0, 1, 10799, 10800, 10801, 14400)),
)
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_zoned_kinds_go_the_pure_way_and_decide_alike(
    tmp_path_factory: pytest.TempPathFactory,
    action: str,
    ts: int,
    zone: str | None,
    age: int,
    used: int,
) -> None:
    both = _zoned_engines(tmp_path_factory)
    subject: dict[str, Any] = {"age": age, **({"timezone": zone} if zone else {})}
    at = datetime.fromtimestamp(ts, UTC).isoformat()
    request = {"action": action, "subject": subject, "at": at, "usage": {"today_seconds": used}}
    assert not same(both, request) or age >= 18  # adults: no rule, the fast path may answer


_ZONED: list[tuple[youthmode.Engine, ...]] = []


def _zoned_engines(factory: pytest.TempPathFactory) -> tuple[youthmode.Engine, ...]:
    if not _ZONED:
        folder = factory.mktemp("zoned")
        (folder / "zoned.toml").write_text(ZONED_PACK, encoding="utf-8")
        _ZONED.append(
            tuple(
                youthmode.Engine.from_path(folder, clock=lambda: NOW, fast=fast)
                for fast in (True, False)
            )
        )
    return _ZONED[0]
