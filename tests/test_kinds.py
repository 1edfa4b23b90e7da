"""The rule-kind registry (`youthmode/policies/kinds.py`): every kind has all of its parts, and
no kind exists outside it (schema, evaluators, configs, JSON Schema, docs)."""

from __future__ import annotations

import dataclasses
import re
import tomllib
import typing
from pathlib import Path

import pytest
from conftest import CONFIGS

from youthmode.authoring import dimensions
from youthmode.authoring.jsonschema import policy_schema
from youthmode.policies import check_policies, kinds, rules_world, rules_zoned, schema
from youthmode.policies import rules as compiled
from youthmode.policies.validate import CODE_PATTERN

ROOT = Path(__file__).resolve().parent.parent
LANGUAGE = ROOT / "docs" / "policy-language.md"
KIND_NAMES = [k.name for k in kinds.KINDS]
NUMBERS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
).split()

# One rule of every kind, as a policy file writes it (the kind's own keys only).
SAMPLES = {
    "deny_window": 'reason = "curfew"\nbetween = ["22:00", "06:00"]',
    "allow_window": 'between = ["20:00", "21:00"]\ndays = ["fri"]',
    "daily_budget": 'limit = "1h"\nlimit_by_day = { holiday = "2h" }',
    "spending_cap": 'period = "month"\nmax = "200"',
    "forbid": "",
    "require_consent": 'consent = "buy"',
    "require_verified": "",
    "content_age": "",
    "stranger_contact": "",
    "resource_match": 'reason = "lootbox"\nmatch = { item_type = "lootbox" }',
    "rest_reminder": 'after = "30m"',
    "lockout_warning": 'before = "5m"',
    "minimum_age": "age = 16",
    "require_age_assurance": "at_least = 13",
    "require_app_consent": "",
    "require_guardian_link": "",
    "weekly_budget": 'limit = "10h"',
    "quiet_hours": 'between = ["08:00", "15:00"]\nmonths = ["sep-may"]\nzone = "America/New_York"',
    "use_warning": 'first_access = true\nafter = "3h"\nevery = "1h"',
}
HEAD = """[policy]
id = "p"
version = "1"
timezone = "Asia/Shanghai"

[[bands]]
id = "all"
from = 0

[catalog.actions."buy"]
spend = "buy"
"""


def _sample_policy(tmp_path: Path) -> dict[str, compiled.CompiledRule]:
    text = HEAD
    for name in KIND_NAMES:
        text += (
            f'\n[[rules]]\nid = "{name.replace("_", "-")}"\nkind = "{name}"\nactions = ["buy"]\n'
            f'message = {{ zh-CN = "x", en = "x" }}\n{SAMPLES[name]}\n'
        )
    (tmp_path / "p.toml").write_text(text, encoding="utf-8")
    policies, problems = check_policies([tmp_path])
    assert problems == []
    return {r.kind: r for r in policies[0].rules}


def test_every_kind_has_a_sample_here() -> None:
    assert list(SAMPLES) == KIND_NAMES, "add a sample rule of the new kind to SAMPLES"


@pytest.mark.parametrize("kind", kinds.KINDS, ids=KIND_NAMES)
def test_every_kind_has_every_part(kind: kinds.Kind) -> None:
    # the schema model, and its `kind` literal is the registered name
    assert issubclass(kind.model, schema.RuleBase)
    assert typing.get_args(kind.model.model_fields["kind"].annotation) == (kind.name,)
    # the evaluator and the compile step
    assert issubclass(kind.rule, compiled.CompiledRule) and kind.rule is not compiled.CompiledRule
    assert callable(kind.compile)
    # the default reason: a code, codes by the value of one key (all of its values), or none
    # (then `reason` is required)
    if isinstance(kind.reason, kinds.PerValue):
        values = typing.get_args(kind.model.model_fields[kind.reason.key].annotation)
        assert set(kind.reason.codes) == set(values)
        assert all(CODE_PATTERN.match(c) for c in kind.reason.codes.values())
    elif kind.reason is not None:
        assert CODE_PATTERN.match(kind.reason)
    # remedies for every kind; obligations exactly for the kinds whose evaluator is one
    assert callable(kind.remedy)
    assert (kind.obligation is not None) == kind.rule.obligation
    # the analysis hook: only facts `youthmode diff` / `floor` know how to vary, or that they
    # refuse by name (`dimensions.REFUSED`: a rule reading one stops the analysis)
    assert kind.reads <= kinds.DIMENSIONS
    assert dimensions.unhandled(kind.reads - dimensions.REFUSED, kind.rule) == [], (
        "teach authoring/dimensions.py this kind"
    )
    # the checks, the API scopes
    assert callable(kind.check) and callable(kind.check_inherited)
    assert kind.withheld_by <= {"usage", "guardian"}
    # JSON Schema help for each of its own keys, and its docs
    assert set(kind.keys) == set(kind.own_keys), "describe the kind's keys in its `keys`"
    assert kind.denies_when
    assert f"### `{kind.name}`" in LANGUAGE.read_text(encoding="utf-8"), "document the kind"


