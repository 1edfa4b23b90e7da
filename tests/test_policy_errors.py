"""Error messages of policy loading, one or more tests per problem code.

Each test writes a small policy that is valid except for one mistake and asserts the whole
`Problem`: code, message, file, line, column, key, hint and rule. `policy()` builds that valid
policy from Python values, so a test shows only what it changes; `at()` finds the line and
column of a piece of the written file, so positions are checked against the real text.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from youthmode import PolicyError, Problem
from youthmode.policies import check_policies, load_policies

CN_BASELINE = Path(__file__).resolve().parent.parent / "configs" / "cn-baseline.toml"

DROP: Any = object()  # as a value: leave the key out of the default table


class Raw(str):
    """A value written into the TOML as it is, e.g. a date literal or a deliberate mistake."""


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
    if isinstance(value, Raw):
        return str(value)
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


def at(path: Path, snippet: str, after: str | None = None) -> tuple[int, int]:
    """(line, column) where ``snippet`` starts in the file.

    The snippet must occur exactly once, or, with ``after``, is the first one after the one
    place where ``after`` occurs.
    """
    text = path.read_text(encoding="utf-8")
    start = 0
    if after is not None:
        assert text.count(after) == 1, f"{after!r} occurs {text.count(after)} times"
        start = text.index(after)
    else:
        assert text.count(snippet) == 1, f"{snippet!r} occurs {text.count(snippet)} times"
    before = text[: text.index(snippet, start)]
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


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


def test_the_helpers_build_a_valid_policy(tmp_path: Path) -> None:
    (compiled,) = load_policies([write(tmp_path, policy())])
    assert compiled.id == "kids"
    assert compiled.band_ids == ("child", "adult", "unknown")
    assert [r.id for r in compiled.rules] == ["no-games"]


# -- stage 1: reading files -------------------------------------------------------------------


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


def test_invalid_encoding_points_at_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "kids.toml"
    path.write_bytes(b'[policy]\nid = "kids"\ntitle = "ok \xff"\n')
    assert problems(path) == [
        problem(
            "invalid_encoding",
            "file is not UTF-8: byte 0xff is not valid here (invalid start byte)",
            path,
            (3, 13),
            None,
            "save the file as UTF-8",
        )
    ]


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "kids.toml"
    path.write_bytes(b"\xef\xbb\xbf" + policy().encode("utf-8"))
    (compiled,) = load_policies([path])
    assert compiled.id == "kids"


@pytest.mark.parametrize("ending", ["\n\n\n", "\n# the end", "   ", "\n\t\n"])
def test_trailing_blank_lines_and_comments_are_fine(tmp_path: Path, ending: str) -> None:
    (compiled,) = load_policies([write(tmp_path, policy() + ending)])
    assert compiled.id == "kids"


# -- toml_syntax ------------------------------------------------------------------------------

UNQUOTED = 'strings need quotes, e.g. "22:00" or "40m"'


@pytest.mark.parametrize(
    ("text", "message", "where", "hint"),
    [
        pytest.param(
            '[policy]\nid = kids-policy\nversion = "1"\n',
            "invalid value",
            (2, 6),
            UNQUOTED,
            id="unquoted-string",
        ),
        pytest.param(
            '[[rules]]\nid = "r"\nlimit = 40m\n',
            "expected newline or end of document after a statement",
            (3, 11),
            UNQUOTED,
            id="unquoted-duration",
        ),
        pytest.param(
            '[policy]\nid = "kids"\nversion =\n',
            "invalid value",
            (3, 10),
            "write a value after `=`",
            id="missing-value",
        ),
        pytest.param(
            '[policy]\nid = "kids"\n\n[policy]\nversion = "1"\n',
            "cannot declare table `[policy]` twice",
            (4, 8),
            "a key or table is defined twice",
            id="table-twice",
        ),
        pytest.param(
            '[policy]\nid = "kids"\nid = "teens"\n',
            "cannot overwrite a value",
            (3, 13),  # tomllib points after the value
            "a key or table is defined twice",
            id="key-twice",
        ),
        pytest.param(
            '[policy]\ntitle = "Kids\nid = "kids"\n',
            "illegal character '\\n'",
            (2, 14),
            "close the string with a quote on the same line",
            id="unclosed-string",
        ),
        pytest.param(
            '[[rules]]\nmessage = { zh-CN = "不可以",\n  en = "Not allowed" }\n',
            "invalid initial character for a key part",
            (2, 27),
            "an inline table { ... } stays on one line, with no comma after the last item",
            id="inline-table-over-lines",
        ),
    ],
)
def test_toml_syntax(
    tmp_path: Path, text: str, message: str, where: tuple[int, int], hint: str
) -> None:
    path = write(tmp_path, text)
    assert problems(path) == [problem("toml_syntax", message, path, where, None, hint)]


def test_toml_syntax_at_the_end_of_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[policy]\nid = "kids"\n\n[[rules]]\nbands = ["child",\n')
    assert problems(path) == [
        Problem(
            "toml_syntax",
            "invalid value at the end of the file",
            str(path),
            line=5,  # the last line; tomllib gives no column
            hint="a list `[`, inline table `{` or string is not closed",
        )
    ]


# -- unknown_key ------------------------------------------------------------------------------


def test_unknown_key_suggests_the_key_meant(tmp_path: Path) -> None:
    path = write(tmp_path, policy(meta={"timezone": DROP, "timezon": "Asia/Shanghai"}))
    assert problems(path) == [
        problem(
            "unknown_key",
            "unknown key `timezon`",
            path,
            at(path, "timezon ="),
            "policy.timezon",
            "did you mean `timezone`?",
        )
    ]


def test_unknown_key_of_a_rule_knows_its_kind(tmp_path: Path) -> None:
    curfew = rule(kind="deny_window", reason="curfew", betwen=["22:00", "06:00"])
    path = write(tmp_path, policy(rules=[curfew]))
    assert problems(path) == [
        problem(
            "unknown_key",
            "unknown key `betwen`",
            path,
            at(path, "betwen ="),
            "rules[0].betwen",
            "did you mean `between`?",
            rule="no-games",
        )
    ]


def test_unknown_key_without_a_close_match_lists_the_allowed_keys(tmp_path: Path) -> None:
    path = write(tmp_path, policy(rules=[rule(message={**MESSAGE, "fr": "Interdit"})]))
    assert problems(path) == [
        problem(
            "unknown_key",
            "unknown key `fr`",
            path,
            at(path, "fr ="),
            "rules[0].message.fr",
            "allowed keys: zh-CN, en",
            rule="no-games",
        )
    ]


def test_unknown_key_in_a_window_and_at_the_top(tmp_path: Path) -> None:
    window = {"between": ["20:00", "21:00"], "dayz": ["fri"]}
    text = policy(rules=[rule(kind="allow_window", windows=[window])]) + '\n[rule]\nid = "x"\n'
    path = write(tmp_path, text)
    assert problems(path) == [
        problem(
            "unknown_key",
            "unknown key `dayz`",
            path,
            at(path, "dayz ="),
            "rules[0].windows[0].dayz",
            "did you mean `days`?",
            rule="no-games",
        ),
        problem(
            "unknown_key",
            "unknown key `rule`",
            path,
            at(path, "[rule]"),
            "rule",
            "did you mean `rules`?",
        ),
    ]


# -- missing_key ------------------------------------------------------------------------------


def test_missing_policy_table(tmp_path: Path) -> None:
    path = write(tmp_path, "# nothing here yet\n")
    assert problems(path) == [
        problem(
            "missing_key",
            "missing required key `policy`",
            path,
            (1, 1),
            "policy",
            'start the file with a [policy] table, e.g. [policy] id = "acme-kids"',
        )
    ]


def test_missing_policy_id(tmp_path: Path) -> None:
    path = write(tmp_path, policy(meta={"id": DROP}))
    assert problems(path) == [
        problem(
            "missing_key",
            "missing required key `id`",
            path,
            at(path, "[policy]"),
            "policy.id",
            'e.g. id = "acme-kids"',
        )
    ]


def test_missing_rule_message(tmp_path: Path) -> None:
    path = write(tmp_path, policy(rules=[rule(message=DROP)]))
    assert problems(path) == [
        problem(
            "missing_key",
            "missing required key `message`",
            path,
            at(path, "[[rules]]"),
            "rules[0].message",
            'e.g. message = { zh-CN = "…", en = "…" }',
            rule="no-games",
        )
    ]


def test_missing_message_language(tmp_path: Path) -> None:
    path = write(tmp_path, policy(rules=[rule(message={"en": "Not allowed"})]))
    assert problems(path) == [
        problem(
            "missing_key",
            "missing required key `zh-CN`",
            path,
            at(path, "message ="),
            "rules[0].message.zh-CN",
            "a message is given in both `zh-CN` and `en`",
            rule="no-games",
        )
    ]


def test_missing_rule_kind(tmp_path: Path) -> None:
    path = write(tmp_path, policy(rules=[rule(kind=DROP)]))
    assert problems(path) == [
        problem(
            "missing_key",
            "rule needs a `kind`",
            path,
            at(path, "[[rules]]"),
            "rules[0]",
            "kinds: deny_window, allow_window, daily_budget, spending_cap, forbid, "
            "require_consent, require_verified, content_age, stranger_contact, resource_match, "
            "rest_reminder, lockout_warning",
            rule="no-games",
        )
    ]


def test_missing_version_and_timezone(tmp_path: Path) -> None:
    path = write(tmp_path, policy(meta={"version": DROP, "timezone": DROP}))
    header = at(path, "[policy]")
    assert problems(path) == [
        problem(
            "missing_key",
            "missing required key `version`",
            path,
            header,
            "policy.version",
            'give the policy a version, e.g. version = "2026.1"',
        ),
        problem(
            "missing_key",
            "missing required key `timezone`",
            path,
            header,
            "policy.timezone",
            'e.g. timezone = "Asia/Shanghai"',
        ),
    ]


def test_missing_bands(tmp_path: Path) -> None:
    path = write(tmp_path, policy(bands=[]))
    assert problems(path) == [
        problem(
            "missing_key",
            "a policy needs `[[bands]]` covering every age",
            path,
            (1, 1),
            "bands",
            'start with [[bands]] id = "adult" from = 0',
        )
    ]  # and no `unknown_band` for rules that name bands: there are none to check against


def test_missing_reason_of_a_deny_window(tmp_path: Path) -> None:
    path = write(tmp_path, policy(rules=[rule(kind="deny_window", between=["22:00", "06:00"])]))
    assert problems(path) == [
        problem(
            "missing_key",
            "rule `no-games` of kind `deny_window` needs a `reason`",
            path,
            at(path, "[[rules]]"),
            "rules[0].reason",
            'e.g. reason = "curfew"',
            rule="no-games",
        )
    ]


# -- invalid_type and invalid_value -----------------------------------------------------------


def test_invalid_type_of_a_quoted_number(tmp_path: Path) -> None:
    path = write(tmp_path, policy(bands=[{"id": "child", "from": 0, "to": "18"}, BANDS[1]]))
    assert problems(path) == [
        problem(
            "invalid_type",
            "`to` must be a whole number, not a string `18`",
            path,
            at(path, 'to = "18"'),
            "bands[0].to",
            "write the number without quotes",
        )
    ]


def test_invalid_type_of_a_list_and_of_its_items(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        policy(calendar={"official_years": ["2027"]}, rules=[rule(bands="child")]),
    )
    assert problems(path) == [
        problem(
            "invalid_type",
            "`official_years[0]` must be a whole number, not a string `2027`",
            path,
            at(path, '"2027"'),
            "calendar.official_years[0]",
            "write the number without quotes",
        ),
        problem(
            "invalid_type",
            "`bands` must be a list, not a string `child`",
            path,
            at(path, 'bands = "child"'),
            "rules[0].bands",
            rule="no-games",
        ),
    ]


def test_invalid_type_of_a_match_value_is_one_problem(tmp_path: Path) -> None:
    blocked = rule(kind="resource_match", reason="blocked_app", match={"app": 42})
    path = write(tmp_path, policy(rules=[blocked]))
    assert problems(path) == [
        problem(
            "invalid_type",
            "`app` must be a string or a list of strings, not a number `42`",
            path,
            at(path, "app = 42"),
            "rules[0].match.app",
            rule="no-games",
        )
    ]


def test_invalid_value_of_a_choice_suggests_one(tmp_path: Path) -> None:
    cap = rule(kind="spending_cap", actions=["game.topup"], period="monht", max="200.00")
    path = write(tmp_path, policy(rules=[cap]))
    assert problems(path) == [
        problem(
            "invalid_value",
            "`monht` is not allowed for `period`; expected 'transaction', 'day' or 'month'",
            path,
            at(path, "period ="),
            "rules[0].period",
            "did you mean `month`?",
            rule="no-games",
        )
    ]


def test_invalid_value_of_numbers_lists_and_text(tmp_path: Path) -> None:
    bands = [{"id": "child", "from": -1, "to": 18}, BANDS[1]]
    curfew = rule(
        kind="deny_window",
        reason="curfew",
        between=["22:00"],
        message={"zh-CN": "", "en": "Not now"},
    )
    path = write(tmp_path, policy(bands=bands, rules=[curfew]))
    assert problems(path) == [
        problem(
            "invalid_value",
            "`from` must be at least 0, not -1",
            path,
            at(path, "from = -1"),
            "bands[0].from",
        ),
        problem(
            "invalid_value",
            "`zh-CN` must not be empty",
            path,
            at(path, 'zh-CN = ""'),
            "rules[0].message.zh-CN",
            rule="no-games",
        ),
        problem(
            "invalid_value",
            "`between` needs a start and an end time, not 1 item",
            path,
            at(path, "between ="),
            "rules[0].between",
            'e.g. between = ["22:00", "06:00"]',
            rule="no-games",
        ),
    ]


def test_invalid_value_of_currency(tmp_path: Path) -> None:
    path = write(tmp_path, policy(meta={"currency": "yuan"}))
    assert problems(path) == [
        problem(
            "invalid_value",
            "currency `yuan` is not an ISO 4217 code",
            path,
            at(path, "currency ="),
            "policy.currency",
            'e.g. "CNY"',
        )
    ]


def test_unknown_rule_kind(tmp_path: Path) -> None:
    path = write(tmp_path, policy(rules=[rule(kind="forbidden")]))
    assert problems(path) == [
        problem(
            "unknown_rule_kind",
            "unknown rule kind `forbidden`",
            path,
            at(path, "kind ="),
            "rules[0].kind",
            "did you mean `forbid`?",
            rule="no-games",
        )
    ]


# -- values in small languages: durations, times, amounts, dates ------------------------------


@pytest.mark.parametrize(
    ("limit", "message", "hint"),
    [
        ("40 minutes", "`40 minutes` is not a duration", 'like "40m", "2h" or "1h30m"'),
        (40, "`40` is not a duration", 'like "40m", "2h" or "1h30m"'),
        ("0m", "duration `0m` must be longer than zero", None),
    ],
)
def test_invalid_duration(tmp_path: Path, limit: object, message: str, hint: str | None) -> None:
    path = write(tmp_path, policy(rules=[rule(kind="daily_budget", limit=limit)]))
    assert problems(path) == [
        problem(
            "invalid_duration",
            message,
            path,
            at(path, "limit ="),
            "rules[0].limit",
            hint and f"write a number with a unit, {hint}",
            rule="no-games",
        )
    ]


def test_invalid_time(tmp_path: Path) -> None:
    curfew = rule(kind="deny_window", reason="curfew", between=["22:00", "6am"])
    late = rule(id="late", kind="deny_window", reason="curfew", between=["23:60", "06:00"])
    path = write(tmp_path, policy(rules=[curfew, late]))
    assert problems(path) == [
        problem(
            "invalid_time",
            "`6am` is not a time of day",
            path,
            at(path, '"6am"'),
            "rules[0].between[1]",
            'write 24-hour time like "22:00"',
            rule="no-games",
        ),
        problem(
            "invalid_time",
            "`23:60` is not a time of day between 00:00 and 24:00",
            path,
            at(path, '"23:60"'),
            "rules[1].between[0]",
            rule="late",
        ),
    ]


def test_invalid_time_a_window_cannot_start_at_midnight_end(tmp_path: Path) -> None:
    curfew = rule(kind="deny_window", reason="curfew", between=["24:00", "06:00"])
    path = write(tmp_path, policy(rules=[curfew]))
    assert problems(path) == [
        problem(
            "invalid_time",
            "a window cannot start at 24:00",
            path,
            at(path, '"24:00"'),
            "rules[0].between[0]",
            rule="no-games",
        )
    ]


EXACT = "amounts are exact to the currency's minor unit"


@pytest.mark.parametrize(
    ("amount", "message", "hint"),
    [
        (50.5, "amount `50.5` must be a decimal string", 'write it in quotes, like "50.50"'),
        ("50.005", "amount `50.005` has more than 2 decimal places for CNY", EXACT),
        ("fifty", "`fifty` is not a decimal amount", None),
        ("-5", "amount `-5` must not be negative", None),
    ],
)
def test_invalid_amount(tmp_path: Path, amount: object, message: str, hint: str | None) -> None:
    cap = rule(kind="spending_cap", actions=["game.topup"], period="transaction", max=amount)
    path = write(tmp_path, policy(rules=[cap]))
    assert problems(path) == [
        problem(
            "invalid_amount",
            message,
            path,
            at(path, "max ="),
            "rules[0].max",
            hint,
            rule="no-games",
        )
    ]


def test_invalid_date(tmp_path: Path) -> None:
    rest_days = [Raw("2027-02-05"), "2027-02-30", "2027-02-11..2027-02-05"]
    path = write(tmp_path, policy(calendar={"rest_days": rest_days}))
    hint = 'write 2027-01-01 or "2027-02-05..2027-02-11"'
    assert problems(path) == [
        problem(
            "invalid_date",
            "`2027-02-30` is not a date or a date range",
            path,
            at(path, '"2027-02-30"'),
            "calendar.rest_days[1]",
            hint,
        ),
        problem(
            "invalid_date",
            "`2027-02-11..2027-02-05` is not a date or a date range",
            path,
            at(path, '"2027-02-11..2027-02-05"'),
            "calendar.rest_days[2]",
            hint,
        ),
    ]


# -- stage 2: the policy set ------------------------------------------------------------------

ID_HINT = "use lowercase letters, digits, `-`, `_` and `.`"


def test_invalid_ids(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        policy(
            meta={"id": "Kids"},
            bands=[{"id": "Child", "from": 0, "to": 18}, {"id": "unknown", "from": 18}],
            rules=[rule(id="No Games", bands=["Child"])],
        ),
    )
    assert problems(path) == [
        problem("invalid_id", "policy id `Kids` is not valid", path, (2, 1), "policy.id", ID_HINT),
        problem(
            "invalid_id",
            "band id `Child` is not valid",
            path,
            at(path, 'id = "Child"'),
            "bands[0].id",
            ID_HINT,
        ),
        problem(
            "invalid_id",
            "band id `unknown` is reserved",
            path,
            at(path, 'id = "unknown"'),
            "bands[1].id",
            "the band `unknown` (age not known) always exists; choose another id",
        ),
        problem(
            "invalid_id",
            "rule id `No Games` is not valid",
            path,
            at(path, 'id = "No Games"'),
            "rules[0].id",
            ID_HINT,
            rule="No Games",
        ),
    ]


def test_invalid_id_of_a_group_named_like_a_band(tmp_path: Path) -> None:
    path = write(tmp_path, policy(groups={"child": ["child"]}))
    assert problems(path) == [
        problem(
            "invalid_id",
            "group `child` has the name of a band",
            path,
            at(path, "child = ["),
            "groups.child",
            "choose another name for the group",
        )
    ]


def test_duplicate_policy_id(tmp_path: Path) -> None:
    first = write(tmp_path, policy(), "a.toml")
    second = write(tmp_path, policy(), "b.toml")
    assert problems(tmp_path) == [
        problem(
            "duplicate_policy_id",
            f"policy `kids` is also defined in `{first}`",
            second,
            (2, 1),
            "policy.id",
            "give each policy file its own `id`",
        )
    ]


def test_duplicate_default(tmp_path: Path) -> None:
    write(tmp_path, policy(meta={"default": True}), "a.toml")
    teens = write(tmp_path, policy(meta={"id": "teens", "default": True}), "b.toml")
    assert problems(tmp_path) == [
        problem(
            "duplicate_default",
            "policies `kids` and `teens` are both marked `default`",
            teens,
            at(teens, "default ="),
            "policy.default",
            "set `default = true` on one policy only",
        )
    ]


def test_invalid_timezone(tmp_path: Path) -> None:
    path = write(tmp_path, policy(meta={"timezone": "Asia/Shanghia"}))
    other = write(tmp_path, policy(meta={"id": "teens", "timezone": "Beijing"}), "teens.toml")
    assert problems(tmp_path) == [
        problem(
            "invalid_timezone",
            "`Asia/Shanghia` is not an IANA time zone",
            path,
            at(path, "timezone ="),
            "policy.timezone",
            "did you mean `Asia/Shanghai`?",
        ),
        problem(
            "invalid_timezone",
            "`Beijing` is not an IANA time zone",
            other,
            at(other, "timezone ="),
            "policy.timezone",
            "did you mean `Asia/Shanghai`?",
        ),
    ]


def test_unknown_calendar(tmp_path: Path) -> None:
    path = write(tmp_path, policy(meta={"calendar": "CNN"}))
    assert problems(path) == [
        problem(
            "unknown_calendar",
            "no holiday calendar for country `CNN`",
            path,
            at(path, "calendar ="),
            "policy.calendar",
            "did you mean `CN`?",
        )
    ]


# -- bands and groups -------------------------------------------------------------------------


def test_duplicate_band(tmp_path: Path) -> None:
    bands = [{"id": "child", "from": 0, "to": 10}, {"id": "child", "from": 10, "to": 18}, BANDS[1]]
    path = write(tmp_path, policy(bands=bands))
    assert problems(path) == [
        problem(
            "duplicate_band",
            "band `child` is defined twice",
            path,
            at(path, 'id = "child"', after="to = 10"),
            "bands[1].id",
            "give each band its own id",
        )
    ]


def test_invalid_band_range(tmp_path: Path) -> None:
    bands = [{"id": "child", "from": 0, "to": 18}, {"id": "adult", "from": 18, "to": 18}]
    path = write(tmp_path, policy(bands=bands))
    adult_to = at(path, "to = 18", after='id = "adult"')
    assert problems(path) == [
        problem(
            "band_gap",
            "no band covers ages 18 and over",
            path,
            adult_to,
            "bands[1].to",
            "leave out `to` on the oldest band",
        ),
        problem(
            "invalid_band_range",
            "band `adult` must end after it starts: `to` is 18, `from` is 18",
            path,
            adult_to,
            "bands[1].to",
            "`to` is the first age after the band: ages 8 to 11 are from = 8, to = 12",
        ),
    ]


def test_band_gaps(tmp_path: Path) -> None:
    bands = [
        {"id": "child", "from": 3, "to": 12},
        {"id": "teen", "from": 13, "to": 18},
        {"id": "adult", "from": 18, "to": 120},
    ]
    path = write(tmp_path, policy(bands=bands))
    assert problems(path) == [
        problem(
            "band_gap",
            "no band covers ages 0 to 2",
            path,
            at(path, "from = 3"),
            "bands[0].from",
            "start band `child` at 0 or add a band for the gap",
        ),
        problem(
            "band_gap",
            "no band covers age 12",
            path,
            at(path, "from = 13"),
            "bands[1].from",
            "start band `teen` at 12 or add a band for the gap",
        ),
        problem(
            "band_gap",
            "no band covers ages 120 and over",
            path,
            at(path, "to = 120"),
            "bands[2].to",
            "leave out `to` on the oldest band",
        ),
    ]


def test_band_overlap(tmp_path: Path) -> None:
    path = write(tmp_path, policy(bands=[BANDS[0], {"id": "adult", "from": 16}]))
    assert problems(path) == [
        problem(
            "band_overlap",
            "band `adult` overlaps another band at age 16",
            path,
            at(path, "from = 16"),
            "bands[1].from",
            "bands are half-open ranges [from, to): each starts where the last ends",
        )
    ]


def test_unknown_band_in_a_rule(tmp_path: Path) -> None:
    path = write(tmp_path, policy(rules=[rule(bands=["adult", "chlid", "seniors"])]))
    assert problems(path) == [
        problem(
            "unknown_band",
            "unknown band or group `chlid`",
            path,
            at(path, '"chlid"'),
            "rules[0].bands[1]",
            "did you mean `child`?",
            rule="no-games",
        ),
        problem(
            "unknown_band",
            "unknown band or group `seniors`",
            path,
            at(path, '"seniors"'),
            "rules[0].bands[2]",
            "bands and groups: adult, child, unknown",
            rule="no-games",
        ),
    ]


def test_unknown_band_in_a_group(tmp_path: Path) -> None:
    # `everyone` names `minors` before it is defined: that is fine, and `teen` is reported once
    groups = {"everyone": ["minors", "adult"], "minors": ["child", "teen"]}
    path = write(tmp_path, policy(groups=groups))
    assert problems(path) == [
        problem(
            "unknown_band",
            "group `minors` names unknown band `teen`",
            path,
            at(path, '"teen"'),
            "groups.minors[1]",
            "bands and groups: adult, child, everyone, minors, unknown",
        )
    ]


def test_group_cycle(tmp_path: Path) -> None:
    path = write(tmp_path, policy(groups={"a": ["b"], "b": ["a", "child"], "c": ["c"]}))
    assert problems(path) == [
        problem(
            "group_cycle",
            "groups include each other: a -> b -> a",
            path,
            at(path, '"a"', after="b = "),
            "groups.b[0]",
            "a group can name bands and other groups, but not itself",
        ),
        problem(
            "group_cycle",
            "group `c` includes itself",
            path,
            at(path, '"c"', after="c = "),
            "groups.c[0]",
            "a group can name bands and other groups, but not itself",
        ),
    ]


def test_nested_groups_load(tmp_path: Path) -> None:
    groups = {"all-minors": ["minors"], "minors": ["child"]}
    path = write(tmp_path, policy(groups=groups, rules=[rule(bands=["all-minors"])]))
    (compiled,) = load_policies([path])
    assert compiled.groups["all-minors"] == frozenset({"child"})


# -- the catalog ------------------------------------------------------------------------------


def test_invalid_action_name_and_tag(tmp_path: Path) -> None:
    actions = {**ACTIONS, "Video.Watch": {"tags": ["Video"]}}
    path = write(tmp_path, policy(actions=actions))
    assert problems(path) == [
        problem(
            "invalid_action_name",
            "action name `Video.Watch` is not valid",
            path,
            at(path, '[catalog.actions."Video.Watch"]'),
            'catalog.actions."Video.Watch"',
            "dotted lowercase words, e.g. `game.play`",
        ),
        problem(
            "invalid_tag",
            "tag `Video` is not valid",
            path,
            at(path, '"Video"'),
            'catalog.actions."Video.Watch".tags[0]',
            "lowercase snake_case",
        ),
    ]


# -- rules ------------------------------------------------------------------------------------


def test_duplicate_rule_id_in_one_file(tmp_path: Path) -> None:
    path = write(tmp_path, policy(rules=[rule(), rule(actions=["game.topup"])]))
    assert problems(path) == [
        problem(
            "duplicate_rule_id",
            "rule id `no-games` is used twice in this policy",
            path,
            at(path, 'id = "no-games"', after='actions = ["game.play"]'),
            "rules[1].id",
            "give each rule its own id",
            rule="no-games",
        )
    ]


def test_nothing_to_override_without_extends(tmp_path: Path) -> None:
    path = write(tmp_path, policy(rules=[rule(override=True)]))
    assert problems(path) == [
        problem(
            "nothing_to_override",
            "rule `no-games` sets `override` but no inherited rule has that id",
            path,
            at(path, "override ="),
            "rules[0].override",
            "`override` replaces a rule of the policy named in `extends`",
            rule="no-games",
        )
    ]


def test_invalid_reason_code(tmp_path: Path) -> None:
    path = write(tmp_path, policy(rules=[rule(reason="No-Games")]))
    assert problems(path) == [
        problem(
            "invalid_reason_code",
            "reason code `No-Games` is not snake_case",
            path,
            at(path, "reason ="),
            "rules[0].reason",
            'lowercase words joined by `_`, e.g. "curfew" or "game_time"',
            rule="no-games",
        )
    ]


def test_rule_without_actions(tmp_path: Path) -> None:
    path = write(tmp_path, policy(rules=[rule(actions=DROP)]))
    assert problems(path) == [
        problem(
            "rule_without_actions",
            "rule `no-games` names no `actions` and no `tags`",
            path,
            at(path, "[[rules]]"),
            "rules[0]",
            'use actions = ["*"] for every action',
            rule="no-games",
        )
    ]


def test_unknown_action(tmp_path: Path) -> None:
    path = write(tmp_path, policy(rules=[rule(actions=["game.plya", "game.*", "video.*"])]))
    assert problems(path) == [
        problem(
            "unknown_action",
            "action `game.plya` is not in the catalog",
            path,
            at(path, '"game.plya"'),
            "rules[0].actions[0]",
            "did you mean `game.play`?",
            rule="no-games",
        ),
        problem(
            "unknown_action",
            "no action in the catalog starts with `video.`",
            path,
            at(path, '"video.*"'),
            "rules[0].actions[2]",
            rule="no-games",
        ),
    ]


def test_unknown_tag(tmp_path: Path) -> None:
    path = write(tmp_path, policy(rules=[rule(actions=DROP, tags=["games"])]))
    assert problems(path) == [
        problem(
            "unknown_tag",
            "no action in the catalog has tag `games`",
            path,
            at(path, '"games"'),
            "rules[0].tags[0]",
            "did you mean `game`?",
            rule="no-games",
        )
    ]


# -- windows and days -------------------------------------------------------------------------

WINDOW_HINT = 'e.g. between = ["22:00", "06:00"]'


def test_invalid_window_needs_between_or_windows(tmp_path: Path) -> None:
    neither = rule(kind="deny_window", reason="curfew")
    both = rule(
        id="both",
        kind="allow_window",
        between=["20:00", "21:00"],
        windows=[{"between": ["20:00", "21:00"]}],
    )
    path = write(tmp_path, policy(rules=[neither, both]))
    message = "rule `{}` needs either `between` or `windows`, not both or neither"
    assert problems(path) == [
        problem(
            "invalid_window",
            message.format("no-games"),
            path,
            at(path, "[[rules]]", after='spend = "game_topup"'),
            "rules[0]",
            WINDOW_HINT,
            rule="no-games",
        ),
        problem(
            "invalid_window",
            message.format("both"),
            path,
            at(path, "[[rules]]", after='id = "no-games"'),
            "rules[1]",
            WINDOW_HINT,
            rule="both",
        ),
    ]


def test_invalid_window_days_go_inside_windows(tmp_path: Path) -> None:
    games = rule(kind="allow_window", days=["fri"], windows=[{"between": ["20:00", "21:00"]}])
    path = write(tmp_path, policy(rules=[games]))
    assert problems(path) == [
        problem(
            "invalid_window",
            "`days` and `except_days` go inside each window when `windows` is used",
            path,
            at(path, "days ="),
            "rules[0].days",
            rule="no-games",
        )
    ]


@pytest.mark.parametrize(("start", "end"), [("22:00", "22:00"), ("00:00", "24:00")])
def test_empty_window(tmp_path: Path, start: str, end: str) -> None:
    curfew = rule(kind="deny_window", reason="curfew", between=[start, end])
    path = write(tmp_path, policy(rules=[curfew]))
    assert problems(path) == [
        problem(
            "empty_window",
            f"a window from {start} to {end} is empty or the whole day",
            path,
            at(path, "between ="),
            "rules[0].between",
            "use kind `forbid` to deny all day",
            rule="no-games",
        )
    ]


def test_unknown_day(tmp_path: Path) -> None:
    curfew = rule(
        kind="deny_window",
        reason="curfew",
        between=["22:00", "06:00"],
        days=["mon", "fri_day"],
        except_days=["holidy"],
    )
    games = rule(
        id="games",
        kind="allow_window",
        windows=[{"between": ["20:00", "21:00"], "days": ["funday"]}],
    )
    path = write(tmp_path, policy(rules=[curfew, games]))
    assert problems(path) == [
        problem(
            "unknown_day",
            "`fri_day` is not a day selector",
            path,
            at(path, '"fri_day"'),
            "rules[0].days[1]",
            "did you mean `fri`?",
            rule="no-games",
        ),
        problem(
            "unknown_day",
            "`holidy` is not a day selector",
            path,
            at(path, '"holidy"'),
            "rules[0].except_days[0]",
            "did you mean `holiday`?",
            rule="no-games",
        ),
        problem(
            "unknown_day",
            "`funday` is not a day selector",
            path,
            at(path, '"funday"'),
            "rules[1].windows[0].days[0]",
            "days: mon, tue, wed, thu, fri, sat, sun, weekend, workday, holiday, makeup_workday, *",
            rule="games",
        ),
    ]


def test_unknown_day_type(tmp_path: Path) -> None:
    budget = rule(kind="daily_budget", limit="1h", limit_by_day={"weekends": "2h"})
    path = write(tmp_path, policy(rules=[budget]))
    assert problems(path) == [
        problem(
            "unknown_day_type",
            "`weekends` is not a day type",
            path,
            at(path, "weekends ="),
            "rules[0].limit_by_day.weekends",
            "did you mean `weekend`?",
            rule="no-games",
        )
    ]


def test_cap_on_non_spending_action(tmp_path: Path) -> None:
    cap = rule(kind="spending_cap", actions=["game.*"], period="month", max="200.00")
    path = write(tmp_path, policy(rules=[cap]))
    assert problems(path) == [
        problem(
            "cap_on_non_spending_action",
            "spending cap `no-games` applies to `game.play`, which has no `spend` kind",
            path,
            at(path, "actions ="),
            "rules[0].actions",
            'set spend = "..." on [catalog.actions."game.play"]',
            rule="no-games",
        )
    ]


def test_cap_on_non_spending_action_by_tag(tmp_path: Path) -> None:
    cap = rule(kind="spending_cap", actions=DROP, tags=["game"], period="day", max="50")
    path = write(tmp_path, policy(rules=[cap]))
    assert problems(path) == [
        problem(
            "cap_on_non_spending_action",
            "spending cap `no-games` applies to `game.play`, which has no `spend` kind",
            path,
            at(path, "tags =", after='kind = "spending_cap"'),
            "rules[0].tags",  # where the action was selected, as there are no `actions`
            'set spend = "..." on [catalog.actions."game.play"]',
            rule="no-games",
        )
    ]


# -- extends ----------------------------------------------------------------------------------


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


def test_extends_cycle(tmp_path: Path) -> None:
    write(tmp_path, policy(meta={"id": "a", "extends": "b"}), "a.toml")
    write(tmp_path, policy(meta={"id": "b", "extends": "c"}), "b.toml")
    c = write(tmp_path, policy(meta={"id": "c", "extends": "b"}), "c.toml")
    loop = write(tmp_path, policy(meta={"id": "d", "extends": "d"}), "d.toml")
    hint = "a policy cannot extend itself, directly or through others"
    assert problems(tmp_path) == [
        problem(
            "extends_cycle",
            "`extends` makes a cycle: b -> c -> b",
            c,
            at(c, "extends ="),
            "policy.extends",
            hint,
        ),
        problem(
            "extends_cycle",
            "`extends` makes a cycle: d -> d",
            loop,
            at(loop, "extends ="),
            "policy.extends",
            hint,
        ),
    ]  # reported once per cycle, and `a`, which only extends into it, is not blamed


def test_unknown_policy(tmp_path: Path) -> None:
    with_baseline(tmp_path)
    path = write(tmp_path, child_policy(meta={"extends": "cn-basline"}), "acme.toml")
    assert problems(tmp_path) == [
        problem(
            "unknown_policy",
            "policy `acme` extends unknown policy `cn-basline`",
            path,
            at(path, "extends ="),
            "policy.extends",
            "did you mean `cn-baseline`?",
        )
    ]


def test_a_broken_parent_is_reported_once_and_fails_its_children(tmp_path: Path) -> None:
    write(tmp_path, policy(meta={"timezone": "Asia/Shanghia"}), "kids.toml")
    child = policy(meta={"id": "acme", "extends": "kids"}, bands=[], actions={}, rules=[])
    write(tmp_path, child, "acme.toml")
    assert [p.code for p in problems(tmp_path)] == ["invalid_timezone"]


def test_bands_redefined(tmp_path: Path) -> None:
    with_baseline(tmp_path)
    path = write(tmp_path, child_policy(bands=BANDS), "acme.toml")
    assert problems(tmp_path) == [
        problem(
            "bands_redefined",
            "bands are inherited from `cn-baseline` and cannot be redefined",
            path,
            at(path, '[[bands]]\nid = "child"'),
            "bands",
            "refer to the parent's bands or add groups of them",
        )
    ]


def test_a_child_can_add_groups_but_not_redefine_them(tmp_path: Path) -> None:
    with_baseline(tmp_path)
    groups = {"minors": ["3-8"], "teens": ["12-16", "16-18"], "kids": ["8-12", "tween"]}
    path = write(tmp_path, child_policy(groups=groups), "acme.toml")
    assert problems(tmp_path) == [
        problem(
            "duplicate_group",
            "group `minors` is already defined by `cn-baseline`",
            path,
            at(path, "minors ="),
            "groups.minors",
            "choose another name for the group",
        ),
        problem(
            "unknown_band",
            "group `kids` names unknown band `tween`",
            path,
            at(path, '"tween"'),
            "groups.kids[1]",
            "did you mean `teens`?",
        ),
    ]


def test_duplicate_action(tmp_path: Path) -> None:
    with_baseline(tmp_path)
    path = write(tmp_path, child_policy(actions={"game.play": {"metered": True}}), "acme.toml")
    assert problems(tmp_path) == [
        problem(
            "duplicate_action",
            "action `game.play` is already in the catalog of `cn-baseline`",
            path,
            at(path, '[catalog.actions."game.play"]'),
            'catalog.actions."game.play"',
            "an inherited action cannot be redefined; use it or choose another name",
        )
    ]


def test_duplicate_rule_id_of_an_inherited_rule(tmp_path: Path) -> None:
    with_baseline(tmp_path)
    curfew = rule(id="curfew", bands=["minors"])
    path = write(tmp_path, child_policy(rules=[curfew]), "acme.toml")
    assert problems(tmp_path) == [
        problem(
            "duplicate_rule_id",
            "rule `curfew` is already defined by `cn-baseline`",
            path,
            at(path, 'id = "curfew"'),
            "rules[0].id",
            "set `override = true` to replace it, or choose another id",
            rule="curfew",
        )
    ]


def test_nothing_to_override_suggests_the_inherited_rule(tmp_path: Path) -> None:
    with_baseline(tmp_path)
    curfew = rule(id="curfw", override=True, bands=["minors"])
    noise = rule(id="noise", override=True, bands=["minors"])
    path = write(tmp_path, child_policy(rules=[curfew, noise]), "acme.toml")
    assert problems(tmp_path) == [
        problem(
            "nothing_to_override",
            "rule `curfw` sets `override` but no inherited rule has that id",
            path,
            at(path, "override =", after='id = "curfw"'),
            "rules[0].override",
            "did you mean `curfew`?",
            rule="curfw",
        ),
        problem(
            "nothing_to_override",
            "rule `noise` sets `override` but no inherited rule has that id",
            path,
            at(path, "override =", after='id = "noise"'),
            "rules[1].override",
            "`cn-baseline` has no rule `noise`; remove `override`",
            rule="noise",
        ),
    ]


def test_unknown_band_in_a_child_suggests_a_parent_group(tmp_path: Path) -> None:
    with_baseline(tmp_path)
    path = write(tmp_path, child_policy(rules=[rule(id="acme-games", bands=["minor"])]), "a.toml")
    assert problems(tmp_path) == [
        problem(
            "unknown_band",
            "unknown band or group `minor`",
            path,
            at(path, '"minor"'),
            "rules[0].bands[0]",
            "did you mean `minors`?",
            rule="acme-games",
        )
    ]


# -- every problem at once, and all or nothing ------------------------------------------------

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


def test_every_cross_reference_problem_is_reported_at_once(tmp_path: Path) -> None:
    rules = [
        rule(bands=["kids"]),
        rule(id="spend", actions=["game.purchase"]),
        rule(
            id="late", kind="deny_window", reason="curfew", between=["22:00", "06:00"], days=["x"]
        ),
    ]
    path = write(tmp_path, policy(meta={"timezone": "UTC+8"}, rules=rules))
    found = problems(path)
    assert [(p.code, p.key, p.rule) for p in found] == [
        ("invalid_timezone", "policy.timezone", None),
        ("unknown_band", "rules[0].bands[0]", "no-games"),
        ("unknown_action", "rules[1].actions[0]", "spend"),
        ("unknown_day", "rules[2].days[0]", "late"),
    ]
    assert [p.line for p in found] == sorted(p.line or 0 for p in found)


def test_a_set_with_any_error_is_rejected_whole(tmp_path: Path) -> None:
    write(tmp_path, policy(meta={"default": True}), "kids.toml")
    broken = write(tmp_path, policy(meta={"id": "teens"}, rules=[rule(bands=["teen"])]), "t.toml")
    policies, found = check_policies([tmp_path])
    assert policies == []
    assert [(p.code, p.file) for p in found] == [("unknown_band", str(broken))]
    with pytest.raises(PolicyError) as caught:
        load_policies([tmp_path])
    assert [p.code for p in caught.value.problems] == ["unknown_band"]


# -- how a problem reads ----------------------------------------------------------------------


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
