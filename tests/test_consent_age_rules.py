"""`require_consent` with `below_age`: consent needed only below an age, fixed or the digital age
of consent of the subject's jurisdiction from the consent-age table (policies/consent_limit.py).

The table is compiled into a dict at load; a subject with no or an unlisted jurisdiction gets
the rule's `fallback_age`; unverified entries are used or refused as the rule says; reasons and
explain name the age and jurisdiction used; check, diff, the digest, a reload and HTTP see it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIGS
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

import youthmode
from youthmode.api import create_app
from youthmode.cli import main
from youthmode.policies import check_policies, consent_ages, consent_limit
from youthmode.server.config import ServerConfig

AT = "2026-12-01T10:00:00+01:00"
TABLE = CONFIGS / "data" / "consent-ages.toml"
OWN_TABLE = """
[ages.FR]
age = 15
source = "Loi 78-17 art. 45"
checked = 2026-12-01
verified = true

[ages.ES]
age = 14
source = "LOPDGDD art. 7"
verified = true

[ages.IT]
age = 14
source = "a secondary source"
verified = false
"""


def policy(rule: str, pid: str = "app") -> str:
    return f"""
[policy]
id = "{pid}"
version = "1"
timezone = "Europe/Paris"

[[bands]]
id = "minor"
from = 0
to = 18

[[bands]]
id = "adult"
from = 18

[catalog.actions."data.process_on_consent"]

