"""A pack that overrides an inherited rule with a looser one (issue 14, part 3).

`loosened_rule` unless the rule says why (`loosens = "..."`); `loosened_floor`, even with
`loosens`, when the pack it extends is a floor (it names floors, or a loaded policy names it as
one). A stricter replacement, or one that changes only words, is fine.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from youthmode.policies import check_policies

PARENT = """[policy]
id = "kids"
version = "2026.1"
timezone = "Asia/Shanghai"
{parent_meta}
[[bands]]
id = "child"
from = 0
to = 12

[[bands]]
id = "teen"
from = 12
to = 18

[[bands]]
id = "adult"
from = 18

[groups]
minors = ["child", "teen"]

[catalog.actions."game.play"]
metered = true
tags = ["game"]

[catalog.actions."game.topup"]
tags = ["game", "spending"]
spend = "game_topup"

[[rules]]
id = "rule"
message = {{ zh-CN = "不可以", en = "Not allowed" }}
{parent_rule}
"""

CHILD = """[policy]
id = "acme"
version = "2026.1"
extends = "kids"

[[rules]]
id = "rule"
override = true
message = {{ zh-CN = "不行", en = "No" }}
{child_rule}
"""

CURFEW = 'kind = "deny_window"\nreason = "curfew"\nbetween = ["22:00", "06:00"]\n'
LIMIT = 'kind = "daily_budget"\nlimit = "1h"\n'
CAP = 'kind = "spending_cap"\nperiod = "month"\nmax = "100.00"\n'
WINDOW = (
    'kind = "allow_window"\nreason = "outside_allowed_window"\n'
    'windows = [{ days = ["fri", "sat", "sun"], between = ["20:00", "21:00"] }]\n'
)

# (parent rule, child rule, what `loosened_rule` says after the colon; None: not looser)
CASES: dict[str, tuple[str, str, str | None]] = {
    "the same rule in other words": (CURFEW, CURFEW, None),
    "a longer curfew": (CURFEW, CURFEW.replace("22:00", "21:00"), None),
    "a shorter curfew": (
        CURFEW,
        CURFEW.replace("22:00", "23:00"),
        "denies at fewer times (`between` / `days` / `windows`)",
    ),
    "a curfew on weekdays only": (
        CURFEW,
        CURFEW + 'days = ["workday"]\n',
        "denies at fewer times (`between` / `days` / `windows`)",
    ),
    "a curfew for fewer bands": (
        CURFEW,
        CURFEW + 'bands = ["child"]\n',
        "no longer covers band `teen`",
    ),
    "a curfew for fewer actions": (
        CURFEW,
        CURFEW + 'actions = ["game.play"]\n',
        "no longer covers `game.topup`",
    ),
    "a waivable curfew": (
        CURFEW,
        CURFEW + "waivable = true\n",
        "a guardian may waive it (`waivable = true`)",
    ),
    "a curfew not in force": (
        CURFEW,
        CURFEW + 'status = "proposed"\n',
        "status `proposed` (never enforced)",
    ),
    "a curfew ending": (
        CURFEW,
        CURFEW + "in_force = { until = 2027-01-01 }\n",
        "in force for less time (`in_force`)",
    ),
    "a smaller limit": (LIMIT, LIMIT.replace("1h", "40m"), None),
    "a larger limit": (LIMIT, LIMIT.replace("1h", "2h"), "a larger `limit` (2h instead of 1h)"),
    "a larger limit on holidays": (
        LIMIT,
        LIMIT + 'limit_by_day = { holiday = "3h" }\n',
        "a larger limit on a holiday",
    ),
    "a larger cap": (CAP, CAP.replace("100.00", "200.00"), "a larger `max`"),
    "a cap per transaction": (
        CAP,
        CAP.replace("month", "transaction"),
        "a cap per transaction instead of per month",
    ),
    "a wider allowed window": (
        WINDOW,
        WINDOW.replace("21:00", "22:00"),
        "allows at more times (`between` / `days` / `windows`)",
    ),
    "a narrower allowed window": (WINDOW, WINDOW.replace("20:00", "20:30"), None),
    "a forbid instead of a curfew": (CURFEW, 'kind = "forbid"\n', None),
    "a limit instead of a curfew": (
        CURFEW,
        LIMIT,
        "a `daily_budget` rule instead of a `deny_window` rule",
    ),
}


def write(folder: Path, parent_rule: str, child_rule: str, parent_meta: str = "") -> None:
    text = PARENT.format(parent_meta=parent_meta, parent_rule=covering(parent_rule))
    (folder / "kids.toml").write_text(text, encoding="utf-8")
    text = CHILD.format(child_rule=covering(child_rule))
    (folder / "acme.toml").write_text(text, encoding="utf-8")


def covering(rule: str) -> str:
    """``rule`` with bands and actions: every minor and every game action, unless it says."""
    actions = '["game.topup"]' if "spending_cap" in rule else '["game.*"]'
    for key, value in (("bands", '["minors"]'), ("actions", actions)):
        if f"{key} =" not in rule:
            rule += f"{key} = {value}\n"
    return rule


def found(folder: Path) -> list[tuple[str, str, str | None, str | None]]:
    _, problems = check_policies([folder])
    return [(p.code, p.message, p.key, p.hint) for p in problems]


@pytest.mark.parametrize("name", list(CASES))
def test_an_override_is_compared_with_the_rule_it_replaces(tmp_path: Path, name: str) -> None:
    parent_rule, child_rule, what = CASES[name]
    write(tmp_path, parent_rule, child_rule)
    if what is None:
        assert found(tmp_path) == []
        return
    assert found(tmp_path) == [
        (
            "loosened_rule",
            f"rule `rule` loosens the rule of `kids` it overrides: {what}",
            "rules[0].override",
            "keep the inherited rule and add a stricter one with its own id, or say why: "
            'loosens = "..."',
        )
    ]


def test_every_loosening_is_named_at_once(tmp_path: Path) -> None:
    write(
        tmp_path, CURFEW, CURFEW.replace("22:00", "23:00") + 'bands = ["child"]\nwaivable = true\n'
    )
    ((_, message, _, _),) = found(tmp_path)
    assert message.endswith(
        ": no longer covers band `teen`; a guardian may waive it (`waivable = true`); "
        "denies at fewer times (`between` / `days` / `windows`)"
    )


def test_a_loosening_that_says_why_is_allowed(tmp_path: Path) -> None:
    child = CURFEW.replace("22:00", "23:00") + 'loosens = "school nights end at 23:00 here"\n'
    write(tmp_path, CURFEW, child)
    assert found(tmp_path) == []
    policies, _ = check_policies([tmp_path])
    assert sorted(p.id for p in policies) == ["acme", "kids"]


def test_an_empty_reason_is_no_reason(tmp_path: Path) -> None:
    write(tmp_path, CURFEW, CURFEW.replace("22:00", "23:00") + 'loosens = ""\n')
    assert [code for code, *_ in found(tmp_path)] == ["loosened_rule", "invalid_value"]


FLOOR_HINT = (
    "a floor pack's rules can be kept or made stricter, never loosened (not even with `loosens`)"
)


def test_a_pack_that_names_floors_is_never_loosened(tmp_path: Path) -> None:
    (tmp_path / "vn.toml").write_text(
        PARENT.format(parent_meta='jurisdiction = "VN"\n', parent_rule=covering(CURFEW)).replace(
            'id = "kids"', 'id = "vn"'
        ),
        encoding="utf-8",
    )
    child = CURFEW.replace("22:00", "23:00") + 'loosens = "our users asked for it"\n'
    write(tmp_path, CURFEW, child, parent_meta='floors = { "VN" = "vn" }\n')
    assert found(tmp_path) == [
        (
            "loosened_floor",
            "rule `rule` loosens the rule of floor pack `kids` it overrides: "
            "denies at fewer times (`between` / `days` / `windows`)",
            "rules[0].override",
            FLOOR_HINT,
        )
    ]


def test_a_pack_named_as_a_floor_is_never_loosened(tmp_path: Path) -> None:
    write(tmp_path, LIMIT, LIMIT.replace("1h", "2h") + 'loosens = "weekend tournament"\n')
    (tmp_path / "app.toml").write_text(
        PARENT.format(
            parent_meta='floors = { "CN" = "kids" }\n', parent_rule=covering(LIMIT)
        ).replace('id = "kids"', 'id = "app"'),
        encoding="utf-8",
    )
    assert [(code, key) for code, _, key, _ in found(tmp_path)] == [
        ("loosened_floor", "rules[0].override")
    ]
