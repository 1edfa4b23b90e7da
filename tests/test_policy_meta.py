"""Policy-level keys and rules in force (CONTRACT section 6): jurisdiction, in_force, status,
languages, floors, [age_assurance], and what the engine, `explain` and `check` make of them.

Each test writes a small pack to tmp_path; the pack's zone is Asia/Ho_Chi_Minh (UTC+7, no
daylight saving), so local dates are easy to read off the instants."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from youthmode import Engine
from youthmode.cli.check import run_check
from youthmode.policies import check_policies, load_policies
from youthmode.policies.in_force import meta_warnings

HEAD = """
[policy]
id = "vn"
version = "1"
timezone = "Asia/Ho_Chi_Minh"
currency = "VND"
{policy}

[[bands]]
id = "minor"
from = 0
to = 18

[[bands]]
id = "adult"
from = 18

[catalog.actions."game.play"]
metered = true

[catalog.actions."chat.send"]
"""

RULE = """
[[rules]]
id = "{id}"
kind = "{kind}"
reason = "{reason}"
bands = ["minor"]
actions = ["{action}"]
message = {{ zh-CN = "不可以", en = "Not allowed"{extra} }}
{more}
"""


def pack(
    tmp_path: Path, policy: str = "", rules: list[dict[str, str]] | None = None, name: str = "vn"
) -> Path:
    text = HEAD.format(policy=policy).replace('id = "vn"', f'id = "{name}"', 1)
    for rule in rules if rules is not None else [{}]:
        values = {"id": "no-games", "kind": "forbid", "reason": "feature_forbidden"}
        values |= {"action": "game.play", "extra": "", "more": ""} | rule
        text += RULE.format(**values)
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def engine(*paths: Path) -> Engine:
    return Engine(load_policies(paths))


def play(e: Engine, at: str, action: str = "game.play", policy: str = "vn") -> Any:
    request = {"policy": policy, "subject": {"age": 12}, "action": action, "at": at}
    return e.decide(request)


# -- in force by date -----------------------------------------------------------------------------
def test_a_rule_binds_from_its_local_date_until_the_day_before_until(tmp_path: Path) -> None:
    dated = {"more": 'in_force = { from = 2027-01-01, until = "2027-07-01" }'}
    e = engine(pack(tmp_path, rules=[dated]))
    # 2026-12-31 23:59 local (16:59Z): the day before `from`
    assert play(e, "2026-12-31T16:59:00Z").allowed
    # 2027-01-01 00:00 local (2026-12-31T17:00Z): the day of `from`
    assert not play(e, "2026-12-31T17:00:00Z").allowed
    assert not play(e, "2027-06-30T16:59:59Z").allowed  # the last day
    assert play(e, "2027-06-30T17:00:00Z").allowed  # the day of `until`: no longer


def test_the_packs_own_dates_apply_to_every_rule(tmp_path: Path) -> None:
    e = engine(pack(tmp_path, 'in_force = { from = "2027-01-01" }'))
    assert play(e, "2026-12-31T12:00:00Z").allowed
    assert not play(e, "2027-01-01T12:00:00Z").allowed
    (policy,) = load_policies([tmp_path / "vn.toml"])
    assert policy.in_force_from == date(2027, 1, 1)
    assert policy.rules[0].in_force_from == date(2027, 1, 1)


def test_the_latest_start_and_earliest_end_of_pack_and_rule_hold(tmp_path: Path) -> None:
    rule = {"more": 'in_force = { from = "2027-03-01", until = "2028-01-01" }'}
    path = pack(tmp_path, 'in_force = { from = "2027-01-01", until = "2027-06-01" }', [rule])
    (policy,) = load_policies([path])
    assert (policy.rules[0].in_force_from, policy.rules[0].in_force_until) == (
        date(2027, 3, 1),
        date(2027, 6, 1),
    )


def test_remaining_seconds_counts_a_rule_taking_effect_tomorrow(tmp_path: Path) -> None:
    e = engine(pack(tmp_path, rules=[{"more": 'in_force = { from = "2027-01-01" }'}]))
    decision = play(e, "2026-12-31T15:00:00Z")  # 22:00 local, two hours before
    assert decision.allowed
    assert decision.remaining_seconds == 2 * 3600


def test_next_allowed_at_counts_a_rule_losing_effect_tomorrow(tmp_path: Path) -> None:
    e = engine(pack(tmp_path, rules=[{"more": 'in_force = { until = "2027-01-01" }'}]))
    decision = play(e, "2026-12-31T15:00:00Z")
    assert not decision.allowed
    assert decision.next_allowed_at == datetime.fromisoformat("2027-01-01T00:00:00+07:00")


def test_a_window_rule_taking_effect_tomorrow_is_an_edge_like_any_other(tmp_path: Path) -> None:
    curfew = {
        "id": "curfew",
        "kind": "deny_window",
        "reason": "curfew",
        "more": 'between = ["22:00", "06:00"]\nin_force = { from = "2027-01-01" }',
    }
    e = engine(pack(tmp_path, rules=[curfew]))
    # 2026-12-31 21:00 local: the curfew does not bind on the 31st; from local midnight it
    # does (in force is judged by the date of the instant, even in a window begun the day before)
    decision = play(e, "2026-12-31T14:00:00Z")
    assert decision.allowed
    assert decision.remaining_seconds == 3 * 3600
    denied = play(e, "2026-12-31T17:00:00Z")
    assert not denied.allowed
    assert denied.next_allowed_at == datetime.fromisoformat("2027-01-01T06:00:00+07:00")


# -- status -----------------------------------------------------------------------------------
@pytest.mark.parametrize("status", ["enjoined", "proposed", "repealed"])
def test_a_rule_not_in_force_by_status_is_never_enforced(tmp_path: Path, status: str) -> None:
    e = engine(pack(tmp_path, rules=[{"more": f'status = "{status}"'}]))
    for at in ("2026-01-01T12:00:00Z", "2030-06-01T12:00:00Z"):
        decision = play(e, at)
        assert decision.allowed and decision.remaining_seconds is None


def test_a_pack_enjoined_enforces_none_of_its_rules(tmp_path: Path) -> None:
    e = engine(pack(tmp_path, 'status = "enjoined"\nin_force = { from = "2020-01-01" }'))
    assert play(e, "2026-11-27T12:00:00Z").allowed


# -- explain ---------------------------------------------------------------------------------
def test_explain_lists_rules_not_in_force_and_why(tmp_path: Path) -> None:
    rules = [
        {"id": "enjoined", "more": 'status = "enjoined"'},
        {"id": "future", "more": 'in_force = { from = "2027-01-01" }'},
        {"id": "ended", "more": 'in_force = { until = "2026-01-01" }'},
        {"id": "now", "more": 'in_force = { from = "2026-01-01" }'},
    ]
    e = engine(pack(tmp_path, rules=rules))
    request = {"subject": {"age": 12}, "action": "game.play", "at": "2026-11-27T12:00:00Z"}
    trace = {t.rule: (t.outcome, t.detail) for t in e.explain(request).trace}
    assert trace == {
        "vn/enjoined": ("not_in_force", "status enjoined"),
        "vn/future": ("not_in_force", "in force from 2027-01-01"),
        "vn/ended": ("not_in_force", "not in force since 2026-01-01"),
        "vn/now": ("deny", "`game.play` is closed to band `minor`"),
    }


def test_a_rule_out_of_scope_is_not_applicable_before_not_in_force(tmp_path: Path) -> None:
    e = engine(pack(tmp_path, rules=[{"more": 'status = "proposed"'}]))
    request = {"subject": {"age": 30}, "action": "game.play", "at": "2026-11-27T12:00:00Z"}
    (entry,) = e.explain(request).trace
    assert entry.outcome == "not_applicable"


# -- messages in extra languages -----------------------------------------------------------------
def test_messages_in_declared_languages_reach_the_reason(tmp_path: Path) -> None:
    e = engine(pack(tmp_path, 'languages = ["vi"]', [{"extra": ', vi = "Không được"'}]))
    body = play(e, "2026-11-27T12:00:00Z").model_dump(mode="json")
    assert body["reasons"][0]["messages"] == {"vi": "Không được"}
    assert body["reasons"][0]["message"] == "不可以"
    assert body["reasons"][0]["message_en"] == "Not allowed"


def test_no_extra_languages_no_messages_field(tmp_path: Path) -> None:
    e = engine(pack(tmp_path))
    body = play(e, "2026-11-27T12:00:00Z").model_dump(mode="json")
    assert "messages" not in body["reasons"][0]


# -- policy-level keys as compiled -----------------------------------------------------------
def test_policy_keys_are_compiled(tmp_path: Path) -> None:
    path = pack(
        tmp_path,
        'jurisdiction = "vn"\nlegal_status = "in force since 2024-12-25"\n'
        'languages = ["vi", "pt-BR"]\n'
        '[age_assurance]\nmethods = ["gov_id", "operator"]',
        [{"extra": ', vi = "Không", pt-BR = "Não"'}],
    )
    (policy,) = load_policies([path])
    assert policy.jurisdiction == "VN"
    assert policy.legal_status == "in force since 2024-12-25"
    assert policy.languages == ("vi", "pt-BR")
    assert policy.age_methods == frozenset({"gov_id", "operator"})
    assert policy.status == "in_force"
    assert policy.rules[0].messages == {"vi": "Không", "pt-BR": "Não"}


def test_without_age_assurance_every_method_counts(tmp_path: Path) -> None:
    (policy,) = load_policies([pack(tmp_path)])
    assert policy.age_methods is None and policy.floors == {} and policy.jurisdiction is None


def test_floors_are_compiled_and_a_child_inherits_them(tmp_path: Path) -> None:
    pack(tmp_path, name="tx")
    pack(tmp_path, name="br")
    app = pack(tmp_path, 'floors = { "us-tx" = "tx", "BR" = ["br", "tx"] }', name="app")
    child = tmp_path / "child.toml"
    child.write_text('[policy]\nid = "child"\nversion = "1"\nextends = "app"\n')
    policies = {
        p.id: p for p in load_policies([app, tmp_path / "tx.toml", tmp_path / "br.toml", child])
    }
    assert policies["app"].floors == {"US-TX": ("tx",), "BR": ("br", "tx")}
    assert policies["child"].floors == policies["app"].floors
    assert policies["child"].status == "in_force"


def test_a_child_does_not_inherit_the_parents_dates_but_its_rules_keep_them(
    tmp_path: Path,
) -> None:
    pack(tmp_path, 'in_force = { from = "2027-01-01" }\nstatus = "proposed"', name="law")
    child = tmp_path / "child.toml"
    child.write_text('[policy]\nid = "child"\nversion = "1"\nextends = "law"\n')
    policies = {p.id: p for p in load_policies([tmp_path / "law.toml", child])}
    assert policies["child"].status == "in_force" and policies["child"].in_force_from is None
    # the inherited rule still carries its own pack's word
    assert policies["child"].rules[0].status == "proposed"


# -- `youthmode check` warnings -------------------------------------------------------------------
def codes(problems: list[Any]) -> list[str]:
    return [p.code for p in problems]


def test_check_warns_about_status_ended_and_far_ahead(tmp_path: Path) -> None:
    rules = [
        {"id": "enjoined", "more": 'status = "enjoined"'},
        {"id": "ended", "more": 'in_force = { until = "2026-01-01" }'},
        {"id": "far", "more": 'in_force = { from = "2040-01-01" }'},
        {"id": "soon", "more": 'in_force = { from = "2027-01-01", until = "2030-01-01" }'},
    ]
    policies = load_policies([pack(tmp_path, rules=rules)])
    found = meta_warnings(policies, datetime.fromisoformat("2026-11-27T12:00:00+00:00"))
    assert [(p.code, p.rule, p.severity) for p in found] == [
        ("not_in_force", "enjoined", "warning"),
        ("in_force_ended", "ended", "warning"),
        ("in_force_far_ahead", "far", "warning"),
    ]


def test_check_warns_once_for_a_pack_not_in_force(tmp_path: Path) -> None:
    policies = load_policies([pack(tmp_path, 'status = "proposed"')])
    found = meta_warnings(policies, datetime.fromisoformat("2026-11-27T12:00:00+00:00"))
    assert codes(found) == ["not_in_force"]
    assert found[0].message == "policy `vn` has status `proposed`: none of its rules are enforced"


def test_check_warns_about_a_missing_translation_and_floors_of_floors(tmp_path: Path) -> None:
    pack(tmp_path, 'floors = { "VN" = "app" }', name="law")
    pack(tmp_path, 'floors = { "VN" = "law" }\nlanguages = ["vi"]', name="app")
    _, problems = check_policies([tmp_path])
    assert codes(problems) == ["floor_cycle", "floor_cycle"]
    (tmp_path / "law.toml").unlink()
    pack(tmp_path, 'floors = { "US" = "other" }', name="law")
    pack(tmp_path, name="other")
    policies, problems = check_policies([tmp_path])
    assert problems == []
    found = meta_warnings(policies, datetime.fromisoformat("2026-11-27T12:00:00+00:00"))
    assert codes(found) == ["floor_has_floors", "missing_translation"]


def test_check_exits_zero_on_warnings_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    pack(tmp_path, 'status = "enjoined"')
    status = run_check(argparse.Namespace(paths=[str(tmp_path)], format="text"))
    assert status == 0
    assert "not_in_force" in capsys.readouterr().out


def test_check_warns_about_an_inherited_rule_with_its_own_pack_only(tmp_path: Path) -> None:
    pack(tmp_path, rules=[{"more": 'status = "proposed"'}], name="law")
    child = tmp_path / "child.toml"
    child.write_text('[policy]\nid = "child"\nversion = "1"\nextends = "law"\n')
    policies = load_policies([tmp_path / "law.toml", child])
    found = meta_warnings(policies, datetime.fromisoformat("2026-11-27T12:00:00+00:00"))
    assert [(p.code, p.file) for p in found] == [("not_in_force", str(tmp_path / "law.toml"))]


def test_an_obligation_binds_only_while_in_force(tmp_path: Path) -> None:
    reminder = {
        "id": "rest",
        "kind": "rest_reminder",
        "reason": "rest_reminder",
        "action": "chat.send",
        "more": 'after = "30m"\nin_force = { from = "2027-01-01" }',
    }
    e = engine(pack(tmp_path, rules=[reminder]))

    def obligations(at: str) -> list[str]:
        request = {
            "subject": {"age": 12},
            "action": "chat.send",
            "at": at,
            "usage": {"session_seconds": 3600},
        }
        return [o.type for o in e.decide(request).obligations]

    assert obligations("2026-12-31T12:00:00Z") == []
    assert obligations("2027-01-01T12:00:00Z") == ["rest_reminder"]


def test_an_undeclared_message_key_with_a_bad_value_is_one_problem(tmp_path: Path) -> None:
    path = pack(tmp_path, rules=[{"extra": ", fr = 3"}])
    _, problems = check_policies([path])
    assert [(p.code, p.key) for p in problems] == [("unknown_key", "rules[0].message.fr")]
