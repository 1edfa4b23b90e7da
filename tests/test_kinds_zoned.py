"""Issue 15's engine features through the engine: `quiet_hours` on the subject's clock (or a
fixed zone's), with months and across daylight-saving changes; `use_warning` obligations;
`require_consent` with `instead`; `subject.timezone` on both request routes. Each test writes
its own small pack; the property tests hold the quiet hours to a reference reading of the
clock for any zone and instant."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import youthmode
from youthmode.errors import RequestError
from youthmode.policies import check_policies
from youthmode.request import read_plain

HEAD = """[policy]
id = "z"
version = "1"
timezone = "America/Los_Angeles"
calendar = "US"

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
"""
MESSAGE = 'message = { zh-CN = "不可以", en = "Not allowed" }\n'
NIGHT = 'between = ["00:00", "06:00"]'
SCHOOL = (
    'between = ["08:00", "15:00"]\ndays = ["mon", "tue", "wed", "thu", "fri"]\nmonths = ["sep-may"]'
)
# Edges inside the hours US and EU clocks skip or repeat, and a window crossing midnight in
# one month only: the day (and month) it starts on counts.
ODD = (
    '[[rules.windows]]\nbetween = ["01:30", "02:30"]\n'
    '[[rules.windows]]\nbetween = ["23:30", "00:15"]\nmonths = ["mar"]'
)


def rule(rule_id: str, kind: str, keys: str, actions: str = '["notification.send"]') -> str:
    return (
        f'\n[[rules]]\nid = "{rule_id}"\nkind = "{kind}"\nbands = ["minor"]\n'
        f"actions = {actions}\n{MESSAGE}{keys}\n"
    )


def engine_with(tmp_path: Path, rules: str) -> youthmode.Engine:
    (tmp_path / "z.toml").write_text(HEAD + rules, encoding="utf-8")
    return youthmode.Engine.from_path(tmp_path)


def decide(engine: youthmode.Engine, at: datetime | str, **request: Any) -> dict[str, Any]:
    request.setdefault("subject", {"age": 12})
    request.setdefault("action", "notification.send")
    stamp = at if isinstance(at, str) else at.isoformat()
    out: dict[str, Any] = engine.decide({**request, "at": stamp}).model_dump(mode="json")
    return out


def user(zone: str, age: int = 12) -> dict[str, Any]:
    return {"age": age, "timezone": zone}


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> youthmode.Engine:
    rules = rule("night", "quiet_hours", NIGHT) + rule("school", "quiet_hours", SCHOOL)
    return engine_with(tmp_path_factory.mktemp("quiet"), rules + rule("odd", "quiet_hours", ODD))


# -- quiet hours in the subject's zone --------------------------------------------------------
def test_the_subjects_local_night_not_the_policys(quiet: youthmode.Engine) -> None:
    at = "2027-01-05T05:30:00Z"  # 00:30 in New York, 21:30 the day before in Los Angeles
    east = decide(quiet, at, subject=user("America/New_York"))
    assert east["effect"] == "deny"
    assert [(r["code"], r["rule"]) for r in east["reasons"]] == [("quiet_hours", "z/night")]
    assert east["next_allowed_at"] == "2027-01-05T03:00:00-08:00"  # 06:00 in New York
    west = decide(quiet, at)  # no zone given: the policy's clock
    assert (
        west["effect"] == "allow" and west["remaining_seconds"] == 9000
    )  # until 00:00 in Los Angeles
    tokyo = decide(quiet, at, subject=user("Asia/Tokyo"))  # 14:30 on a Tuesday in January
    assert [r["rule"] for r in tokyo["reasons"]] == ["z/school"]
    assert tokyo["next_allowed_at"] == "2027-01-04T22:00:00-08:00"  # 15:00 in Tokyo


def test_windows_are_half_open_on_the_subjects_clock(quiet: youthmode.Engine) -> None:
    kolkata = ZoneInfo("Asia/Kolkata")  # +05:30: no whole-hour alignment with the policy's
    six = datetime(2027, 7, 3, 6, 0, tzinfo=kolkata)
    assert decide(quiet, six, subject=user("Asia/Kolkata"))["effect"] == "allow"
    before = decide(quiet, six - timedelta(seconds=1), subject=user("Asia/Kolkata"))
    assert before["effect"] == "deny"
    assert before["next_allowed_at"] == six.astimezone(ZoneInfo("America/Los_Angeles")).isoformat()
    evening = decide(
        quiet, datetime(2027, 7, 3, 23, 0, tzinfo=kolkata), subject=user("Asia/Kolkata")
    )
    assert evening["remaining_seconds"] == 3600  # until the local midnight


def test_school_hours_only_on_school_days_from_september_to_may(quiet: youthmode.Engine) -> None:
    ny = ZoneInfo("America/New_York")
    for day, denied in (
        (date(2027, 5, 28), True),  # Friday in May
        (date(2027, 6, 1), False),  # Tuesday in June
        (date(2027, 8, 31), False),  # Tuesday in August
        (date(2027, 9, 1), True),  # Wednesday in September
        (date(2027, 9, 4), False),  # Saturday
        (date(2028, 1, 4), True),  # Tuesday in January: the range wraps the year
    ):
        at = datetime.combine(day, datetime.min.time(), ny) + timedelta(hours=10)
        found = decide(quiet, at, subject=user("America/New_York"))
        assert (found["effect"] == "deny") == denied, day
    # Friday 31 May 14:00 -> allowed again at 15:00, and June starts with no school hours
    end_of_may = datetime(2027, 5, 31, 14, 0, tzinfo=ny)
    found = decide(quiet, end_of_may, subject=user("America/New_York"))
    assert datetime.fromisoformat(found["next_allowed_at"]) == end_of_may + timedelta(hours=1)


def test_a_window_crossing_midnight_belongs_to_the_month_it_starts_in(
    quiet: youthmode.Engine,
) -> None:
    ny = ZoneInfo("America/New_York")
    # 23:30-00:15 in March only: 31 March 23:45 and 1 April 00:10 are inside, 28 Feb 23:45
    # and 1 March 00:10 (the window of 28 February) are not.
    assert (
        decide(quiet, datetime(2027, 3, 31, 23, 45, tzinfo=ny), subject=user("America/New_York"))[
            "effect"
        ]
        == "deny"
    )
    assert (
        decide(quiet, datetime(2027, 4, 1, 0, 10, tzinfo=ny), subject=user("America/New_York"))[
            "reasons"
        ][0]["rule"]
        == "z/night"
    )
    late_feb = decide(
        quiet, datetime(2027, 2, 28, 23, 45, tzinfo=ny), subject=user("America/New_York")
    )
    assert late_feb["effect"] == "allow" and late_feb["remaining_seconds"] == 15 * 60  # night


@pytest.fixture(scope="module")
def odd(tmp_path_factory: pytest.TempPathFactory) -> youthmode.Engine:
    return engine_with(tmp_path_factory.mktemp("odd"), rule("odd", "quiet_hours", ODD))


def test_spring_forward_in_the_subjects_zone(odd: youthmode.Engine) -> None:
    """New York skips 02:00-03:00 on 14 March 2027: the 01:30-02:30 window ends at 03:00 EDT,
    half a real hour after 02:00 EST would have been."""
    ny = ZoneInfo("America/New_York")
    quiet, request = odd, {"subject": user("America/New_York")}
    at = datetime(2027, 3, 14, 1, 0, tzinfo=ny)
    found = decide(quiet, at, **request)
    # the window 01:30-02:30 starts in 30 minutes
    assert found["effect"] == "allow" and found["remaining_seconds"] == 1800
    inside = decide(quiet, datetime(2027, 3, 14, 1, 45, tzinfo=ny), **request)
    assert inside["effect"] == "deny"
    allowed = datetime.fromisoformat(inside["next_allowed_at"])
    assert allowed == datetime(2027, 3, 14, 3, 0, tzinfo=ny)  # 02:30 does not exist that day
    assert allowed - datetime(2027, 3, 14, 1, 45, tzinfo=ny) == timedelta(minutes=15)


def test_fall_back_enters_a_window_twice(odd: youthmode.Engine) -> None:
    """On 7 November 2027 New York repeats 01:00-02:00: 01:30-02:30 starts at 01:30 EDT; after
    01:59:59 EDT the clock reads 01:00 EST, outside, and at 01:30 EST it is inside again. The
    repeat is no window edge: the rule names the offset change to the timeline."""
    ny = ZoneInfo("America/New_York")
    quiet, request = odd, {"subject": user("America/New_York")}
    first = datetime(2027, 11, 7, 1, 40, tzinfo=ny)  # fold 0: EDT
    found = decide(quiet, first, **request)
    assert found["effect"] == "deny"
    allowed = datetime.fromisoformat(found["next_allowed_at"])
    assert allowed.astimezone(UTC) == datetime(2027, 11, 7, 6, 0, tzinfo=UTC)  # 01:00 EST
    assert allowed - first == timedelta(minutes=20)
    # From 01:00 EST, allowed until 01:30 EST; from 01:30 EST, denied until 02:30 EST
    second_one = datetime(2027, 11, 7, 6, 0, tzinfo=UTC)
    assert decide(quiet, second_one, **request)["remaining_seconds"] == 1800
    again = decide(quiet, second_one + timedelta(minutes=30), **request)
    assert datetime.fromisoformat(again["next_allowed_at"]).astimezone(UTC) == datetime(
        2027, 11, 7, 7, 30, tzinfo=UTC
    )
    # From 01:20 EDT, allowed (the window starts at 01:30) for 10 minutes
    assert (
        decide(quiet, datetime(2027, 11, 7, 1, 20, tzinfo=ny), **request)["remaining_seconds"]
        == 600
    )


def test_a_fixed_zone_ignores_the_subjects(tmp_path: Path) -> None:
    engine = engine_with(
        tmp_path, rule("night-et", "quiet_hours", NIGHT + '\nzone = "America/New_York"')
    )
    at = "2027-01-05T05:30:00Z"  # 00:30 Eastern
    for zone in ("Asia/Tokyo", "America/Los_Angeles", None):
        subject = user(zone) if zone else {"age": 12}
        assert decide(engine, at, subject=subject)["effect"] == "deny", zone
    trace = engine.explain({"subject": user("Asia/Tokyo"), "action": "notification.send", "at": at})
    text = str(trace.model_dump(mode="json"))
    assert "America/New_York (fixed)" in text and "inside the quiet hours 00:00–06:00" in text


def test_a_consent_lifts_quiet_hours_and_is_the_remedy(tmp_path: Path) -> None:
    engine = engine_with(tmp_path, rule("night", "quiet_hours", NIGHT + '\nconsent = "night.push"'))
    at = "2027-01-05T09:30:00Z"  # 01:30 in Los Angeles
    denied = decide(engine, at)
    assert denied["remedies"][0] == {"type": "guardian_consent", "action": "night.push"}
    assert decide(engine, at, guardian={"consents": ["night.push"]})["effect"] == "allow"
    assert decide(engine, at, subject={"age": 30})["effect"] == "allow"  # adults: no rule


def test_the_trace_names_whose_clock(quiet: youthmode.Engine) -> None:
    request = {
        "subject": user("Asia/Tokyo"),
        "action": "notification.send",
        "at": "2027-01-05T05:30:00Z",
    }
    text = str(quiet.explain(request).model_dump(mode="json"))
    assert "14:30:00 on tue 2027-01-05 in Asia/Tokyo (the subject's)" in text
    plain = str(quiet.explain({**request, "subject": {"age": 12}}).model_dump(mode="json"))
    assert "in America/Los_Angeles (the policy's)" in plain


# -- property: quiet hours never allow inside the window, and their edges are exact ------------
ZONES = (
    "America/Los_Angeles", "America/New_York", "America/St_Johns", "Europe/London",
    "Europe/Berlin", "Australia/Lord_Howe", "Australia/Sydney", "Asia/Kolkata",
    "Asia/Kathmandu", "Pacific/Chatham", "Pacific/Kiritimati", "America/Sao_Paulo", "UTC",
)  # fmt: skip
START = int(datetime(2026, 12, 1, tzinfo=UTC).timestamp())
END = int(datetime(2029, 1, 1, tzinfo=UTC).timestamp())


def _transitions(zone: str) -> list[int]:
    """The instants the zone's UTC offset changes in 2027-2028 (found by halving)."""
    tz, out = ZoneInfo(zone), []
    day = START
    while day < END:
        a, b = day, day + 86400
        if datetime.fromtimestamp(a, tz).utcoffset() != datetime.fromtimestamp(b, tz).utcoffset():
            while b - a > 1:
                mid = (a + b) // 2
                same = (
                    datetime.fromtimestamp(mid, tz).utcoffset()
                    == datetime.fromtimestamp(a, tz).utcoffset()
                )
                a, b = (mid, b) if same else (a, mid)
            out.append(b)
        day += 86400
    return out


