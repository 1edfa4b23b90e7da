"""The shipped policy schema as editors use it: `taplo check` on real mistakes.

Each mistake is a small policy, valid but for one slip a person makes while typing. Checked with
`taplo check --schema docs/policy.schema.json`, every error taplo prints must name the key or
value at fault and what is allowed instead, and never be the `oneOf` summary ("not valid under
any of the schemas listed") that a rule table used to give once per rule kind.

taplo comes from the `taplo` wheel on PyPI (a prebuilt binary; the dev extras and `.ci/run`
install it). Without it these tests fail rather than skip: the editor schema is a feature.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from youthmode.authoring.jsonschema import policy_schema, render

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "docs" / "policy.schema.json"

POLICY = """\
[policy]
id = "kids"
version = "2026.1"
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

[catalog.actions."game.topup"]
tags = ["game", "spending"]
spend = "game_topup"
"""

RULE = """
[[rules]]
id = "r"
bands = ["child"]
actions = ["game.play"]
message = { zh-CN = "不可以", en = "Not allowed" }
"""

# name -> (the rule's own lines, texts every error must hold)
MISTAKES: dict[str, tuple[str, tuple[str, ...]]] = {
    "a misspelt key": (
        'kind = "forbid"\nwaivabel = true\n',
        ("'waivabel' was unexpected",),
    ),
    "an hour past midnight": (
        'kind = "deny_window"\nbetween = ["22:00", "25:00"]\nreason = "curfew"\n',
        ('"25:00" does not match',),
    ),
    "an unknown kind": (
        'kind = "forbidd"\n',
        ('"forbidd" is not one of', '"forbid"', '"daily_budget"'),
    ),
    "a duration without a unit": (
        'kind = "daily_budget"\nlimit = 60\n',
        ('60 is not of type "string"',),
    ),
    "a day written out": (
        'kind = "allow_window"\nreason = "outside_allowed_window"\n'
        'windows = [{ days = ["friday"], between = ["20:00", "21:00"] }]\n',
        ('"friday" is not one of', '"fri"'),
    ),
    "a key of another kind": (
        'kind = "daily_budget"\nlimit = "1h"\nbetween = ["20:00", "21:00"]\n',
        ("'between' was unexpected",),
    ),
    "a day type in the plural": (
        'kind = "daily_budget"\nlimit = "1h"\nlimit_by_day = { weekends = "2h" }\n',
        ('"weekends" is not one of', '"weekend"'),
    ),
    "a period that is not one": (
        'kind = "spending_cap"\nmax = "50.00"\nperiod = "fortnight"\n',
        ('"fortnight" is not one of', '"month"'),
    ),
}


def taplo() -> str:
    """The taplo binary: beside this Python (the venv's), or on PATH."""
    beside = Path(sys.executable).parent / "taplo"
    found = str(beside) if beside.exists() else shutil.which("taplo")
    if found is None:
        pytest.fail("taplo is not installed: `pip install taplo` (it is in the dev extras)")
    return found


def taplo_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [taplo(), "check", "--schema", SCHEMA.as_uri(), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def errors_of(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The `error: ...` lines taplo prints (one per node of the table at fault)."""
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


def test_the_schema_taplo_reads_is_the_shipped_one() -> None:
    assert SCHEMA.read_text(encoding="utf-8") == render(policy_schema())


def test_every_shipped_policy_passes(tmp_path: Path) -> None:
    # configs/data/ holds data the policies use (the consent-age table), not policies
    policies = [
        p
        for p in sorted((ROOT / "configs").rglob("*.toml"))
        if not p.name.endswith("_test.toml") and "data" not in p.relative_to(ROOT / "configs").parts
    ]
    assert len(policies) > 5
    for path in policies:
        result = taplo_check(path)
        assert result.returncode == 0, f"{path}: {result.stderr}"


@pytest.mark.parametrize("name", list(MISTAKES))
def test_taplo_names_the_mistake(tmp_path: Path, name: str) -> None:
    rule, expected = MISTAKES[name]
    path = tmp_path / "kids.toml"
    path.write_text(POLICY + RULE + rule, encoding="utf-8")
    result = taplo_check(path)
    assert result.returncode == 1, result.stderr
    errors = errors_of(result)
    assert errors, result.stderr
    for error in errors:
        assert "oneOf" not in error and "any of the schemas" not in error, error
        for text in expected:
            assert text in error, (name, error)


def test_a_valid_rule_of_each_kind_shape_passes(tmp_path: Path) -> None:
    path = tmp_path / "kids.toml"
    path.write_text(POLICY + RULE + 'kind = "daily_budget"\nlimit = "1h"\n', encoding="utf-8")
    result = taplo_check(path)
    assert result.returncode == 0, result.stderr
