"""The California and New York packs (issue 15) beyond their policy tests: what their recorded
but unenforced rules would do once in force (each pack copied with the status switched), and
that the packs keep those rules out of force as shipped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIGS

import youthmode


def switched(tmp_path: Path, pack: str, *statuses: str) -> youthmode.Engine:
    """``pack`` with every rule of the given statuses (and the pack itself) in force."""
    text = (CONFIGS / f"{pack}.toml").read_text(encoding="utf-8")
    for status in statuses:
        text = text.replace(f'status = "{status}"', 'status = "in_force"')
    (tmp_path / f"{pack}.toml").write_text(text, encoding="utf-8")
    return youthmode.Engine.from_path(tmp_path)


def decide(engine: youthmode.Engine, **request: Any) -> dict[str, Any]:
    out: dict[str, Any] = engine.decide(request).model_dump(mode="json")
    return out


@pytest.fixture(scope="module")
def shipped() -> youthmode.Engine:
    return youthmode.Engine.from_path(CONFIGS / "us-ca.toml", CONFIGS / "us-ny.toml")


def test_as_shipped_the_enjoined_and_proposed_rules_do_not_bind(shipped: youthmode.Engine) -> None:
    # 10:00 on a school day in September in New York: the school-hours limit is enjoined
    school = {"action": "notification.send", "at": "2027-09-07T10:00:00-04:00"}
    found = decide(
        shipped, policy="us-ca", subject={"age": 14, "timezone": "America/New_York"}, **school
    )
    assert found["effect"] == "allow"
    ny = decide(
        shipped,
        policy="us-ny",
        action="feed.personalized",
        subject={"age": 14},
        at="2027-03-02T16:00:00-05:00",
    )
    assert ny["effect"] == "allow"
    trace = shipped.explain(
        {
            "policy": "us-ny",
            "action": "feed.personalized",
            "subject": {"age": 14},
            "at": "2027-03-02T16:00:00-05:00",
        }
    )
    outcomes = {t.rule: (t.outcome, t.detail) for t in trace.trace or []}
    assert outcomes["us-ny/addictive-feed-consent"][0] == "not_in_force"


def test_californias_school_hours_once_in_force(tmp_path: Path) -> None:
    engine = switched(tmp_path, "us-ca", "enjoined")
    request = {"policy": "us-ca", "action": "notification.send"}
    ny_kid = {"age": 14, "timezone": "America/New_York"}
    found = decide(engine, **request, subject=ny_kid, at="2027-09-07T10:00:00-04:00")
    assert [r["rule"] for r in found["reasons"]] == ["us-ca/school-notifications"]
    assert found["next_allowed_at"] == "2027-09-07T12:00:00-07:00"  # 15:00 in New York
    assert found["remedies"][0] == {"type": "guardian_consent", "action": "notification.school"}
    # June: no school hours; the parent's consent lifts them in September
    assert (
        decide(engine, **request, subject=ny_kid, at="2027-06-08T10:00:00-04:00")["effect"]
        == "allow"
    )
    consented = decide(
        engine,
        **request,
        subject=ny_kid,
        at="2027-09-07T10:00:00-04:00",
        guardian={"consents": ["notification.school"]},
    )
    assert consented["effect"] == "allow"


def test_new_yorks_rules_once_in_force(tmp_path: Path) -> None:
    engine = switched(tmp_path, "us-ny", "proposed")
    feed = decide(
        engine,
        policy="us-ny",
        action="feed.personalized",
        subject={"age": 15},
        at="2027-03-02T16:00:00-05:00",
    )
    assert [r["code"] for r in feed["reasons"]] == ["guardian_consent_required"]
    assert feed["remedies"] == [
        {"type": "guardian_consent", "action": "feed.personalized"},
        {"type": "use_instead", "action": "feed.chronological"},
    ]
    unknown = decide(
        engine, policy="us-ny", action="feed.personalized", at="2027-03-02T16:00:00-05:00"
    )
    assert unknown["effect"] == "deny" and unknown["band"] == "unknown"
    chrono = decide(
        engine,
        policy="us-ny",
        action="feed.chronological",
        subject={"age": 15},
        at="2027-03-02T16:00:00-05:00",
    )
    assert chrono["effect"] == "allow"  # refusing consent never locks the minor out
    # 00:30 Eastern is quiet whatever the user's zone (the act names Eastern time)
    for zone in ("America/Los_Angeles", "Asia/Tokyo"):
        night = decide(
            engine,
            policy="us-ny",
            action="notification.send",
            subject={"age": 15, "timezone": zone},
            at="2027-03-02T00:30:00-05:00",
        )
        assert night["effect"] == "deny" and night["next_allowed_at"] == "2027-03-02T06:00:00-05:00"
    lifted = decide(
        engine,
        policy="us-ny",
        action="notification.send",
        subject={"age": 15},
        at="2027-03-02T00:30:00-05:00",
        guardian={"consents": ["notification.night"]},
    )
    assert lifted["effect"] == "allow"
