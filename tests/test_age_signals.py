"""Which age signal counts (CONTRACT section 6): accepted methods, the youngest category wins."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from youthmode.age_signals import (
    MAX_AGE,
    METHODS,
    AgeRange,
    AgeSignal,
    check_bounds,
    exact,
    resolve,
)

APPLE_13_15 = AgeSignal("apple_declared_age_range", 13, 15, "guardian_declared")
SELF_19_UP = AgeSignal("self_declared", 19, None, "self_declared")
DECLINED = AgeSignal("google_play_age_signals", None, None, "self_declared")


def test_the_youngest_category_wins_whatever_the_order() -> None:
    for signals in ([APPLE_13_15, SELF_19_UP], [SELF_19_UP, APPLE_13_15]):
        found = resolve(signals).range
        assert found == AgeRange(13, 15, "apple_declared_age_range", "guardian_declared")


def test_the_lowest_upper_wins_before_the_lowest_lower() -> None:
    wide = AgeSignal("windows_age", 0, 17, "estimation")
    narrow = AgeSignal("k-id", 13, 15, "gov_id")
    assert resolve([wide, narrow]).range == AgeRange(13, 15, "k-id", "gov_id")
    same_upper = AgeSignal("other", 10, 15, "payment")
    assert resolve([narrow, same_upper]).range == AgeRange(10, 15, "other", "payment")


def test_open_ended_counts_as_highest() -> None:
    adult = AgeSignal("apple", 18, None, "confirmed")
    teen = AgeSignal("play", 16, 17, "self_declared")
    assert resolve([adult, teen]).range == AgeRange(16, 17, "play", "self_declared")


def test_a_signal_with_no_bound_never_means_adult() -> None:
    assert resolve([DECLINED]).range is None
    assert resolve([]).range is None
    assert resolve([DECLINED, SELF_19_UP]).range == AgeRange(
        19, None, "self_declared", "self_declared"
    )


def test_a_missing_lower_bound_is_zero() -> None:
    under_13 = AgeSignal("google_play_age_signals", None, 12, "guardian_declared")
    found = resolve([under_13]).range
    assert found is not None and (found.lower, found.upper) == (0, 12)
    assert list(found.ages()) == list(range(0, 13))


def test_methods_the_policy_does_not_accept_are_ignored_and_reported() -> None:
    accepted = frozenset(METHODS) - {"self_declared"}
    result = resolve([SELF_19_UP, APPLE_13_15, DECLINED], accepted)
    assert result.range == AgeRange(13, 15, "apple_declared_age_range", "guardian_declared")
    assert result.ignored == (SELF_19_UP, DECLINED)
    only_self = resolve([SELF_19_UP], accepted)
    assert only_self.range is None and only_self.ignored == (SELF_19_UP,)


def test_an_open_range_is_decided_through_adulthood() -> None:
    assert list(AgeRange(13, None, "s", "m").ages()) == [13, 14, 15, 16, 17, 18]
    assert list(AgeRange(30, None, "s", "m").ages()) == [30]
    assert list(AgeRange(16, 17, "s", "m").ages()) == [16, 17]
    assert AgeRange(12, 12, "s", "m").exact and not AgeRange(12, 13, "s", "m").exact


def test_an_exact_age_is_an_operator_signal_of_one_age() -> None:
    assert exact(12) == AgeSignal("subject.age", 12, 12, "operator")
    assert resolve([exact(17), APPLE_13_15]).range == AgeRange(
        13, 15, "apple_declared_age_range", "guardian_declared"
    )


def test_impossible_bounds_are_explained() -> None:
    assert check_bounds(13, 15) is None and check_bounds(None, None) is None
    assert check_bounds(16, 13) == "`lower` (16) is above `upper` (13)"
    assert check_bounds(-1, None) == f"`lower` must be a whole age from 0 to {MAX_AGE}, not -1"
    assert check_bounds(None, 151) == f"`upper` must be a whole age from 0 to {MAX_AGE}, not 151"


bounds = st.one_of(st.none(), st.integers(0, MAX_AGE))
signals = st.builds(
    AgeSignal,
    source=st.sampled_from(["apple", "play", "windows", "k-id"]),
    lower=bounds,
    upper=bounds,
    method=st.sampled_from(METHODS),
).filter(lambda s: check_bounds(s.lower, s.upper) is None)


@given(st.lists(signals, max_size=6), st.frozensets(st.sampled_from(METHODS)))
def test_no_accepted_signal_is_younger_than_the_winner(
    sent: list[AgeSignal], accepted: frozenset[str]
) -> None:
    result = resolve(sent, accepted)
    counted = [s for s in sent if s.method in accepted and s.has_bound]
    assert len(result.ignored) == sum(s.method not in accepted for s in sent)
    if not counted:
        assert result.range is None
        return
    assert result.range is not None
    won = (
        result.range.upper if result.range.upper is not None else float("inf"),
        result.range.lower,
    )
    assert won == min(s.youth_order() for s in counted)


@given(st.lists(signals, max_size=6), st.randoms())
def test_the_range_chosen_does_not_depend_on_the_order_sent(
    sent: list[AgeSignal], rnd: object
) -> None:
    shuffled = list(sent)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    first, second = resolve(sent).range, resolve(shuffled).range
    assert (first and (first.lower, first.upper)) == (second and (second.lower, second.upper))


@given(signals.filter(lambda s: s.has_bound), st.integers(0, MAX_AGE))
def test_every_age_decided_lies_in_the_signal(signal: AgeSignal, _: int) -> None:
    found = resolve([signal]).range
    assert found is not None
    ages = found.ages()
    assert ages[0] == (signal.lower or 0)
    if signal.upper is not None:
        assert ages[-1] == signal.upper
    else:
        assert ages[-1] == max(signal.lower or 0, 18)