TRANSITIONS = {z: _transitions(z) for z in ZONES}


@pytest.fixture(scope="module")
def awake(tmp_path_factory: pytest.TempPathFactory) -> youthmode.Engine:
    """School hours and the odd windows, without the night window (which would hide most
    daylight-saving changes, at 01:00-03:00 local)."""
    rules = rule("school", "quiet_hours", SCHOOL) + rule("odd", "quiet_hours", ODD)
    return engine_with(tmp_path_factory.mktemp("awake"), rules)


def inside(zone: str, ts: int, night: bool = True) -> bool:
    """The reference reading: the subject's wall clock against the windows above."""
    local = datetime.fromtimestamp(ts, ZoneInfo(zone))
    minutes = local.hour * 60 + local.minute
    day, school_day = local.date(), local.weekday() < 5 and local.month not in (6, 7, 8)
    yesterday = day - timedelta(days=1)
    return (
        (night and minutes < 6 * 60)
        or (school_day and 8 * 60 <= minutes < 15 * 60)
        or 90 <= minutes < 150
        or (minutes >= 23 * 60 + 30 and day.month == 3)
        or (minutes < 15 and yesterday.month == 3)
    )


def _instants(zone: str) -> st.SearchStrategy[tuple[str, int]]:
    """Any instant, or one near a change of this zone's UTC offset."""
    near = [st.sampled_from(TRANSITIONS[zone]).flatmap(lambda t: st.integers(t - 5400, t + 5400))]
    return st.tuples(
        st.just(zone), st.one_of(st.integers(START, END), *near[: 3 * bool(TRANSITIONS[zone])])
    )