[[rules]]
id = "art8"
kind = "require_consent"
bands = ["minor", "unknown"]
actions = ["data.process_on_consent"]
message = {{ zh-CN = "需要监护人同意", en = "A guardian's consent is needed" }}
{rule}
"""


FROM_TABLE = 'below_age = "consent_age"\nfallback_age = 16'


def folder(tmp_path: Path, rule: str, table: str | None = OWN_TABLE, name: str = "p") -> Path:
    where = tmp_path / name
    (where / "data").mkdir(parents=True)
    (where / "app.toml").write_text(policy(rule), encoding="utf-8")
    if table is not None:
        (where / "data" / "consent-ages.toml").write_text(table, encoding="utf-8")
    return where


def ask(engine: youthmode.Engine, age: int | None, where: str | None, **more: Any) -> Any:
    subject: dict[str, Any] = {} if age is None else {"age": age}
    if where is not None:
        subject["jurisdiction"] = where
    return engine.decide(
        {"subject": subject, "action": "data.process_on_consent", "at": AT, **more}
    )


@pytest.mark.parametrize(
    ("age", "where", "allowed", "used"),
    [
        (14, "FR", False, {"age": 15, "jurisdiction": "FR", "fallback": False}),
        (15, "FR", True, None),
        (13, "ES-MD", False, {"age": 14, "jurisdiction": "ES", "fallback": False}),  # its country
        (14, "ES-MD", True, None),
        (15, "IT", False, {"age": 16, "jurisdiction": "IT", "fallback": True}),  # refused
        (15, "DE", False, {"age": 16, "jurisdiction": "DE", "fallback": True}),  # not in the table
        (15, None, False, {"age": 16, "jurisdiction": None, "fallback": True}),  # no jurisdiction
        (16, None, True, None),
        (None, "FR", False, {"age": 15, "jurisdiction": "FR", "fallback": False}),  # unknown age
        (30, "FR", True, None),
    ],
)
def test_the_age_of_the_subjects_jurisdiction_decides(
    tmp_path: Path, age: int | None, where: str | None, allowed: bool, used: dict[str, Any] | None
) -> None:
    engine = youthmode.Engine.from_path(folder(tmp_path, FROM_TABLE))
    decision = ask(engine, age, where)
    assert decision.allowed is allowed
    if used is None:
        assert decision.reasons == []
        return
    (reason,) = decision.model_dump(mode="json")["reasons"]
    assert reason["code"] == "guardian_consent_required"
    assert {k: reason["consent_age"][k] for k in used} == used
    assert decision.remedies[0].type == "guardian_consent"


def test_a_guardians_consent_lifts_it(tmp_path: Path) -> None:
    engine = youthmode.Engine.from_path(folder(tmp_path, FROM_TABLE))
    consented = ask(engine, 14, "FR", guardian={"consents": ["data.process_on_consent"]})
    assert consented.allowed


def test_the_reason_names_the_source_and_explain_the_age(tmp_path: Path) -> None:
    engine = youthmode.Engine.from_path(folder(tmp_path, FROM_TABLE))
    body = ask(engine, 14, "FR").model_dump(mode="json")
    assert body["reasons"][0]["consent_age"] == {
        "age": 15,
        "jurisdiction": "FR",
        "fallback": False,
        "source": "Loi 78-17 art. 45",
        "verified": True,
    }
    request = {"subject": {"age": 14, "jurisdiction": "FR"}, "action": "data.process_on_consent"}
    trace = engine.explain({**request, "at": AT}).model_dump(mode="json")["trace"]
    assert trace[0]["detail"] == (
        "age 14 is under the consent age 15 (in FR: consent-age table, verified): subject has "
        "no guardian consent `data.process_on_consent`"
    )
    request["subject"] = {"age": 16}
    trace = engine.explain({**request, "at": AT}).model_dump(mode="json")["trace"]
    assert trace[0]["outcome"] == "pass"
    assert trace[0]["detail"].startswith(
        "age 16 is at or above the consent age 16 (with no jurisdiction: the rule's fallback_age)"
    )


def test_unverified_entries_used_when_the_rule_says_so(tmp_path: Path) -> None:
    rule = FROM_TABLE + '\nunverified_ages = "use"'
    engine = youthmode.Engine.from_path(folder(tmp_path, rule))
    assert ask(engine, 14, "IT").allowed
    used = ask(engine, 13, "IT").model_dump(mode="json")["reasons"][0]["consent_age"]
    assert used == {
        "age": 14,
        "jurisdiction": "IT",
        "fallback": False,
        "source": "a secondary source",
        "verified": False,
    }


def test_a_fixed_age_needs_no_table(tmp_path: Path) -> None:
    engine = youthmode.Engine.from_path(folder(tmp_path, "below_age = 13", table=None))
    assert not ask(engine, 12, "FR").allowed
    assert ask(engine, 13, "FR").allowed
    request = {"subject": {"age": 12}, "action": "data.process_on_consent", "at": AT}
    detail = engine.explain(request).model_dump(mode="json")["trace"][0]["detail"]
    assert detail.startswith("age 12 is under the consent age 13 (the rule's below_age)")
    used = ask(engine, 12, None).model_dump(mode="json")["reasons"][0]["consent_age"]
    assert used == {
        "age": 13,
        "jurisdiction": None,
        "fallback": True,
        "source": None,
        "verified": None,
    }


def test_the_birthday_that_reaches_the_age_is_the_next_allowed_instant(tmp_path: Path) -> None:
    engine = youthmode.Engine.from_path(folder(tmp_path, FROM_TABLE))
    request = {
        "subject": {"birthdate": "2011-12-03", "jurisdiction": "FR"},
        "action": "data.process_on_consent",
        "at": AT,
    }
    decision = engine.decide(request)
    assert not decision.allowed
    assert decision.next_allowed_at is not None
    assert decision.next_allowed_at.isoformat() == "2026-12-04T00:00:00+01:00"  # next_day


def test_a_rule_without_below_age_asks_at_every_age(tmp_path: Path) -> None:
    engine = youthmode.Engine.from_path(folder(tmp_path, ""))
    assert not ask(engine, 17, "FR").allowed
    assert "consent_age" not in ask(engine, 17, "FR").model_dump(mode="json")["reasons"][0]


# -- checking ------------------------------------------------------------------------------------
def problems_of(tmp_path: Path, rule: str, table: str | None = OWN_TABLE) -> list[str]:
    _, problems = check_policies([folder(tmp_path, rule, table)])
    return [f"{p.code}: {p.message} @ {p.key}" for p in problems if p.severity == "error"]


@pytest.mark.parametrize("value", ["true", "13.5", '["consent_age"]'])
def test_a_below_age_of_another_type_is_one_error(tmp_path: Path, value: str) -> None:
    shown = {"true": "true", "13.5": "13.5", '["consent_age"]': "['consent_age']"}[value]
    assert problems_of(tmp_path, f"below_age = {value}") == [
        f'invalid_value: `below_age` must be an age from 1 to 150 or "consent_age", not `{shown}` '
        "@ rules[0].below_age"
    ]


def test_an_override_that_bounds_consent_by_age_loosens(tmp_path: Path) -> None:
    """Asking consent only below an age lets older minors through: a `loosened_rule` unless
    the override says why."""
    base = folder(tmp_path, "")
    child = policy(FROM_TABLE, pid="child").replace(
        'version = "1"', 'version = "1"\nextends = "app"'
    )
    child = child[: child.index("[[bands]]")] + child[child.index("[[rules]]") :]
    child = child.replace('kind = "require_consent"', 'kind = "require_consent"\noverride = true')
    (base / "child.toml").write_text(child, encoding="utf-8")
    _, problems = check_policies([base])
    (found,) = [p for p in problems if p.code == "loosened_rule"]
    assert "asks for consent below another age" in found.message


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            'below_age = "consent_age"',
            "missing_key: rule `art8` reads the digital age of consent but has no "
            "`fallback_age`: the age for a subject whose jurisdiction is absent or not in the "
            "table @ rules[0]",
        ),
        (
            "below_age = 13\nfallback_age = 16",
            "invalid_value: `fallback_age` of rule `art8` counts only with below_age = "
            '"consent_age" @ rules[0].fallback_age',
        ),
        (
            'unverified_ages = "use"',
            "invalid_value: `unverified_ages` of rule `art8` counts only with below_age = "
            '"consent_age" @ rules[0].unverified_ages',
        ),
        (
            'below_age = "consent-age"\nfallback_age = 16',
            "invalid_value: `below_age` of rule `art8` must be an age from 1 to 150 or "
            '"consent_age", not `consent-age` @ rules[0].below_age',
        ),
        (
            "below_age = 0",
            "invalid_value: `below_age` of rule `art8` must be an age from 1 to 150 or "
            '"consent_age", not `0` @ rules[0].below_age',
        ),
    ],
)
def test_misused_keys_are_errors_at_the_key(tmp_path: Path, rule: str, expected: str) -> None:
    assert problems_of(tmp_path, rule) == [expected]


def test_a_broken_table_is_an_error_of_the_rule(tmp_path: Path) -> None:
    found = problems_of(tmp_path, FROM_TABLE, table="[ages.FR]\nage = 40\nsource = 'x'\n")
    assert len(found) == 1
    assert (
        found[0].startswith("invalid_value: rule `art8` reads the consent-age table ")
        and "which has 1 error:" in found[0]
        and "must be a whole number from 13 to 18" in found[0]
    )


def test_without_a_table_beside_it_reads_the_shipped_one_or_says_there_is_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = youthmode.Engine.from_path(folder(tmp_path, FROM_TABLE, table=None))
    used = ask(engine, 14, "FR").model_dump(mode="json")["reasons"][0]["consent_age"]
    assert used["age"] == consent_ages.load(TABLE)["FR"].age and used["fallback"] is False
    monkeypatch.setattr(consent_limit, "shipped_consent_table", lambda: None)
    (found,) = problems_of(tmp_path / "again", FROM_TABLE, table=None)
    assert "reads the digital age of consent, but there is no table at" in found
    assert found.endswith("@ rules[0].below_age")


def test_check_says_which_entries_each_rule_used_and_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = folder(tmp_path, FROM_TABLE)
    assert main(["check", str(where)]) == 0
    out = capsys.readouterr().out
    assert (
        f"consent age: app/art8: 2 jurisdictions from {where}/data/consent-ages.toml, "
        "fallback_age 16 elsewhere; unverified entries refused (fallback there): IT"
    ) in out
    assert main(["check", str(where), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["consent_ages"]["app/art8"].endswith("refused (fallback there): IT")


def test_the_table_is_part_of_the_digest(tmp_path: Path) -> None:
    where = folder(tmp_path, FROM_TABLE)
    before = youthmode.Engine.from_path(where).policies["app"].digest
    table = where / "data" / "consent-ages.toml"
    table.write_text(OWN_TABLE.replace("age = 15", "age = 16"), encoding="utf-8")
    after = youthmode.Engine.from_path(where)
    assert after.policies["app"].digest != before
    assert not ask(after, 15, "FR").allowed  # the new figure, read at the new load


# -- the shipped packs, every entry of the table ---------------------------------------------
def test_for_every_jurisdiction_of_the_table_below_its_age_needs_consent(tmp_path: Path) -> None:
    """Every entry of the shipped table, verified or not (a rule that uses them all), at every
    age from 0 to 20: consent needed exactly below the entry's age."""
    where = tmp_path / "all"
    (where / "data").mkdir(parents=True)
    shutil.copy(TABLE, where / "data")
    rule = FROM_TABLE + '\nunverified_ages = "use"'
    (where / "app.toml").write_text(policy(rule), encoding="utf-8")
    engine = youthmode.Engine.from_path(where)
    table = consent_ages.load(TABLE)
    assert len(table) >= 10
    for code, entry in table.items():
        for age in range(21):
            decision = ask(engine, age, code)
            assert decision.allowed is (age >= entry.age), (code, age)
            if not decision.allowed:
                used = decision.model_dump(mode="json")["reasons"][0]["consent_age"]
                assert (used["jurisdiction"], used["age"]) == (code, entry.age)