def test_every_kind_compiles_to_its_evaluator(tmp_path: Path) -> None:
    by_kind = _sample_policy(tmp_path)
    assert list(by_kind) == KIND_NAMES
    for kind in kinds.KINDS:
        rule = by_kind[kind.name]
        assert type(rule) is kind.rule
        parsed = kind.model.model_validate(
            {"id": "x", "kind": kind.name, "message": {"zh-CN": "x", "en": "x"}}
            | tomllib.loads(SAMPLES[kind.name])
        )
        assert rule.code == (parsed.reason or kind.default_reason(parsed))


def test_no_kind_outside_the_registry() -> None:
    # the schema's rule tables are the registered models, in the registry's order
    assert schema.RULE_MODELS == tuple(k.model for k in kinds.KINDS)
    # every evaluator is some kind's
    evaluators = {compiled.CompiledRule}
    found = {
        cls
        for module in (compiled, rules_world, rules_zoned)
        for cls in vars(module).values()
        if isinstance(cls, type)
    }
    rule_classes = {c for c in found if issubclass(c, compiled.CompiledRule)} - evaluators
    assert rule_classes == {k.rule for k in kinds.KINDS}
    # every kind the JSON Schema offers
    defs = policy_schema()["$defs"]
    offered = [defs[m.__name__]["properties"]["kind"]["enum"][0] for m in schema.RULE_MODELS]
    assert offered == KIND_NAMES


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.toml")), ids=lambda p: p.name)
def test_every_kind_used_in_the_configs_is_registered(path: Path) -> None:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    used = {rule["kind"] for rule in data.get("rules", [])}
    assert used <= set(KIND_NAMES)


def test_every_kind_used_in_the_docs_is_registered() -> None:
    text = LANGUAGE.read_text(encoding="utf-8")
    used = set(re.findall(r'^kind = "([a-z_]+)"', text, flags=re.MULTILINE))
    assert used <= set(KIND_NAMES)


def test_the_docs_table_of_kinds_is_the_registry() -> None:
    text = LANGUAGE.read_text(encoding="utf-8")
    table = kinds.docs_table()
    assert table in text, (
        "the table under `## Rule kinds` in docs/policy-language.md is stale: replace it with "
        "the output of `python -c 'from youthmode.policies import kinds; "
        "print(kinds.docs_table())'`"
    )


def test_the_docs_count_the_registered_kinds() -> None:
    counted = {
        (path.relative_to(ROOT).as_posix(), word)
        for path in sorted((ROOT / "docs").rglob("*.md"))
        for word in re.findall(r"\b(\w+) \[?rule kinds", path.read_text(encoding="utf-8"))
        if word in NUMBERS
    }
    assert counted, "the scan finds the counts"
    assert {(p, w) for p, w in counted if w != NUMBERS[len(kinds.KINDS)]} == set()


def test_the_diff_domain_refuses_a_kind_it_cannot_vary() -> None:
    """A kind reading a dimension the domain does not vary for its evaluator is an error, not
    a region `diff` and `floor` silently leave out."""
    assert dimensions.unhandled({"today"}, compiled.DailyBudgetRule) == []
    # an obligation reading today's use, a denying rule reading the session, a cap's amounts
    # through another evaluator: unknown
    assert dimensions.unhandled({"today"}, compiled.RestReminderRule) == [
        "`today` (obligation, RestReminderRule)"
    ]
    assert dimensions.unhandled({"session"}, compiled.DailyBudgetRule) == [
        "`session` (denying rule, DailyBudgetRule)"
    ]
    assert dimensions.unhandled({"money"}, compiled.ForbidRule) == [
        "`money` (denying rule, ForbidRule)"
    ]
    assert dimensions.unhandled({"age"}, compiled.ForbidRule) == [
        "`age` (denying rule, ForbidRule)"
    ]
    rule = compiled.ForbidRule(
        id="r",
        ref="p/r",
        kind="forbid",
        code="feature_forbidden",
        waivable=False,
        category_exemptions=False,
        message="x",
        message_en="x",
        bands=frozenset(),
        actions=frozenset(),
    )
    dimensions.check_known([rule])
    with pytest.raises(dimensions.UnvariedFact, match="reads `session`"):
        dimensions.check_known([dataclasses.replace(rule, kind="rest_reminder")])
