"""Error messages of policy loading: the corpus of cases, and what is not one snippet.

Each case of `tests/policy_errors/` (read by `error_corpus.py`) is a few files that are valid
but for a mistake or two, and every `Problem` checking them must give: code, message, file,
line, column, key, hint and rule. `test_corpus_case` runs them all; a new message or a new
code gets a case there. The tests below are what a snippet and its problems cannot say: a
file that is missing, one that loads, what a child of `cn-baseline` inherits, how a problem
and a `PolicyError` read. `policy()` builds a small valid policy from Python values for them.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from error_corpus import ProblemCase, problem_cases

from youthmode import PolicyError, Problem
from youthmode.policies import check_policies, diagnostics, load_policies

CN_BASELINE = Path(__file__).resolve().parent.parent / "configs" / "cn-baseline.toml"

DROP: Any = object()  # as a value: leave the key out of the default table

MESSAGE = {"zh-CN": "不可以", "en": "Not allowed"}
META = {"id": "kids", "version": "2026.1", "timezone": "Asia/Shanghai"}
BANDS = [{"id": "child", "from": 0, "to": 18}, {"id": "adult", "from": 18}]
ACTIONS = {
    "game.play": {"metered": True, "tags": ["game"]},
    "game.topup": {"tags": ["game", "spending"], "spend": "game_topup"},
}


# -- building policy files --------------------------------------------------------------------


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def merged(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    out = {**base, **changes}
    return {k: v for k, v in out.items() if v is not DROP}


def table(header: str, fields: Mapping[str, Any]) -> str:
    return "\n".join([header, *(f"{toml_key(k)} = {toml_value(v)}" for k, v in fields.items())])


def rule(**fields: Any) -> dict[str, Any]:
    """A valid `forbid` rule, changed by ``fields``; `DROP` leaves a key out."""
    base = {
        "id": "no-games",
        "kind": "forbid",
        "bands": ["child"],
        "actions": ["game.play"],
        "message": MESSAGE,
    }
    return merged(base, fields)


def policy(
    *,
    meta: Mapping[str, Any] | None = None,
    calendar: Mapping[str, Any] | None = None,
    bands: Iterable[Mapping[str, Any]] = BANDS,
    groups: Mapping[str, list[str]] | None = None,
    actions: Mapping[str, Mapping[str, Any]] = ACTIONS,
    rules: Iterable[Mapping[str, Any]] = (rule(),),
) -> str:
    """The text of a small valid policy, with the given tables changed or replaced."""
    parts = [table("[policy]", merged(META, meta or {}))]
    if calendar is not None:
        parts.append(table("[calendar]", calendar))
    parts += [table("[[bands]]", band) for band in bands]
    if groups is not None:
        parts.append(table("[groups]", groups))
    parts += [table(f"[catalog.actions.{toml_key(n)}]", spec) for n, spec in actions.items()]
    parts += [table("[[rules]]", r) for r in rules]
    return "\n\n".join(parts) + "\n"


def child_policy(
    *,
    meta: Mapping[str, Any] | None = None,
    bands: Iterable[Mapping[str, Any]] = (),
    groups: Mapping[str, list[str]] | None = None,
    actions: Mapping[str, Mapping[str, Any]] | None = None,
    rules: Iterable[Mapping[str, Any]] = (),
) -> str:
    """A policy `acme` that extends cn-baseline and adds only what is given."""
    return policy(
        meta={"id": "acme", "timezone": DROP, "extends": "cn-baseline", **(meta or {})},
        bands=bands,
        groups=groups,
        actions=actions or {},
        rules=rules,
    )


def write(folder: Path, text: str, name: str = "kids.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def with_baseline(folder: Path) -> Path:
    shutil.copy(CN_BASELINE, folder / "cn-baseline.toml")
    return folder


def problem(
    code: str,
    message: str,
    path: Path,
    where: tuple[int, int] | None,
    key: str | None,
    hint: str | None = None,
    rule: str | None = None,
) -> Problem:
    line, column = where if where else (None, None)
    return Problem(code, message, str(path), line, column, key, hint, rule)


def problems(*paths: Path) -> list[Problem]:
    """Every problem of a policy set that must fail; a failing set yields no policies."""
    policies, found = check_policies(paths)
    assert found, "expected problems"
    assert policies == []
    return found


# -- the corpus ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", problem_cases(), ids=lambda case: case.name)
def test_corpus_case(case: ProblemCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case.write(tmp_path)
    monkeypatch.chdir(tmp_path)  # so files and messages name `kids.toml`, not a temporary path
    policies, found = check_policies(case.check)
    assert policies == []
    assert found == list(case.problems)


def test_the_corpus_covers_every_code() -> None:
    found = {p.code for case in problem_cases() for p in case.problems}
    untested = {c.name for c in diagnostics.CODES} - found
    # no_policies and unreadable_file name temporary paths: tested below; the calendar warning
    # comes from `youthmode check`, not `check_policies`: its docs page is its case
    # (so do the warnings of policies/in_force.py: missing_translation, not_in_force, ...)
    warnings = {c.name for c in diagnostics.CODES if c.severity == "warning"}
    assert untested <= {"no_policies", "unreadable_file", *warnings}, untested


# -- what is not one snippet and its problems -----------------------------------------------------


def test_the_helpers_build_a_valid_policy(tmp_path: Path) -> None:
    (compiled,) = load_policies([write(tmp_path, policy())])
    assert compiled.id == "kids"
    assert compiled.band_ids == ("child", "adult", "unknown")
    assert [r.id for r in compiled.rules] == ["no-games"]


def test_no_policy_files_in_a_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a policy")
    assert problems(tmp_path) == [
        Problem("no_policies", f"no policy files (*.toml) found in `{tmp_path}`")
    ]


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    assert problems(path) == [
        problem(
            "unreadable_file",
            f"cannot read `{path}`: No such file or directory",
            path,
            None,
            None,
        )
    ]


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "kids.toml"
    path.write_bytes(b"\xef\xbb\xbf" + policy().encode("utf-8"))
    (compiled,) = load_policies([path])
    assert compiled.id == "kids"


def test_nested_groups_load(tmp_path: Path) -> None:
    groups = {"all-minors": ["minors"], "minors": ["child"]}
    path = write(tmp_path, policy(groups=groups, rules=[rule(bands=["all-minors"])]))
    (compiled,) = load_policies([path])
    assert compiled.groups["all-minors"] == frozenset({"child"})


def test_a_child_of_cn_baseline_inherits_and_changes_rules(tmp_path: Path) -> None:
    with_baseline(tmp_path)
    extra = {"app.chat": {"metered": True, "tags": ["messaging"]}}
    quiet_hours = rule(
        id="quiet-hours",
        kind="deny_window",
        reason="curfew",
        bands=["pre-teens"],
        actions=["app.chat"],
        between=["21:00", "07:00"],
    )
    curfew = rule(
        id="curfew",
        override=True,
        kind="deny_window",
        reason="curfew",
        bands=["under-16"],
        actions=["*"],
        between=["21:30", "06:00"],
        loosens="16 and 17-year-olds keep the parent's curfew through a rule of their own",
    )
    groups = {"pre-teens": ["under-8", "8-12"]}  # a new group, of bands and a parent group
    text = child_policy(groups=groups, actions=extra, rules=[curfew, quiet_hours])
    write(tmp_path, text, "acme.toml")
    by_id = {p.id: p for p in load_policies([tmp_path])}
    parent, child = by_id["cn-baseline"], by_id["acme"]

    assert child.extends == "cn-baseline"
    assert child.timezone == "Asia/Shanghai"
    assert child.bands == parent.bands
    assert child.groups["minors"] == parent.groups["minors"]
    assert child.groups["pre-teens"] == {"under-3", "3-8", "8-12"}
    assert set(child.actions) == {*parent.actions, "app.chat"}
    parent_ids = [r.id for r in parent.rules]
    assert [r.id for r in child.rules] == [*parent_ids, "quiet-hours"]
    refs = {r.id: r.ref for r in child.rules}
    assert refs["curfew"] == "acme/curfew"  # replaced where it stood, so reasons keep order
    assert refs["no-tipping"] == "cn-baseline/no-tipping"
    assert refs["quiet-hours"] == "acme/quiet-hours"
    assert next(r for r in child.rules if r.id == "curfew").bands == frozenset(
        parent.groups["under-16"]
    )


def test_every_problem_of_a_file_is_reported_sorted_by_line(tmp_path: Path) -> None:
    path = write(tmp_path, THREE_MISTAKES)
    found = problems(path)
    assert [(p.code, p.line, p.column, p.key) for p in found] == [
        ("invalid_type", 5, 1, "policy.default"),
        ("invalid_duration", 16, 1, "rules[0].limit"),
        ("unknown_key", 17, 62, "rules[0].message.fr"),
    ]
    with pytest.raises(PolicyError) as caught:
        load_policies([path])
    assert list(caught.value.problems) == found


def test_a_set_with_any_error_is_rejected_whole(tmp_path: Path) -> None:
    write(tmp_path, policy(meta={"default": True}), "kids.toml")
    broken = write(tmp_path, policy(meta={"id": "teens"}, rules=[rule(bands=["teen"])]), "t.toml")
    policies, found = check_policies([tmp_path])
    assert policies == []
    assert [(p.code, p.file) for p in found] == [("unknown_band", str(broken))]
    with pytest.raises(PolicyError) as caught:
        load_policies([tmp_path])
    assert [p.code for p in caught.value.problems] == ["unknown_band"]


def test_problem_str_format(tmp_path: Path) -> None:
    path = write(tmp_path, policy(meta={"timezone": DROP, "timezon": "Asia/Shanghai"}))
    (found,) = problems(path)
    assert str(found) == (
        f"{path}:4:1: unknown_key: unknown key `timezon` (at `policy.timezon`); "
        "did you mean `timezone`?"
    )
    assert (
        str(Problem("no_policies", "no policy files")) == "<policy>: no_policies: no policy files"
    )
    assert str(Problem("x", "m", "f.toml", 3)) == "f.toml:3: x: m"


def test_policy_error_lists_every_problem(tmp_path: Path) -> None:
    path = write(tmp_path, THREE_MISTAKES)
    with pytest.raises(PolicyError) as caught:
        load_policies([path])
    lines = str(caught.value).splitlines()
    assert lines[0] == "3 problems in policy files"
    assert lines[1] == (
        f"  {path}:5:1: invalid_type: `default` must be true or false, not a string `yes` "
        "(at `policy.default`)"
    )
    assert lines[2].startswith(f"  {path}:16:1: invalid_duration: `1 hour` is not a duration")
    assert caught.value.to_dict()["problems"][2]["code"] == "unknown_key"


@pytest.mark.parametrize("ending", ["\n\n\n", "\n# the end", "   ", "\n\t\n"])
def test_trailing_blank_lines_and_comments_are_fine(tmp_path: Path, ending: str) -> None:
    (compiled,) = load_policies([write(tmp_path, policy() + ending)])
    assert compiled.id == "kids"


THREE_MISTAKES = """\
[policy]
id = "kids"
version = "2026.1"
timezone = "Asia/Shanghai"
default = "yes"

[[bands]]
id = "all"
from = 0

[[rules]]
id = "games"
kind = "daily_budget"
bands = ["all"]
actions = ["*"]
limit = "1 hour"
message = { zh-CN = "今天的时间用完了", en = "Time is up for today", fr = "C'est fini" }
"""