zoned_instants = st.sampled_from(ZONES).flatmap(_instants)


@settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    where=zoned_instants,
    night=st.booleans(),
    probes=st.lists(st.floats(0, 1), max_size=20),
)
def test_quiet_hours_hold_in_every_zone_at_every_instant(
    quiet: youthmode.Engine,
    awake: youthmode.Engine,
    where: tuple[str, int],
    night: bool,
    probes: list[float],
) -> None:
    zone, ts = where

    def quiet_at(t: int) -> bool:
        return inside(zone, t, night)

    found = decide(quiet if night else awake, datetime.fromtimestamp(ts, UTC), subject=user(zone))
    assert (found["effect"] == "deny") == quiet_at(ts)
    if found["effect"] == "allow":
        # never allowed inside the window; the end of the allowance is exact to the second
        remaining = found["remaining_seconds"]
        if remaining is None:  # nothing within 48 hours: a summer weekend without night
            assert not night and not any(quiet_at(ts + int(p * 48 * 3600)) for p in probes)
            return
        assert remaining > 0
        assert quiet_at(ts + remaining) and not quiet_at(ts + remaining - 1)
        assert not any(quiet_at(ts + int(p * (remaining - 1))) for p in probes)
    else:
        allowed = int(datetime.fromisoformat(found["next_allowed_at"]).timestamp())
        assert not quiet_at(allowed) and quiet_at(allowed - 1)
        assert all(quiet_at(ts + int(p * (allowed - ts - 1))) for p in probes)


