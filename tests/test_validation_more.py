"""Validation rules added after review: each one refuses a policy that would silently misbehave."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CONFIGS

import youthmode
from youthmode.policies import check_policies

HEAD = """[policy]
id = "p"
version = "1"
timezone = "Asia/Shanghai"
currency = "{currency}"

[[bands]]
id = "all"
from = 0

[catalog.actions."buy"]
spend = "buy"
{extra_action}
"""
RULE = """
[[rules]]
id = "r"
bands = ["all"]
message = {{ zh-CN = "x", en = "x" }}
{body}
"""


def problems(tmp_path: Path, body: str, currency: str = "CNY", extra_action: str = "") -> list[str]:
    text = HEAD.format(currency=currency, extra_action=extra_action) + RULE.format(body=body)
    (tmp_path / "p.toml").write_text(text, encoding="utf-8")
    _, found = check_policies([tmp_path])
    return [f"{p.code}: {p.message}" for p in found]


def test_cap_decimals_follow_the_currency(tmp_path: Path) -> None:
    cap = 'kind = "spending_cap"\nactions = ["buy"]\nperiod = "transaction"\nmax = "{}"'
    assert problems(tmp_path, cap.format("1.234"), currency="BHD") == []
    assert problems(tmp_path, cap.format("50.5"), currency="JPY") == [
        "invalid_amount: amount `50.5` has more than 0 decimal places for JPY"
    ]


def test_empty_days_is_an_error(tmp_path: Path) -> None:
    body = 'kind = "allow_window"\nactions = ["buy"]\nbetween = ["20:00", "21:00"]\ndays = []'
    assert problems(tmp_path, body) == ["unknown_day: `days` is empty, so the window never applies"]


def test_empty_match_is_an_error(tmp_path: Path) -> None:
    body = 'kind = "resource_match"\nreason = "x"\nactions = ["buy"]\nmatch = {}'
    assert problems(tmp_path, body) == [
        "invalid_value: rule `r` has an empty `match`, which would deny everything"
    ]


def test_spending_cannot_fail_open(tmp_path: Path) -> None:
    body = 'kind = "forbid"\nactions = ["buy"]'
    found = problems(tmp_path, body, extra_action='on_store_error = "allow"')
    assert found == [
        "unsafe_store_error_mode: spending action `buy` cannot be allowed while "
        "the ledger is unavailable"
    ]


def _pack(tmp_path: Path, child: str) -> list[str]:
    (tmp_path / "cn-baseline.toml").write_bytes((CONFIGS / "cn-baseline.toml").read_bytes())
    (tmp_path / "child.toml").write_text(child, encoding="utf-8")
    _, found = check_policies([tmp_path])
    return [p.code for p in found]


def test_inherited_cap_on_a_new_action_needs_spend(tmp_path: Path) -> None:
    child = (
        '[policy]\nid = "child"\nversion = "1"\nextends = "cn-baseline"\n\n'
        '[catalog.actions."gift.buy"]\ntags = ["spending"]\n\n'
        '[[rules]]\nid = "gift-cap"\nkind = "spending_cap"\nbands = ["minors"]\n'
        'tags = ["spending"]\nperiod = "transaction"\nmax = "10.00"\n'
        'message = { zh-CN = "x", en = "x" }\n'
    )
    assert _pack(tmp_path, child) == ["cap_on_non_spending_action"]


def test_a_child_default_wins_and_its_calendar_words_win(tmp_path: Path) -> None:
    child = (
        '[policy]\nid = "child"\nversion = "1"\nextends = "cn-baseline"\ndefault = true\n\n'
        "[calendar]\nworking_days = [2026-10-02]\n"
    )
    assert _pack(tmp_path, child) == []
    engine = youthmode.Engine.from_path(tmp_path)
    assert engine.default_policy == "child"
    d = engine.decide(
        {
            "subject": {"age": 12, "verified": True},
            "action": "game.play",
            "at": "2026-10-02T20:30:00+08:00",
        }
    )
    assert d.facts.day_type == "workday" and d.allowed  # still a Friday: a game day
    base = engine.decide(
        {
            "policy": "cn-baseline",
            "subject": {"age": 12, "verified": True},
            "action": "game.play",
            "at": "2026-10-02T20:30:00+08:00",
        }
    )
    assert base.facts.day_type == "holiday"


@pytest.mark.parametrize("at", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"])
def test_times_far_out_are_request_errors(engine: youthmode.Engine, at: str) -> None:
    with pytest.raises(youthmode.RequestError):
        engine.decide({"action": "app.use", "at": at})


def test_unquoted_times_in_a_list_get_a_hint(tmp_path: Path) -> None:
    text = HEAD.format(currency="CNY", extra_action="") + RULE.format(
        body='kind = "deny_window"\nreason = "curfew"\nactions = ["buy"]\nbetween = [22:00, 06:00]'
    )
    (tmp_path / "p.toml").write_text(text, encoding="utf-8")
    _, [problem] = check_policies([tmp_path])
    assert problem.code == "toml_syntax"
    assert problem.hint == 'strings need quotes, e.g. "22:00" or "40m"'
