"""The world packs' rule kinds (CONTRACT section 6) at their boundaries, through the engine:
`minimum_age`, `require_age_assurance`, `require_app_consent`, `require_guardian_link`,
`weekly_budget`, `daily_budget` with `per = "app"` and `rest_reminder` with `from`. Each test
writes its own small pack (the world packs' `[policy]` keys belong elsewhere)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import youthmode
from youthmode.authoring import dimensions
from youthmode.authoring.domain import Domain
from youthmode.authoring.loading import load_set
from youthmode.calendar import Calendar
from youthmode.facts import NO_GUARDIAN, NO_USAGE, Moment, request_facts
from youthmode.policies import check_policies, kinds, rules_world
from youthmode.policies.rules_world import AgeAssuranceRule, AppConsentRule, MinimumAgeRule

HEAD = """[policy]
id = "w"
version = "1"
timezone = "{zone}"

[[bands]]
id = "under-16"
from = 0
to = 16

[[bands]]
id = "16-18"
from = 16
to = 18

[[bands]]
id = "adult"
from = 18

[groups]
minors = ["under-16", "16-18"]

[catalog.actions."game.play"]
metered = true

[catalog.actions."app.use"]
metered = true

[catalog.actions."account.create"]
"""
MESSAGE = 'message = { zh-CN = "不可以", en = "Not allowed" }\n'
VN = "Asia/Ho_Chi_Minh"  # UTC+7
SP = "America/Sao_Paulo"  # UTC-3


def pack(tmp_path: Path, rules: str, zone: str = VN) -> youthmode.Engine:
    (tmp_path / "w.toml").write_text(HEAD.format(zone=zone) + rules, encoding="utf-8")
    return youthmode.Engine.from_path(tmp_path)


def rule(rule_id: str, kind: str, keys: str, bands: str = '["*"]', actions: str = '["*"]') -> str:
    return (
        f'\n[[rules]]\nid = "{rule_id}"\nkind = "{kind}"\nbands = {bands}\n'
        f"actions = {actions}\n{MESSAGE}{keys}\n"
    )


def decide(engine: youthmode.Engine, **request: Any) -> dict[str, Any]:
    out: dict[str, Any] = engine.decide(request).model_dump(mode="json")
    return out


def codes(decision: dict[str, Any]) -> list[str]:
    return [r["code"] for r in decision["reasons"]]


# -- daily_budget per = "app" -------------------------------------------------------------------
PER_APP = rule(
    "per-game", "daily_budget", 'per = "app"\nlimit = "60m"', '["minors"]', '["game.play"]'
)
ALL_GAMES = rule("all-games", "daily_budget", 'limit = "180m"', '["minors"]', '["game.play"]')


def play(
    engine: youthmode.Engine, at: str, app: int, today: int = 0, **more: Any
) -> dict[str, Any]:
    usage = {"app_today_seconds": app, "today_seconds": today}
    return decide(
        engine,
        subject={"age": 12},
        action="game.play",
        at=at,
        usage=usage,
        resource={"app": "vn.example.game"},
        **more,
    )


def test_per_app_budget_at_its_limit(tmp_path: Path) -> None:
    engine = pack(tmp_path, PER_APP + ALL_GAMES)
    allowed = play(engine, "2026-12-01T10:00:00+07:00", 3599, 3599)
    assert allowed["effect"] == "allow" and allowed["remaining_seconds"] == 1
    denied = play(engine, "2026-12-01T10:00:00+07:00", 3600, 3600)
    assert codes(denied) == ["app_daily_limit"]
    assert denied["reasons"][0]["rule"] == "w/per-game"
    assert denied["next_allowed_at"] == "2026-12-02T00:00:00+07:00"  # the local midnight
    assert denied["remedies"] == [{"type": "wait", "until": "2026-12-02T00:00:00+07:00"}]


def test_per_app_and_subject_budgets_count_down_together(tmp_path: Path) -> None:
    engine = pack(tmp_path, PER_APP + ALL_GAMES)
    # the app's 600 s left before the subject's 1800 s; then the other way round
    assert play(engine, "2026-12-01T10:00:00+07:00", 3000, 9000)["remaining_seconds"] == 600
    assert play(engine, "2026-12-01T10:00:00+07:00", 0, 9000)["remaining_seconds"] == 1800
    # a new app of the same subject: its own budget again, the subject's still counts
    assert play(engine, "2026-12-01T10:00:00+07:00", 0, 7200)["remaining_seconds"] == 3600
    # the app's budget ends at midnight, when it resets: 600 s today and 3600 s tomorrow
    assert play(engine, "2026-12-01T23:50:00+07:00", 3000, 3000)["remaining_seconds"] == 4200
    assert play(engine, "2026-12-01T23:59:59+07:00", 3599, 3599)["remaining_seconds"] == 3601


def test_per_app_budget_of_a_request_naming_no_app(tmp_path: Path) -> None:
    """Not denied for want of `resource.app`: it counts `app_today_seconds` as sent."""
    engine = pack(tmp_path, PER_APP)
    at = "2026-12-01T10:00:00+07:00"
    for sent, effect, left in (({}, "allow", 3600), ({"app_today_seconds": 3600}, "deny", None)):
        found = decide(engine, subject={"age": 12}, action="game.play", at=at, usage=sent)
        assert (found["effect"], found["remaining_seconds"]) == (effect, left)


def test_a_subject_budget_is_what_it_was(tmp_path: Path) -> None:
    """`per` left out: today's use of the subject, as before; the app's use is not read."""
    engine = pack(tmp_path, ALL_GAMES)
    found = play(engine, "2026-12-01T10:00:00+07:00", 20000, 10799)
    assert found["effect"] == "allow" and found["remaining_seconds"] == 1
    assert codes(play(engine, "2026-12-01T10:00:00+07:00", 0, 10800)) == ["daily_limit"]


# -- weekly_budget ------------------------------------------------------------------------------
WEEKLY = rule("weekly", "weekly_budget", 'limit = "10h"\nwaivable = true', '["minors"]')


def use(engine: youthmode.Engine, at: str, week: int, **more: Any) -> dict[str, Any]:
    usage = {"week_seconds": week}
    return decide(engine, subject={"age": 12}, action="app.use", at=at, usage=usage, **more)


def test_weekly_budget_at_its_limit_and_the_local_monday(tmp_path: Path) -> None:
    engine = pack(tmp_path, WEEKLY, zone=SP)
    sunday = "2026-12-06T23:00:00-03:00"  # Sunday in São Paulo, Monday 02:00 UTC
    allowed = use(engine, sunday, 35999)
    assert allowed["effect"] == "allow" and allowed["remaining_seconds"] == 1
    denied = use(engine, sunday, 36000)
    assert codes(denied) == ["weekly_limit"]
    # the week resets at the local Monday 00:00, not at UTC's
    assert denied["next_allowed_at"] == "2026-12-07T00:00:00-03:00"
    # a used-up week on a Tuesday: the next local Monday
    assert use(engine, "2026-12-01T10:00:00-03:00", 36000)["next_allowed_at"] == (
        "2026-12-07T00:00:00-03:00"
    )


def test_weekly_budget_counts_down_across_the_monday(tmp_path: Path) -> None:
    engine = pack(tmp_path, WEEKLY, zone=SP)
    # 600 s to the local Monday 00:00, where the week resets, then a fresh 10 h
    assert use(engine, "2026-12-06T23:50:00-03:00", 35400)["remaining_seconds"] == 600 + 36000
    # within a week: midnights pass, the week's use does not reset
    assert use(engine, "2026-12-02T23:50:00-03:00", 35000)["remaining_seconds"] == 1000


def test_weekly_budget_is_waivable(tmp_path: Path) -> None:
    engine = pack(tmp_path, WEEKLY, zone=SP)
    denied = use(engine, "2026-12-02T10:00:00-03:00", 36000)
    assert {"type": "guardian_waiver", "code": "weekly_limit"} in denied["remedies"]
    waived = use(
        engine, "2026-12-02T10:00:00-03:00", 36000, guardian={"exemptions": ["weekly_limit"]}
    )
    assert waived["effect"] == "allow"


# -- minimum_age --------------------------------------------------------------------------------
MINIMUM = rule("minimum-age-16", "minimum_age", "age = 16", actions='["account.create"]')
AT = "2026-12-01T10:00:00+07:00"


def create(engine: youthmode.Engine, subject: dict[str, Any], **more: Any) -> dict[str, Any]:
    return decide(engine, subject=subject, action="account.create", at=AT, **more)


def test_minimum_age_at_its_age(tmp_path: Path) -> None:
    engine = pack(tmp_path, MINIMUM)
    young = create(engine, {"age": 15})
    assert codes(young) == ["minimum_age"]
    assert young["remedies"] == [] and young["next_allowed_at"] is None
    assert create(engine, {"age": 16})["effect"] == "allow"


def test_minimum_age_of_an_unknown_age_asks_for_assurance(tmp_path: Path) -> None:
    engine = pack(tmp_path, MINIMUM)
    unknown = create(engine, {})
    assert codes(unknown) == ["age_assurance_required"]
    assert unknown["reasons"][0]["rule"] == "w/minimum-age-16"
    assert unknown["remedies"] == [{"type": "verify_age", "at_least": 16}]
    assert unknown["band"] == "unknown" and unknown["next_allowed_at"] is None


def test_no_guardian_setting_lifts_a_minimum_age(tmp_path: Path) -> None:
    engine = pack(tmp_path, MINIMUM)
    guardian = {
        "consents": ["account.create"],
        "exemptions": ["minimum_age", "minimum-age-16", "age_assurance_required"],
        "app_consent": "approved",
        "linked": True,
    }
    assert codes(create(engine, {"age": 15}, guardian=guardian)) == ["minimum_age"]
    assert codes(create(engine, {}, guardian=guardian)) == ["age_assurance_required"]


def test_minimum_age_waits_for_the_birthday(tmp_path: Path) -> None:
    engine = pack(tmp_path, MINIMUM)
    # born 2010-12-05: 16 from 2026-12-06 under `next_day` (the default rollover)
    found = create(engine, {"birthdate": "2010-12-05"})
    assert codes(found) == ["minimum_age"]
    assert found["next_allowed_at"] == "2026-12-06T00:00:00+07:00"


def facts(age_method: str | None, **world: Any) -> Any:
    base = request_facts("account.create", False, (False, None, 0), {}, NO_USAGE, NO_GUARDIAN, None)
    return dataclasses.replace(base, age_method=age_method, **world)


def moment(age: int | None) -> Moment:
    local = datetime(2026, 12, 1, 10, tzinfo=ZoneInfo(VN))
    m = Moment(int(local.timestamp()), local, Calendar(None))
    m.age = age
    return m


def compiled_rules(tmp_path: Path, rules: str) -> dict[str, Any]:
    (tmp_path / "w.toml").write_text(HEAD.format(zone=VN) + rules, encoding="utf-8")
    policies, problems = check_policies([tmp_path])
    assert problems == []
    return {r.id: r for r in policies[0].rules}


@pytest.mark.parametrize(
    ("age", "method", "code"),
    [
        (15, "gov_id", "minimum_age"),
        (16, "gov_id", None),
        (16, "operator", None),
        (16, "self_declared", "age_assurance_required"),  # old enough, but not so shown
        (15, "self_declared", "age_assurance_required"),
        (16, None, None),  # subject.age: the operator vouches for it (CONTRACT section 6)
        (None, None, "age_assurance_required"),
    ],
)
def test_minimum_age_with_methods(
    tmp_path: Path, age: int | None, method: str | None, code: str | None
) -> None:
    keys = 'age = 16\nmethods = ["gov_id", "operator"]'
    found = compiled_rules(tmp_path, rule("min", "minimum_age", keys))["min"]
    assert isinstance(found, MinimumAgeRule)
    m, r = moment(age), facts(method)
    assert found.denies(m, r) == (code is not None)
    if code is not None:
        denied = found.denied(m, r)
        assert denied.code == code and denied.ref == found.ref
        remedy = kinds.kind_of(found).remedy(denied, r)
        if code == "age_assurance_required":
            assert remedy == {
                "type": "verify_age",
                "at_least": 16,
                "methods": ["gov_id", "operator"],
            }
        else:
            assert remedy is None
    assert found.explain(m, r)


# -- require_age_assurance ----------------------------------------------------------------------
def test_age_assurance(tmp_path: Path) -> None:
    engine = pack(tmp_path, rule("assured", "require_age_assurance", "at_least = 13"))
    unknown = decide(engine, subject={}, action="app.use", at=AT)
    assert codes(unknown) == ["age_assurance_required"]
    assert unknown["remedies"] == [{"type": "verify_age", "at_least": 13}]
    assert unknown["next_allowed_at"] is None
    assert decide(engine, subject={"age": 9}, action="app.use", at=AT)["effect"] == "allow"


@pytest.mark.parametrize(
    ("age", "method", "denies"),
    [(14, "estimation", False), (14, "self_declared", True), (None, None, True), (14, None, True)],
)
def test_age_assurance_with_methods(
    tmp_path: Path, age: int | None, method: str | None, denies: bool
) -> None:
    keys = 'methods = ["estimation", "gov_id"]'
    found = compiled_rules(tmp_path, rule("assured", "require_age_assurance", keys))["assured"]
    assert isinstance(found, AgeAssuranceRule)
    assert found.denies(moment(age), facts(method)) == denies
    remedy = kinds.kind_of(found).remedy(found, facts(method))
    assert remedy == {"type": "verify_age", "methods": ["estimation", "gov_id"]}


# -- require_app_consent, require_guardian_link -------------------------------------------------
APP_CONSENT = rule("app-consent", "require_app_consent", "", '["minors"]')


@pytest.mark.parametrize(
    ("consent", "code"),
    [
        ("approved", None),
        ("revoked", "consent_revoked"),
        ("pending", "guardian_consent_required"),
        ("denied", "guardian_consent_required"),
        (None, "guardian_consent_required"),
    ],
)
def test_app_consent(tmp_path: Path, consent: str | None, code: str | None) -> None:
    engine = pack(tmp_path, APP_CONSENT)
    guardian = {} if consent is None else {"app_consent": consent}
    found = decide(engine, subject={"age": 12}, action="app.use", at=AT, guardian=guardian)
    assert codes(found) == ([code] if code else [])
    if code:
        assert found["remedies"] == [{"type": "guardian_consent"}]
        assert found["reasons"][0]["rule"] == "w/app-consent"
        assert found["next_allowed_at"] is None
    adult = decide(engine, subject={"age": 30}, action="app.use", at=AT, guardian=guardian)
    assert adult["effect"] == "allow"


def test_app_consent_reports_revoked_in_explanations(tmp_path: Path) -> None:
    found = compiled_rules(tmp_path, APP_CONSENT)["app-consent"]
    assert isinstance(found, AppConsentRule)
    assert "revoked" in found.explain(moment(12), facts(None, app_consent="revoked"))


def test_guardian_link(tmp_path: Path) -> None:
    engine = pack(tmp_path, rule("link", "require_guardian_link", "", '["under-16"]'))
    for linked, effect in ((True, "allow"), (False, "deny")):
        found = create(engine, {"age": 15}, guardian={"linked": linked})
        assert found["effect"] == effect
    unlinked = create(engine, {"age": 15})
    assert codes(unlinked) == ["guardian_link_required"]
    assert unlinked["remedies"] == [{"type": "guardian_link"}]
    assert create(engine, {"age": 16})["effect"] == "allow"


# -- rest_reminder from -------------------------------------------------------------------------
def test_rest_reminder_from_is_inclusive(tmp_path: Path) -> None:
    keys = 'reason = "health_warning"\nfrom = "30m"'
    engine = pack(tmp_path, rule("hw", "rest_reminder", keys, '["minors"]', '["game.play"]'))
    for session, due in ((1799, []), (1800, ["health_warning"]), (5400, ["health_warning"])):
        found = decide(
            engine,
            subject={"age": 12},
            action="game.play",
            at=AT,
            usage={"session_seconds": session},
        )
        assert [o["type"] for o in found["obligations"]] == due


def test_rest_reminder_after_is_still_exclusive(tmp_path: Path) -> None:
    engine = pack(tmp_path, rule("rest", "rest_reminder", 'after = "30m"', '["minors"]'))
    for session, due in ((1800, []), (1801, ["rest_reminder"])):
        usage = {"session_seconds": session}
        found = decide(engine, subject={"age": 12}, action="app.use", at=AT, usage=usage)
        assert [o["type"] for o in found["obligations"]] == due


# -- explanations and the analysis hook ---------------------------------------------------------
def test_explain_names_the_code_it_denies_with(tmp_path: Path) -> None:
    engine = pack(tmp_path, MINIMUM + APP_CONSENT)
    request = {"subject": {}, "action": "account.create", "at": AT}
    explained = engine.explain(request).model_dump(mode="json")
    assert [r["code"] for r in explained["decision"]["reasons"]] == ["age_assurance_required"]
    traced = {t["rule"]: t for t in explained["trace"]}
    assert traced["w/minimum-age-16"]["code"] == "age_assurance_required"
    assert traced["w/minimum-age-16"]["outcome"] == "deny"
    assert "age unknown" in traced["w/minimum-age-16"]["detail"]
    assert traced["w/app-consent"]["outcome"] == "not_applicable"  # `unknown` is no minor band
    revoked = {"subject": {"age": 12}, "action": "app.use", "at": AT}
    revoked["guardian"] = {"app_consent": "revoked"}
    trace = engine.explain(revoked).model_dump(mode="json")["trace"]
    assert [(t["code"], t["outcome"]) for t in trace if t["rule"] == "w/app-consent"] == [
        ("consent_revoked", "deny")
    ]


def test_the_diff_domain_varies_the_world_facts_and_refuses_methods(tmp_path: Path) -> None:
    rules = compiled_rules(
        tmp_path,
        MINIMUM
        + APP_CONSENT
        + PER_APP
        + WEEKLY
        + rule("link", "require_guardian_link", "")
        + rule("m", "minimum_age", 'age = 13\nmethods = ["gov_id"]'),
    )
    known = [r for r in rules.values() if r.id != "m"]
    dimensions.check_known(known)
    assert dimensions.todays(known, "app_today") == [0, 3599, 3600]
    assert dimensions.weeks(known) == [0, 35999, 36000]
    assert dimensions.app_consents(known) == [None, "approved", "revoked"]
    assert dimensions.links(known) == [False, True]
    assert dimensions.minimum_ages(rules.values()) == {13, 16}
    with pytest.raises(dimensions.UnvariedFact, match="names the age methods"):
        dimensions.check_known([rules["m"]])


def test_the_diff_domain_agrees_with_the_engine_on_the_world_kinds(tmp_path: Path) -> None:
    """Every point of a diff of two packs using the world kinds, decided by the engine."""
    old_rules = (
        MINIMUM
        + APP_CONSENT
        + PER_APP
        + WEEKLY
        + rule("link", "require_guardian_link", "", '["under-16"]', '["account.create"]')
    )
    new_rules = old_rules.replace("age = 16", "age = 13").replace('limit = "60m"', 'limit = "90m"')
    paths = []
    for name, rules in (("old", old_rules), ("new", new_rules)):
        folder = tmp_path / name
        folder.mkdir()
        text = HEAD.format(zone=VN).replace('id = "w"', f'id = "{name}"') + rules
        (folder / f"{name}.toml").write_text(text, encoding="utf-8")
        paths.append(folder / f"{name}.toml")
    loaded = load_set(paths)
    old, new = loaded.policies["old"], loaded.policies["new"]
    domain = Domain([old, new], years=[2026])
    assert {13, 16} <= set(domain.ages)
    hits = list(domain.run(lambda sigs: True))
    engine = youthmode.Engine(loaded.policies.values())
    seen: set[str] = set()
    for hit in hits:
        for policy, sig in zip((old, new), hit.signatures, strict=True):
            decision = engine.decide(hit.request(domain.zone, policy.id))
            assert (decision.allowed, tuple(decision.reason_codes)) == sig[:2], hit.labels()
            seen.update(decision.reason_codes)
    assert {
        "minimum_age",
        "age_assurance_required",
        "consent_revoked",
        "guardian_consent_required",
        "guardian_link_required",
        "app_daily_limit",
        "weekly_limit",
    } <= seen
    differences = [h for h in hits if h.signatures[0] != h.signatures[1]]
    # the minimum age moved from 16 to 13: ages 13 to 15 (13 stands for them) differ by it
    moved = [h for h in differences if "minimum_age" in h.signatures[0][1]]
    assert {h.unit.age for h in moved} == {13}


def test_the_remedy_names_the_policys_methods_when_the_rule_names_none(tmp_path: Path) -> None:
    rules = compiled_rules(
        tmp_path, MINIMUM + rule("own", "minimum_age", 'age = 13\nmethods = ["gov_id"]')
    )
    accepted = ("estimation", "gov_id", "operator")
    given = rules_world.with_policy_methods(tuple(rules.values()), accepted)
    by_id = {r.id: r for r in given}
    unknown = facts(None)
    remedies = {
        i: kinds.kind_of(r).remedy(r.denied(moment(None), unknown), unknown)
        for i, r in by_id.items()
    }
    assert remedies == {
        "minimum-age-16": {"type": "verify_age", "at_least": 16, "methods": list(accepted)},
        "own": {"type": "verify_age", "at_least": 13, "methods": ["gov_id"]},  # its own
    }
    assert rules_world.with_policy_methods(given, None) == given