# -- use warnings: obligations, never denials --------------------------------------------------
WARNING = 'warning = "ab56-time"\nfirst_access = true\nafter = "3h"\nevery = "1h"'


@pytest.fixture(scope="module")
def warned(tmp_path_factory: pytest.TempPathFactory) -> youthmode.Engine:
    rules = rule("time-warning", "use_warning", WARNING, actions='["app.use"]')
    rules += rule("limit", "daily_budget", 'limit = "5h"', actions='["app.use"]')
    return engine_with(tmp_path_factory.mktemp("warned"), rules)


@pytest.mark.parametrize(
    ("used", "after"),
    [(0, 0), (1, 3 * 3600 - 1), (3 * 3600 - 1, 1), (3 * 3600, 0), (3 * 3600 + 1, 3599),
     (4 * 3600, 0), (4 * 3600 + 600, 3000)],
)  # fmt: skip
def test_warning_at_first_access_then_after_three_hours_then_hourly(
    warned: youthmode.Engine, used: int, after: int
) -> None:
    found = decide(warned, "2027-03-02T18:00:00Z", action="app.use", usage={"today_seconds": used})
    assert found["effect"] == "allow"
    assert found["obligations"] == [
        {"type": "warning", "id": "ab56-time", "after_seconds": after, "rule": "z/time-warning",
         "message": "不可以", "message_en": "Not allowed"}
    ]  # fmt: skip