@settings(max_examples=150, deadline=None)
@given(
    code=st.sampled_from(sorted(consent_ages.load(TABLE))),
    age=st.integers(min_value=0, max_value=17),
    subdivision=st.booleans(),
)
def test_eu_dsa28_follows_the_verified_entries_and_16_elsewhere(
    eu_engine: youthmode.Engine, code: str, age: int, subdivision: bool
) -> None:
    entry = consent_ages.load(TABLE)[code]
    expected_age = entry.age if entry.verified else 16
    where = {"FR": "FR-75C", "ES": "ES-MD", "DE": "DE-BY"}.get(code, code) if subdivision else code
    request = {
        "policy": "eu-dsa28",
        "subject": {"age": age, "jurisdiction": where},
        "action": "data.process_on_consent",
        "at": AT,
    }
    assert eu_engine.decide(request).allowed is (age >= expected_age)


@pytest.fixture(scope="module")
def eu_engine() -> youthmode.Engine:
    return youthmode.Engine.from_path(CONFIGS)


# -- diff --------------------------------------------------------------------------------------
def test_diff_finds_the_ages_and_jurisdictions_a_consent_age_frees(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = folder(tmp_path, "", name="old") / "app.toml"
    new = folder(tmp_path, FROM_TABLE, name="new") / "app.toml"
    code = main(["diff", str(old), str(new), "--format", "json", "--year", "2026"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    found = [r for c in report["comparisons"] for r in c["regions"]]
    assert found and all(r["confirmed"] for r in found)
    for region in found:
        assert (region["old"]["effect"], region["new"]["effect"]) == ("deny", "allow")
    freed = {
        (j, a) for r in found for j in r["conditions"].get("jurisdiction", ["*"]) for a in r["ages"]
    }
    # ES from 14, FR from 15, everyone from 16 (the fallback); IT's unverified 14 is refused
    assert freed == {("ES", 14), ("ES", 15), ("FR", 15), ("*", 16)}


# -- over HTTP -------------------------------------------------------------------------------
@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    config = ServerConfig(
        policies=str(folder(tmp_path, FROM_TABLE)),
        state_dir=str(tmp_path / "state"),
        decision_log=str(tmp_path / "decisions.jsonl"),
        log_key="test-key",
        store="off",
    )
    return create_app(config).test_client()


def test_the_consent_age_used_comes_out_over_http(client: FlaskClient, tmp_path: Path) -> None:
    request = {
        "subject": {"age": 14, "jurisdiction": "fr"},
        "action": "data.process_on_consent",
        "at": AT,
    }
    response = client.post("/v1/decisions", json=request)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["effect"] == "deny"
    assert body["reasons"][0]["consent_age"] == {
        "age": 15,
        "jurisdiction": "FR",
        "fallback": False,
        "source": "Loi 78-17 art. 45",
        "verified": True,
    }
    request["subject"] = {"age": 15, "jurisdiction": "FR"}
    assert client.post("/v1/decisions", json=request).get_json()["effect"] == "allow"
    spec = client.get("/openapi.json").get_json()
    assert "consent_age" in json.dumps(spec["components"]["schemas"]["Reason"])
