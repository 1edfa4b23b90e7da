"""The fifth round's cuts to `Engine.decide` (docs/performance.md, "decide, fifth round"), each
held to what it replaced: the age by numbers to `flip_date`, the moment at `at` to
`Moment.within`, the decision id to the f-string it was, and the values now kept on memoised
objects (a day's `calendar_official`, a schedule's policy reference) to what the policy says
for that very day and pack. tests/test_fastpath.py holds whole decisions to the pure path.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import youthmode
from youthmode import engine as engine_module
from youthmode.decision import policy_ref
from youthmode.facts import Moment, age_on, flip_date, request_facts
from youthmode.fastpath import decide_fast
from youthmode.request import read
from youthmode.schedule import schedule_for

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31))


@given(birth=DATES, day=DATES, rollover=st.sampled_from(("next_day", "on_birthday")))
@settings(max_examples=3000)
def test_age_by_numbers_is_the_age_by_flip_date(birth: date, day: date, rollover: str) -> None:
    years = day.year - birth.year
    if day < flip_date(birth, day.year, rollover):
        years -= 1
    assert age_on(birth, day, rollover) == max(years, 0)


@pytest.mark.parametrize("rollover", ["next_day", "on_birthday"])
def test_age_around_29_february_and_new_year(rollover: str) -> None:
    leap = date(2012, 2, 29)
    later = 1 if rollover == "next_day" else 0
    assert age_on(leap, date(2025, 2, 28), rollover) == 12
    assert age_on(leap, date(2025, 3, 1), rollover) == 13
    assert age_on(leap, date(2028, 2, 29), rollover) == 16 - later
    assert age_on(date(2010, 12, 31), date(2026, 12, 31), rollover) == 16 - later
    assert age_on(date(2010, 12, 31), date(2027, 1, 1), rollover) == 16


@pytest.fixture(scope="module")
def engine() -> youthmode.Engine:
    return youthmode.Engine.from_path(CONFIGS)


@given(
    on=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    sod=st.integers(0, 86399),
    age=st.none() | st.integers(0, 30),
    today=st.integers(0, 86400),
    session=st.integers(0, 86400),
    spent=st.decimals(0, 1000, places=2),
)
@settings(max_examples=300, deadline=None)
def test_the_moment_at_a_request_is_within_with_its_counters(
    engine: youthmode.Engine,
    on: date,
    sod: int,
    age: int | None,
    today: int,
    session: int,
    spent: Decimal,
) -> None:
    policy = engine.policy("cn-baseline")
    day = policy.day(on)
    band = policy.band_of(age)
    req = request_facts(
        "app.use", True, (True, None, age), {}, (today, session, spent, spent * 2), _no(), on
    )
    made = Moment.of_request(day, day.start + sod, sod, policy.calendar, age, band, req)
    want = Moment.within(day, day.start + sod, sod, policy.calendar)
    want.age, want.band = age, band
    want.today_seconds, want.session_seconds = today, session
    want.day_spent, want.month_spent = spent, spent * 2
    for name in Moment.__slots__:
        assert getattr(made, name) == getattr(want, name), name


def _no() -> Any:
    nothing: frozenset[str] = frozenset()
    return nothing, nothing, nothing, None, 0, ()


@given(
    when=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
    offset=st.integers(-14 * 60, 14 * 60),
    seed=st.integers(0, 2**64),
)
@settings(max_examples=500)
def test_the_decision_id_is_the_one_the_f_string_made(
    when: datetime, offset: int, seed: int
) -> None:
    now = when.replace(tzinfo=timezone(timedelta(minutes=offset)))
    engine_module._random.seed(seed)
    made = engine_module.new_decision_id(now)
    engine_module._random.seed(seed)
    millis = int(now.timestamp() * 1000) & 0xFFFF_FFFF_FFFF
    rand = engine_module._random.getrandbits(74)
    version, variant = 0x7000 | rand >> 62, 0x8000 | (rand >> 48) & 0x3FFF
    node = rand & 0xFFFF_FFFF_FFFF
    was = f"{millis >> 16:08x}-{millis & 0xFFFF:04x}-{version:04x}-{variant:04x}-{node:012x}"
    assert made == was


@given(on=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
@settings(max_examples=200, deadline=None)
def test_calendar_official_is_the_years_on_every_day(engine: youthmode.Engine, on: date) -> None:
    """Kept on the memoised day: each day says its own year's, whichever day came first."""
    for pid in ("cn-baseline", "us-ny"):
        policy = engine.policy(pid)
        request = {
            "policy": pid,
            "subject": {"age": 30},
            "action": sorted(policy.actions)[0],
            "at": f"{on.isoformat()}T12:00:00+00:00",
        }
        decision = engine.decide(request)
        assert decision.facts.calendar_official is policy.calendar.is_official(
            decision.facts.local_time.year
        )


def test_each_schedule_names_its_own_pack(tmp_path: Path) -> None:
    """The policy reference kept on a schedule is its own pack's, by id, version and digest:
    two packs alike but for their version, loaded together, each decide under their own."""
    text = (CONFIGS / "cn-baseline.toml").read_text(encoding="utf-8")
    copy = text.replace('id = "cn-baseline"', 'id = "cn-copy"', 1).replace("default = true", "")
    version = next(line for line in copy.splitlines() if line.startswith("version ="))
    copy = copy.replace(version, 'version = "9.9.9-copy"', 1)
    (tmp_path / "cn-copy.toml").write_text(copy, encoding="utf-8")
    engine = youthmode.Engine.from_path(CONFIGS, tmp_path)
    now = datetime(2026, 5, 4, 4, 0, tzinfo=UTC)
    seen = set()
    for pid in ("cn-baseline", "cn-copy", "cn-baseline"):
        request = {"policy": pid, "subject": {"age": 12}, "action": "app.use"}
        policy, at, facts = read(request, engine.policies, engine.default_policy, now)
        fast = decide_fast(policy, facts, at, "id")
        assert fast is not None
        schedule = schedule_for(policy, facts, fast.band)
        assert schedule is not None and schedule.ref == policy_ref(policy)
        assert (fast.policy.id, fast.policy.version, fast.policy.digest) == (
            policy.id,
            policy.version,
            policy.digest,
        )
        seen.add(fast.policy)
    assert len(seen) == 2


def test_decision_ids_stay_unique_and_version_7() -> None:
    now = datetime(2026, 5, 4, 4, 0, tzinfo=UTC)  # one millisecond for all: the random part
    ids = {engine_module.new_decision_id(now) for _ in range(2000)}
    assert len(ids) == 2000
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert int(text[:8] + text[9:13], 16) == int(now.timestamp() * 1000)