def test_a_warning_without_repeats_is_given_once(tmp_path: Path) -> None:
    engine = engine_with(tmp_path, rule("w", "use_warning", 'after = "1h"', actions='["app.use"]'))
    at = "2027-03-02T18:00:00Z"
    assert decide(engine, at, action="app.use")["obligations"][0]["after_seconds"] == 3600
    assert decide(engine, at, action="app.use", usage={"today_seconds": 3601})["obligations"] == []


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(used=st.integers(0, 86400), ts=st.integers(START, END), age=st.integers(0, 30))
def test_warnings_never_deny(
    warned: youthmode.Engine, tmp_path_factory: pytest.TempPathFactory, used: int, ts: int, age: int
) -> None:
    at = datetime.fromtimestamp(ts, UTC)
    request = {"action": "app.use", "subject": {"age": age}, "usage": {"today_seconds": used}}
    found = decide(warned, at, **request)
    assert (found["effect"] == "deny") == (age < 18 and used >= 5 * 3600)  # the budget alone
    if found["effect"] == "deny":
        assert found["obligations"] == []  # obligations ride on an allow only
    elif age < 18:
        assert [o["type"] for o in found["obligations"]] == ["warning"]


# -- a refused consent falls back to another action ---------------------------------------------
def test_a_refused_consent_offers_the_chronological_feed(tmp_path: Path) -> None:
    keys = 'instead = "feed.chronological"'
    engine = engine_with(tmp_path, rule("feed", "require_consent", keys, '["feed.personalized"]'))
    at = "2027-03-02T18:00:00Z"
    found = decide(engine, at, action="feed.personalized")
    assert [r["code"] for r in found["reasons"]] == ["guardian_consent_required"]
    assert found["remedies"] == [
        {"type": "guardian_consent", "action": "feed.personalized"},
        {"type": "use_instead", "action": "feed.chronological"},
    ]
    assert decide(engine, at, action="feed.chronological")["effect"] == "allow"  # never locked out
    consented = decide(
        engine, at, action="feed.personalized", guardian={"consents": ["feed.personalized"]}
    )
    assert consented["effect"] == "allow"
    # the same on the joint path (a request with age signals)
    signals = {
        "age_signals": [{"source": "os", "lower": 13, "upper": 15, "method": "guardian_declared"}]
    }
    joint = decide(engine, at, action="feed.personalized", subject=signals)
    assert {"type": "use_instead", "action": "feed.chronological"} in joint["remedies"]


# -- subject.timezone: both routes, one answer -----------------------------------------------
@pytest.mark.parametrize(
    "bad",
    ["America/Los_Angelos", "PST", "/etc/localtime", "localtime", "../zoneinfo/UTC", "", "x" * 300],
)
def test_a_bad_timezone_is_a_request_error_naming_the_field(
    quiet: youthmode.Engine, bad: str
) -> None:
    request = {"subject": {"age": 12, "timezone": bad}, "action": "notification.send"}
    assert read_plain(request, quiet.policies, "z", datetime.now(UTC)) is None  # the model words it
    with pytest.raises(RequestError) as caught:
        quiet.decide(request)
    problem = caught.value.problems[0]
    assert problem.loc == ("subject", "timezone")
    assert "not an IANA time zone name" in problem.msg and problem.code == "invalid_value"
    if bad == "America/Los_Angelos":
        assert "did you mean `America/Los_Angeles`?" in problem.msg


def test_a_good_timezone_takes_the_plain_route(quiet: youthmode.Engine) -> None:
    request = {"subject": {"age": 12, "timezone": "Asia/Tokyo"}, "action": "notification.send"}
    plain = read_plain(request, quiet.policies, "z", datetime.now(UTC))
    assert plain is not None and plain[2].timezone == ZoneInfo("Asia/Tokyo")


