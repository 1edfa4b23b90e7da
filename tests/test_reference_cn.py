"""Tests of the cn-baseline reference evaluator itself (tests/reference_cn.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from reference_cn import (
    HOLIDAYS,
    MAKEUP_WORKDAYS,
    SHANGHAI,
    age_on,
    day_type,
    is_game_day,
    reference_decide,
    reference_reasons_at,
)


def req(action: str, at: str, *, age: int | None = 12, **extra: Any) -> dict[str, Any]:
    """A verified subject of `age` (unless `subject` is given) asking `action` at `at`."""
    request: dict[str, Any] = {
        "policy": "cn-baseline",
        "subject": {"age": age, "verified": True},
        "action": action,
        "at": at,
    }
    request.update(extra)
    return request


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(SHANGHAI)


# --- examples of cn-spec.md ---------------------------------------------------------------


def test_spec_example_game_in_window_until_21() -> None:
    d = reference_decide(
        req("game.play", "2026-11-27T20:30:00+08:00", usage={"today_seconds": 1200})
    )
    assert (d.effect, d.reasons, d.remaining_seconds, d.next_allowed_at) == (
        "allow",
        (),
        1800,
        None,
    )
    assert d.band == "12-16"


def test_spec_example_budget_left() -> None:
    d = reference_decide(req("app.use", "2026-11-24T10:00:00+08:00", usage={"today_seconds": 3000}))
    assert (d.effect, d.remaining_seconds) == ("allow", 600)


def test_spec_example_adult_unlimited() -> None:
    d = reference_decide(req("app.use", "2026-11-24T23:30:00+08:00", age=30))
    assert (d.effect, d.band, d.remaining_seconds) == ("allow", "adult", None)


def test_spec_example_game_before_window() -> None:
    d = reference_decide(
        req("game.play", "2026-11-27T19:30:00+08:00", usage={"today_seconds": 1200})
    )
    assert d.reasons == ("outside_allowed_window",)
    assert d.next_allowed_at == local("2026-11-27T20:00:00+08:00")
    assert d.next_allowed_at is not None and d.next_allowed_at.tzinfo == SHANGHAI
    assert d.remaining_seconds is None


def test_spec_example_curfew() -> None:
    d = reference_decide(req("app.use", "2026-11-25T23:00:00+08:00"))
    assert d.reasons == ("curfew",)
    assert d.next_allowed_at == local("2026-11-26T06:00:00+08:00")


def test_spec_example_budget_used_up_waits_for_morning() -> None:
    d = reference_decide(req("app.use", "2026-11-24T10:00:00+08:00", usage={"today_seconds": 3600}))
    assert d.reasons == ("daily_limit",)
    assert d.next_allowed_at == local("2026-11-25T06:00:00+08:00")


# --- boundaries ---------------------------------------------------------------------------


def test_curfew_starts_at_22_exactly() -> None:
    before = reference_decide(req("app.use", "2026-11-24T21:59:59+08:00"))
    assert (before.effect, before.remaining_seconds) == ("allow", 1)
    at_22 = reference_decide(req("app.use", "2026-11-24T22:00:00+08:00"))
    assert at_22.reasons == ("curfew",)


def test_curfew_ends_at_06_exactly() -> None:
    before = reference_decide(req("app.use", "2026-11-24T05:59:59+08:00"))
    assert before.reasons == ("curfew",)
    assert before.next_allowed_at == local("2026-11-24T06:00:00+08:00")
    at_06 = reference_decide(req("app.use", "2026-11-24T06:00:00+08:00"))
    assert at_06.effect == "allow"
    assert at_06.remaining_seconds == 3600  # budget, long before 22:00


def test_game_window_edges() -> None:
    assert reference_decide(req("game.play", "2026-11-27T20:00:00+08:00")).effect == "allow"
    d = reference_decide(req("game.play", "2026-11-27T20:59:59+08:00"))
    assert (d.effect, d.remaining_seconds) == ("allow", 1)
    late = reference_decide(req("game.play", "2026-11-27T21:00:00+08:00"))
    assert late.reasons == ("outside_allowed_window",)
    assert late.next_allowed_at == local("2026-11-28T20:00:00+08:00")  # Saturday


def test_makeup_saturday_is_not_a_game_day() -> None:
    assert day_type(date(2026, 2, 14)) == "makeup_workday"
    d = reference_decide(req("game.play", "2026-02-14T20:30:00+08:00"))
    assert d.reasons == ("outside_allowed_window",)
    # Sunday 2026-02-15 opens the Spring Festival window.
    assert d.next_allowed_at == local("2026-02-15T20:00:00+08:00")


def test_monday_holiday_is_a_game_day() -> None:
    assert day_type(date(2026, 2, 16)) == "holiday"
    d = reference_decide(req("game.play", "2026-02-16T20:30:00+08:00"))
    assert (d.effect, d.remaining_seconds) == ("allow", 1800)


def test_budget_3599_and_3600() -> None:
    d = reference_decide(req("app.use", "2026-11-24T10:00:00+08:00", usage={"today_seconds": 3599}))
    assert (d.effect, d.remaining_seconds) == ("allow", 1)
    d = reference_decide(req("app.use", "2026-11-24T10:00:00+08:00", usage={"today_seconds": 3600}))
    assert d.reasons == ("daily_limit",)
    d = reference_decide(
        req("app.use", "2026-11-24T10:00:00+08:00", age=16, usage={"today_seconds": 3600})
    )
    assert (d.effect, d.remaining_seconds) == ("allow", 3600)  # 16-18: 7200 s


def test_non_metered_action_keeps_its_usage() -> None:
    # notification.send is not metered: the budget does not run down, only 22:00 ends it.
    d = reference_decide(
        req("notification.send", "2026-11-24T21:00:00+08:00", usage={"today_seconds": 3599})
    )
    assert (d.effect, d.remaining_seconds) == ("allow", 3600)


def test_amount_cap_50_00_and_50_01() -> None:
    at = "2026-11-27T20:30:00+08:00"
    ok = reference_decide(req("game.purchase", at, resource={"amount": "50.00"}))
    assert ok.effect == "allow"
    over = reference_decide(req("game.purchase", at, resource={"amount": "50.01"}))
    assert over.reasons == ("per_transaction_cap",)
    assert over.next_allowed_at is None  # the amount alone exceeds the cap for 14 days


def test_monthly_cap_resets_on_the_first() -> None:
    at = "2026-11-27T20:30:00+08:00"
    ok = reference_decide(
        req("game.purchase", at, usage={"month_spent": "150.00"}, resource={"amount": "50.00"})
    )
    assert ok.effect == "allow"
    over = reference_decide(
        req("game.purchase", at, usage={"month_spent": "150.01"}, resource={"amount": "50.00"})
    )
    assert over.reasons == ("monthly_cap",)
    # Tue 2026-12-01 resets the month but is no game day; Friday 12-04 is.
    assert over.next_allowed_at == local("2026-12-04T20:00:00+08:00")


def test_next_day_birthday_rollover() -> None:
    assert age_on(date(2014, 3, 2), date(2026, 3, 2)) == 11
    assert age_on(date(2014, 3, 2), date(2026, 3, 3)) == 12
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18
    assert age_on(date(2008, 2, 29), date(2028, 2, 29)) == 19
    assert age_on(date(2008, 2, 29), date(2028, 3, 1)) == 20

    subject = {"birthdate": "2014-03-02", "age": 30, "verified": True}  # birthdate wins
    view = req(
        "content.view", "2026-03-02T10:00:00+08:00", subject=subject, resource={"min_age": 12}
    )
    d = reference_decide(view)
    assert (d.band, d.reasons) == ("8-12", ("age_restricted",))
    assert d.next_allowed_at == local("2026-03-03T06:00:00+08:00")  # 00:00 is curfew
    d = reference_decide({**view, "guardian": {"exemptions": ["curfew"]}})
    assert d.next_allowed_at == local("2026-03-03T00:00:00+08:00")


def test_hosting_opens_the_day_after_16th_birthday() -> None:
    subject = {"birthdate": "2010-06-01", "verified": True}
    host = req(
        "livestream.host",
        "2026-06-01T10:00:00+08:00",
        subject=subject,
        guardian={"consents": ["livestream.host"]},
    )
    d = reference_decide(host)
    assert d.reasons == ("feature_forbidden",)
    assert d.next_allowed_at == local("2026-06-02T06:00:00+08:00")
    no_consent = reference_decide({**host, "guardian": {}})
    assert no_consent.next_allowed_at is None  # from 16 it still needs the consent


# --- usage model of the scans -------------------------------------------------------------


def test_budget_running_out_seconds_before_midnight() -> None:
    # Curfew waived: 5 s of budget left, then denied for 5 s until midnight resets it.
    d = reference_decide(
        req(
            "app.use",
            "2026-11-24T23:59:50+08:00",
            usage={"today_seconds": 3595},
            guardian={"exemptions": ["curfew"]},
        )
    )
    assert (d.effect, d.remaining_seconds) == ("allow", 5)


def test_metered_use_resets_at_midnight_and_grows_again() -> None:
    d = reference_decide(
        req("app.use", "2026-11-24T23:30:00+08:00", guardian={"exemptions": ["curfew"]})
    )
    assert d.remaining_seconds == 30 * 60 + 3600  # to midnight, then a fresh hour


def test_at_with_seconds_and_other_offset() -> None:
    d = reference_decide(req("game.play", "2026-11-27T19:59:45+08:00"))
    assert d.next_allowed_at == local("2026-11-27T20:00:00+08:00")
    d = reference_decide(req("game.play", "2026-11-27T12:59:45Z"))  # 20:59:45 local
    assert (d.effect, d.remaining_seconds) == ("allow", 15)


def test_permanent_denials_have_no_next_allowed() -> None:
    tip = reference_decide(
        req("livestream.tip", "2026-11-24T10:00:00+08:00", resource={"amount": "1.00"})
    )
    assert tip.reasons == ("feature_forbidden",) and tip.next_allowed_at is None
    unverified = reference_decide(
        req("game.play", "2026-11-27T20:30:00+08:00", subject={"age": 30})
    )
    assert unverified.reasons == ("unverified",) and unverified.next_allowed_at is None


def test_unknown_age() -> None:
    d = reference_decide(req("app.use", "2026-11-24T23:30:00+08:00", age=None))
    assert (d.effect, d.band, d.remaining_seconds) == ("allow", "unknown", None)
    d = reference_decide(
        req("purchase", "2026-11-24T10:00:00+08:00", age=None, resource={"amount": "1.00"})
    )
    assert d.reasons == ("unverified",)


# --- rule order, waivers, obligations -----------------------------------------------------


def test_reason_order_and_non_waivable_exemptions() -> None:
    request = req(
        "game.purchase",
        "2026-11-25T23:00:00+08:00",  # Wednesday, curfew
        subject={"age": 12, "verified": False},
        usage={"today_seconds": 3600, "month_spent": "190.00"},
        resource={"amount": "60.00"},
        guardian={"exemptions": ["outside_allowed_window", "per_transaction_cap"]},
    )
    assert reference_decide(request).reasons == (
        "unverified",
        "curfew",
        "outside_allowed_window",
        "daily_limit",
        "per_transaction_cap",
        "monthly_cap",
    )
    waived = {**request, "guardian": {"exemptions": ["curfew", "daily_limit"]}}
    assert reference_decide(waived).reasons == (
        "unverified",
        "outside_allowed_window",
        "per_transaction_cap",
        "monthly_cap",
    )


def test_exempt_category_skips_curfew_and_limit_only() -> None:
    edu = {"category": "filed_education"}
    d = reference_decide(
        req("app.use", "2026-11-24T23:00:00+08:00", usage={"today_seconds": 9999}, resource=edu)
    )
    assert (d.effect, d.remaining_seconds) == ("allow", None)
    game = reference_decide(req("game.play", "2026-11-24T23:00:00+08:00", resource=edu))
    assert game.reasons == ("outside_allowed_window",)


def test_rest_reminder_over_1800() -> None:
    at = "2026-11-24T10:00:00+08:00"
    assert reference_decide(req("app.use", at, usage={"session_seconds": 1800})).obligations == ()
    assert reference_decide(req("app.use", at, usage={"session_seconds": 1801})).obligations == (
        "rest_reminder",
    )


def test_reasons_at_helper() -> None:
    request = req("app.use", "2026-11-24T10:00:00+08:00")
    when = local("2026-11-24T12:00:00+08:00")
    assert reference_reasons_at(request, when, 3599, Decimal(0), Decimal(0)) == ()
    assert reference_reasons_at(request, when, 3600, Decimal(0), Decimal(0)) == ("daily_limit",)


def test_float_amounts_are_refused() -> None:
    with pytest.raises(TypeError):
        reference_decide(req("purchase", "2026-11-24T10:00:00+08:00", resource={"amount": 1.5}))
    with pytest.raises(ValueError):
        reference_decide(req("purchase", "2026-11-24T10:00:00+08:00"))


# --- calendar -----------------------------------------------------------------------------


def test_makeup_days_are_weekends_and_outside_the_windows() -> None:
    assert all(d.weekday() >= 5 for d in MAKEUP_WORKDAYS)
    assert not HOLIDAYS & MAKEUP_WORKDAYS


def test_calendar_matches_the_published_play_day_counts() -> None:
    year_2026 = [date(2026, 1, 1) + timedelta(days=n) for n in range(365)]
    assert sum(is_game_day(d) for d in year_2026) == 163
    spring_2026 = [date(2026, 2, 5) + timedelta(days=n) for n in range(29)]  # 02-05..03-05
    assert sum(is_game_day(d) for d in spring_2026) == 15
    winter_2025 = [date(2025, 1, 17) + timedelta(days=n) for n in range(24)]  # 01-17..02-09
    tencent_2025 = [
        "01-17",
        "01-18",
        "01-19",
        "01-24",
        "01-25",
        "01-28",
        "01-29",
        "01-30",
        "01-31",
        "02-01",
        "02-02",
        "02-03",
        "02-04",
        "02-07",
        "02-09",
    ]
    assert [d.strftime("%m-%d") for d in winter_2025 if is_game_day(d)] == tencent_2025


def test_years_without_a_notice_use_plain_weekdays() -> None:
    assert day_type(date(2027, 1, 1)) == "workday"  # a Friday
    assert is_game_day(date(2027, 1, 1))
    assert day_type(date(2027, 10, 2)) == "weekend"
    assert not is_game_day(date(2027, 10, 4))  # Monday


def test_full_14_day_scan_finds_nothing() -> None:
    d = reference_decide(req("fan.vote", "2026-11-24T10:00:00+08:00"))
    assert (d.reasons, d.next_allowed_at) == (("feature_forbidden",), None)
