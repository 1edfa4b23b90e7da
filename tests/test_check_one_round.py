"""`youthmode check` reports every problem in one round (issue 14, part 3).

A file whose tables fail the schema is still cross-checked through a mended copy
(`youthmode/policies/salvage.py`); what the mending could cause is left out, and what a problem
keeps from being checked is said on a `not checked:` line. The corpus case
`tests/policy_errors/every-problem-in-one-round-schema-and-cross-checks.toml` holds the exact
problems of the issue's example; these tests hold the rest.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from youthmode.cli import main
from youthmode.policies import check_policies, check_policies_noting

PARENT = """[policy]
id = "kids"
version = 2026
timezone = "Asia/Shanghai"

[[bands]]
id = "child"
from = 0
to = 18

[[bands]]
id = "adult"
from = 18

[catalog.actions."game.play"]
metered = true
tags = ["game"]

[[rules]]
id = "limit"
kind = "daily_budget"
bands = ["child"]
actions = ["game.play"]
limit = "1 hour"
message = { zh-CN = "今日时长已用完", en = "Today's time is used up" }
"""

CHILD = """[policy]
id = "acme"
version = "2026.1"
extends = "kids"

[[rules]]
id = "no-games"
kind = "forbid"
bands = ["kid"]
actions = ["game.play"]
message = { zh-CN = "不可以", en = "Not allowed" }
"""


def codes(tmp_path: Path) -> list[tuple[str, str, str | None]]:
    _, found = check_policies([tmp_path])
    return [(p.code, Path(p.file or "").name, p.key) for p in found]


def test_a_child_of_a_parent_with_schema_errors_is_cross_checked_at_once(tmp_path: Path) -> None:
    (tmp_path / "kids.toml").write_text(PARENT, encoding="utf-8")
    (tmp_path / "acme.toml").write_text(CHILD, encoding="utf-8")
    assert codes(tmp_path) == [
        ("unknown_band", "acme.toml", "rules[0].bands[0]"),
        ("invalid_type", "kids.toml", "policy.version"),
        ("invalid_duration", "kids.toml", "rules[0].limit"),
    ]


def test_a_stand_in_for_a_missing_key_causes_nothing(tmp_path: Path) -> None:
    text = PARENT.replace('limit = "1 hour"\n', "").replace("version = 2026", 'version = "1"')
    (tmp_path / "kids.toml").write_text(text, encoding="utf-8")
    assert codes(tmp_path) == [("missing_key", "kids.toml", "rules[0].limit")]


def test_a_rule_of_an_unknown_kind_still_has_its_references_checked(tmp_path: Path) -> None:
    text = PARENT.replace('kind = "daily_budget"', 'kind = "daily_budgt"')
    text = text.replace('bands = ["child"]', 'bands = ["chld"]')
    (tmp_path / "kids.toml").write_text(text, encoding="utf-8")
    assert codes(tmp_path) == [
        ("invalid_type", "kids.toml", "policy.version"),
        ("unknown_rule_kind", "kids.toml", "rules[0].kind"),
        ("unknown_band", "kids.toml", "rules[0].bands[0]"),
    ]


def test_a_mended_band_masks_coverage_and_says_so(tmp_path: Path) -> None:
    text = PARENT.replace("from = 18", 'from = "18"').replace("version = 2026", 'version = "1"')
    (tmp_path / "kids.toml").write_text(text, encoding="utf-8")
    _, found, notes = check_policies_noting([tmp_path])
    assert [(p.code, p.key) for p in found] == [
        ("invalid_type", "bands[1].from"),
        ("invalid_duration", "rules[0].limit"),
    ]  # no band_gap for the band whose `from` was left out
    assert notes == [
        f"{tmp_path / 'kids.toml'}: whether the bands cover every age, until the band "
        "problems above are fixed"
    ]


def test_a_file_that_is_not_toml_masks_its_children_and_the_output_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("kids.toml").write_text(PARENT.replace('limit = "1 hour"', "limit = 1h"), "utf-8")
    Path("acme.toml").write_text(CHILD, encoding="utf-8")
    Path("other.toml").write_text(CHILD.replace('"acme"', '"other"').replace("kids", "kidz"))
    assert main(["check", "."]) == 1
    out = capsys.readouterr().out.splitlines()
    assert [line.split(": ")[1] for line in out if line.startswith(("acme", "kids", "other"))] == [
        "toml_syntax",
        "unknown_policy",  # `kidz` is not the pack that did not load: still reported
    ]
    assert (
        "not checked: kids.toml is not cross-checked (bands, actions, extends) until the problem "
        "above is fixed, nor are the packs that extend it"
    ) in out
    assert main(["check", ".", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["unchecked"] == [
        "kids.toml is not cross-checked (bands, actions, extends) until the problem above is "
        "fixed, nor are the packs that extend it"
    ]


def test_a_valid_set_has_no_notes() -> None:
    root = Path(__file__).resolve().parent.parent
    policies, found, notes = check_policies_noting([root / "configs"])
    assert policies and not [p for p in found if p.severity == "error"] and notes == []


def test_a_child_of_a_parent_that_fails_its_cross_checks_waits_and_says_so(
    tmp_path: Path,
) -> None:
    parent = PARENT.replace("version = 2026", 'version = "1"').replace('"1 hour"', '"1h"')
    parent = parent.replace('bands = ["child"]', 'bands = ["chld"]')  # an unknown band
    (tmp_path / "kids.toml").write_text(parent, encoding="utf-8")
    (tmp_path / "acme.toml").write_text(CHILD, encoding="utf-8")  # its `kid` is not reported
    _, found, notes = check_policies_noting([tmp_path])
    assert [(p.code, Path(p.file or "").name) for p in found] == [("unknown_band", "kids.toml")]
    assert notes == [
        f"{tmp_path / 'acme.toml'} is not cross-checked until `kids`, which it extends, is fixed"
    ]