# -- the policy checks of the new keys ----------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "keys", "code", "where"),
    [
        ("quiet_hours", NIGHT + '\nmonths = ["sept"]', "invalid_value", "months[0]"),
        ("quiet_hours", NIGHT + '\nmonths = ["sep-mai"]', "invalid_value", "months[0]"),
        ("quiet_hours", NIGHT + '\nzone = "America/New_Yrok"', "invalid_timezone", "zone"),
        ("quiet_hours", NIGHT + '\ndays = ["tues"]', "unknown_day", "days[0]"),
        ("use_warning", 'every = "1h"', "missing_key", ""),
        ("use_warning", 'after = "1h"\nevery = "0m"', "invalid_duration", "every"),
    ],
)
def test_bad_keys_of_the_new_kinds_are_reported(
    tmp_path: Path, kind: str, keys: str, code: str, where: str
) -> None:
    (tmp_path / "z.toml").write_text(HEAD + rule("r", kind, keys), encoding="utf-8")
    _, problems = check_policies([tmp_path])
    assert [p.code for p in problems][:1] == [code], problems
    assert where in str(problems[0].key or "")


# -- over HTTP, through `youthmode serve` ------------------------------------------------------
def test_the_served_api_reads_the_subjects_zone_and_refuses_a_bad_one(tmp_path: Path) -> None:
    from test_server import Server

    (tmp_path / "policies").mkdir()
    rules = rule("night", "quiet_hours", NIGHT)
    rules += rule(
        "feed", "require_consent", 'instead = "feed.chronological"', '["feed.personalized"]'
    )
    rules += rule("warn", "use_warning", WARNING, actions='["app.use"]')
    (tmp_path / "policies" / "z.toml").write_text(HEAD + rules, encoding="utf-8")
    server = Server(tmp_path)
    try:
        at = "2027-01-05T05:30:00Z"  # 00:30 in New York, 21:30 in Los Angeles
        ask = {"policy": "z", "action": "notification.send", "at": at}
        status, body = server.call(
            "POST", "/v1/decisions", {**ask, "subject": user("America/New_York")}
        )
        assert status == 200 and body["effect"] == "deny"
        assert body["reasons"][0]["code"] == "quiet_hours"
        assert body["next_allowed_at"] == "2027-01-05T03:00:00-08:00"
        status, body = server.call("POST", "/v1/decisions", {**ask, "subject": {"age": 12}})
        assert status == 200 and body["effect"] == "allow" and body["remaining_seconds"] == 9000
        bad = {**ask, "subject": {"age": 12, "timezone": "Europe/Londn"}}
        status, problem = server.call("POST", "/v1/decisions", bad)
        assert status == 400
        assert problem["errors"][0]["loc"] == ["subject", "timezone"]
        assert "did you mean `Europe/London`?" in problem["errors"][0]["msg"]
        status, batch = server.call("POST", "/v1/decisions/batch", {"requests": [bad, ask]})
        assert status == 200 and batch["decisions"][0]["status"] == 400
        feed = {"policy": "z", "action": "feed.personalized", "at": at, "subject": {"age": 12}}
        status, body = server.call("POST", "/v1/decisions", feed)
        assert {"type": "use_instead", "action": "feed.chronological"} in body["remedies"]
        use = {"policy": "z", "action": "app.use", "at": at, "subject": {"age": 12}}
        status, body = server.call("POST", "/v1/decisions", use)
        assert body["obligations"][0] | {"message": None, "message_en": None} == {
            "type": "warning", "id": "ab56-time", "after_seconds": 0, "rule": "z/warn",
            "message": None, "message_en": None,
        }  # fmt: skip
    finally:
        server.stop()


# -- diff and floor on these kinds: tests/test_analysis_zoned.py ---------------------------------


def test_a_subject_with_an_id_keeps_its_zone_through_the_ledger(tmp_path: Path) -> None:
    """With `subject.id` the ledger fills usage in front of the engine: the zone stays."""
    from youthmode.api import create_app
    from youthmode.server.config import ServerConfig

    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "z.toml").write_text(HEAD + rule("night", "quiet_hours", NIGHT))
    config = ServerConfig(
        policies=str(tmp_path / "policies"),
        state_dir=str(tmp_path / "state"),
        decision_log="off",
        store=f"sqlite:///{tmp_path}/ledger.db",
    )
    client = create_app(config).test_client()
    body = {
        "policy": "z",
        "action": "notification.send",
        "at": "2027-01-05T05:30:00Z",  # 00:30 in New York, 21:30 in Los Angeles
        "subject": {"id": "kid-1", "age": 12, "timezone": "America/New_York"},
    }
    answer = client.post("/v1/decisions", json=body).get_json()
    assert answer["effect"] == "deny" and answer["next_allowed_at"] == "2027-01-05T03:00:00-08:00"
