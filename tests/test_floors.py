"""Jurisdiction floors (CONTRACT section 6): a policy's `floors` packs also decide its subjects
in their jurisdictions; deny if any denies, each pack in its own time zone."""

from __future__ import annotations

import random
import shutil
from typing import Any

import pytest
from conftest import CONFIGS
from random_requests import random_request

import youthmode
from youthmode.errors import RequestError

APP = """
[policy]
id = "acme"
version = "1"
timezone = "Asia/Shanghai"
currency = "USD"
floors = { "CN" = "cn-baseline", "US-TX" = "night", "US" = ["late"] }

[[bands]]
id = "child"
from = 0
to = 18

[[bands]]
id = "adult"
from = 18

[catalog.actions."app.use"]
metered = true

[catalog.actions."game.play"]
metered = true

[catalog.actions."game.purchase"]
spend = "game_topup"

[catalog.actions."chat.send"]

[[rules]]
id = "no-chat-under-13"
kind = "forbid"
bands = ["child"]
actions = ["chat.send"]
message = { zh-CN = "不可聊天", en = "No chat" }
"""

# A pack in another zone: minors off between 23:00 and 05:00 in Chicago.
NIGHT = """
[policy]
id = "night"
version = "1"
timezone = "America/Chicago"

[[bands]]
id = "minor"
from = 0
to = 18

[[bands]]
id = "adult"
from = 18

[catalog.actions."app.use"]
metered = true

[[rules]]
id = "night"
kind = "deny_window"
reason = "curfew"
bands = ["minor"]
actions = ["app.use"]
between = ["23:00", "05:00"]
message = { zh-CN = "夜间禁止", en = "Not at night" }
"""

LATE = NIGHT.replace('id = "night"\nversion', 'id = "late"\nversion').replace(
    '"23:00", "05:00"', '"21:00", "23:30"'
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> youthmode.Engine:
    folder = tmp_path_factory.mktemp("floors")
    shutil.copy(CONFIGS / "cn-baseline.toml", folder)
    (folder / "acme.toml").write_text(APP, encoding="utf-8")
    (folder / "night.toml").write_text(NIGHT, encoding="utf-8")
    (folder / "late.toml").write_text(LATE, encoding="utf-8")
    return youthmode.Engine.from_path(folder, default_policy="acme")


def ask(
    where: str | None, action: str = "app.use", at: str = "2026-11-24T22:30:00+08:00", **more: Any
) -> dict[str, Any]:
    subject: dict[str, Any] = {"age": 12, "verified": True}
    if where is not None:
        subject["jurisdiction"] = where
    return {"policy": "acme", "subject": subject, "action": action, "at": at, **more}


def test_a_floor_applies_in_its_jurisdiction(engine: youthmode.Engine) -> None:
    decision = engine.decide(ask("CN-BJ"))
    assert not decision.allowed
    assert [r.rule for r in decision.reasons] == ["cn-baseline/curfew"]
    assert decision.policy.id == "acme"
    assert [p.id for p in decision.policies or []] == ["acme", "cn-baseline"]
    assert decision.next_allowed_at is not None
    assert decision.next_allowed_at.isoformat() == "2026-11-25T06:00:00+08:00"


def test_no_floor_no_policies_list(engine: youthmode.Engine) -> None:
    for where in (None, "VN", "BR"):
        decision = engine.decide(ask(where))
        assert decision.allowed and decision.policies is None


def test_the_subdivision_and_its_country_both_apply(engine: youthmode.Engine) -> None:
    # 22:30 in Shanghai is 08:30 in Chicago: neither night nor late denies.
    assert engine.decide(ask("US-TX")).allowed
    # 2026-11-25T11:40+08:00 is 21:40 in Chicago: `late` (US) denies, `night` (US-TX) not yet.
    at = "2026-11-25T11:40:00+08:00"
    decision = engine.decide(ask("US-TX", at=at))
    assert [r.rule for r in decision.reasons] == ["late/night"]
    assert [p.id for p in decision.policies or []] == ["acme", "night", "late"]
    # Allowed again when both allow: late ends 23:30 Chicago, night starts 23:00 and ends 05:00.
    assert decision.next_allowed_at is not None
    assert decision.next_allowed_at.isoformat() == "2026-11-25T19:00:00+08:00"  # 05:00 Chicago
    only_us = engine.decide(ask("US-CA", at=at))
    assert [p.id for p in only_us.policies or []] == ["acme", "late"]
    assert only_us.next_allowed_at is not None
    assert only_us.next_allowed_at.isoformat() == "2026-11-25T13:30:00+08:00"  # 23:30 Chicago


def test_a_floor_without_the_action_does_not_restrict_it(engine: youthmode.Engine) -> None:
    decision = engine.decide(ask("US-TX", action="chat.send", at="2026-11-25T11:40:00+08:00"))
    assert [r.rule for r in decision.reasons] == ["acme/no-chat-under-13"]
    assert decision.policies is None  # neither floor lists chat.send


def test_a_cap_in_another_currency_is_refused_not_passed(engine: youthmode.Engine) -> None:
    request = ask("CN", action="game.purchase", at="2026-11-27T20:30:00+08:00",
                  resource={"amount": "10.00", "currency": "USD"})  # fmt: skip
    with pytest.raises(RequestError) as caught:
        engine.decide(request)
    assert caught.value.code == "unsupported_currency"
    assert "cn-baseline" in str(caught.value)


@pytest.mark.parametrize("seed", range(300))
def test_adding_a_floor_never_turns_a_deny_into_an_allow(
    engine: youthmode.Engine, seed: int
) -> None:
    request = random_request(random.Random(seed))
    request["policy"] = "acme"
    if request["action"] not in ("app.use", "game.play"):  # no money: caps are tested above
        request["action"] = "app.use"
    request.pop("resource", None)
    request.get("guardian", {}).pop("exemptions", None)
    alone = engine.decide(request)
    for where in ("CN", "US-TX", "US"):
        with_floor = dict(request, subject=dict(request["subject"], jurisdiction=where))
        decision = engine.decide(with_floor)
        if not alone.allowed:
            assert not decision.allowed
        if decision.allowed and alone.remaining_seconds is not None:
            assert decision.remaining_seconds is not None
            assert decision.remaining_seconds <= alone.remaining_seconds
