"""`youthmode schema`: the JSON Schema of policy files, and the copies shipped in docs/."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from youthmode.authoring.jsonschema import (
    DATE_OR_RANGE,
    DURATION,
    MONEY,
    TIME_OF_DAY,
    policy_schema,
    policy_tests_schema,
    render,
)
from youthmode.authoring.testing import jsonable
from youthmode.cli import main
from youthmode.units import UnitError, parse_duration, parse_money, parse_time_of_day

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def schema_output(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["schema", *argv]) == 0
    return capsys.readouterr().out


def test_shipped_policy_schema_is_the_commands_output(
    capsys: pytest.CaptureFixture[str],
) -> None:
    shipped = (DOCS / "policy.schema.json").read_text(encoding="utf-8")
    assert schema_output(capsys) == shipped, (
        "docs/policy.schema.json is stale: run `youthmode schema -o docs/policy.schema.json`"
    )


def test_shipped_test_file_schema_is_the_commands_output(
    capsys: pytest.CaptureFixture[str],
) -> None:
    shipped = (DOCS / "policy-test.schema.json").read_text(encoding="utf-8")
    assert schema_output(capsys, "--tests") == shipped, (
        "docs/policy-test.schema.json is stale: "
        "run `youthmode schema --tests -o docs/policy-test.schema.json`"
    )


def test_output_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "policy.schema.json"
    assert main(["schema", "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render(policy_schema())
    assert capsys.readouterr().err == f"wrote {target}\n"


def test_draft_and_toml_shape() -> None:
    schema = policy_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["policy"]
    text = render(schema)
    assert "null" not in text  # TOML has no null
    assert '"const"' not in text  # `enum` is read the same by every draft
    rules = schema["$defs"]
    assert rules["DailyBudgetRule"]["properties"]["limit"]["type"] == "string"
    assert rules["SpendingCapRule"]["properties"]["max"]["anyOf"][0]["type"] == "string"
    between = rules["Window"]["properties"]["between"]
    assert between["items"]["type"] == "string"
    assert (between["minItems"], between["maxItems"]) == (2, 2)
    assert "friday" not in rules["Window"]["properties"]["days"]["items"]["enum"]


@pytest.mark.parametrize("text", ["40m", "2h", "1h30m", "90s", " 1h 30m "])
def test_duration_pattern_accepts_durations(text: str) -> None:
    parse_duration(text)
    assert re.search(DURATION["pattern"], text)


@pytest.mark.parametrize("text", ["40", "1.5h", "h", "40 minutes", ""])
def test_duration_pattern_refuses_what_the_loader_refuses(text: str) -> None:
    with pytest.raises(UnitError):
        parse_duration(text)
    assert not re.search(DURATION["pattern"], text)


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("22:00", True),
        ("7:30", True),
        ("21:59:30", True),
        ("24:00", True),
        ("00:00", True),
        ("24:01", False),
        ("25:00", False),
        ("21:60", False),
        ("9pm", False),
        ("2200", False),
    ],
)
def test_time_pattern_agrees_with_the_loader(text: str, valid: bool) -> None:
    try:
        parse_time_of_day(text)
        parsed = True
    except UnitError:
        parsed = False
    assert parsed == valid
    assert bool(re.search(TIME_OF_DAY["pattern"], text)) == valid


@pytest.mark.parametrize(
    ("text", "valid"), [("50.00", True), ("200", True), ("-1", False), ("fifty", False)]
)
def test_money_pattern_agrees_with_the_loader(text: str, valid: bool) -> None:
    try:
        parse_money(text)
        parsed = True
    except UnitError:
        parsed = False
    assert parsed == valid
    assert bool(re.search(MONEY["anyOf"][0]["pattern"], text)) == valid


@pytest.mark.parametrize(
    ("text", "valid"),
    [("2027-01-01", True), ("2027-02-05..2027-02-11", True), ("2027/01/01", False)],
)
def test_date_pattern(text: str, valid: bool) -> None:
    assert bool(re.search(DATE_OR_RANGE["pattern"], text)) == valid


# -- validating with a JSON Schema validator ----------------------------------------------------
def load(path: Path) -> Any:
    """A TOML file as an editor's schema validator sees it: dates and times are text."""
    return jsonable(tomllib.loads(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def validator() -> Any:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    return jsonschema_rs.validator_for(policy_schema())


def test_the_shipped_policy_is_valid(validator: Any) -> None:
    assert [str(e) for e in validator.iter_errors(load(ROOT / "configs/cn-baseline.toml"))] == []


def test_the_shipped_policy_tests_are_valid() -> None:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    check = jsonschema_rs.validator_for(policy_tests_schema())
    document = load(ROOT / "configs/cn-baseline_test.toml")
    assert [str(e) for e in check.iter_errors(document)] == []


def mutations() -> list[tuple[str, Any]]:
    def unknown_key(doc: Any) -> None:
        doc["rules"][0]["waivabel"] = True

    def bad_kind(doc: Any) -> None:
        doc["rules"][0]["kind"] = "deny_windows"

    def bare_limit(doc: Any) -> None:
        next(r for r in doc["rules"] if r["kind"] == "daily_budget")["limit"] = 60

    def bad_time(doc: Any) -> None:
        next(r for r in doc["rules"] if r["id"] == "curfew")["between"] = ["22:00", "25:00"]

    def bad_day(doc: Any) -> None:
        rule = next(r for r in doc["rules"] if r["id"] == "game-window")
        rule["windows"][0]["days"] = ["friday"]

    def float_money(doc: Any) -> None:
        next(r for r in doc["rules"] if r["kind"] == "spending_cap")["max"] = 50.5

    def bad_day_type(doc: Any) -> None:
        budget = next(r for r in doc["rules"] if r["kind"] == "daily_budget")
        budget["limit_by_day"] = {"weekends": "2h"}

    def bad_action(doc: Any) -> None:
        doc["rules"][0]["actions"] = ["Game.Play"]

    return [
        (f.__name__, f)
        for f in (
            unknown_key,
            bad_kind,
            bare_limit,
            bad_time,
            bad_day,
            float_money,
            bad_day_type,
            bad_action,
        )
    ]


@pytest.mark.parametrize(("name", "mutate"), mutations())
def test_the_schema_flags_mistakes(validator: Any, name: str, mutate: Any) -> None:
    document = copy.deepcopy(load(ROOT / "configs/cn-baseline.toml"))
    mutate(document)
    assert not validator.is_valid(document), name


def test_the_shipped_schema_file_is_json() -> None:
    data = json.loads((DOCS / "policy.schema.json").read_text(encoding="utf-8"))
    assert data["title"] == "youthmode policy"
