"""Stage 1 of loading: read TOML files into policy documents, keeping where every key is.

Each file is parsed by `tomllib`, its key positions indexed, and its tables validated into
`PolicyDocument` models. Every problem is collected, with file, line, key and a hint, and none
stops the others from being found.
"""

from __future__ import annotations

import ast
import hashlib
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from youthmode.errors import Problem, did_you_mean
from youthmode.policies import kinds, schema
from youthmode.policies.positions import Path as KeyPath
from youthmode.policies.positions import PositionIndex, index_positions

_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
_TOML_TABLE = re.compile(r"\((?:'[^']*',? ?)+\)")
# A bare value TOML cannot read but a person meant as a string: 22:00, 40m, no-games.
_UNQUOTED = re.compile(
    r"=\s*(?!true\b|false\b|inf\b|nan\b)(\d{1,2}:\d{2}|\d+\s*[hms]\b|[A-Za-z][\w.-]*)"
)
# An unquoted time or duration inside a list: `between = [22:00, 06:00]`, `["40m"` aside.
_UNQUOTED_IN_LIST = re.compile(r"[\[,]\s*(\d{1,2}:\d{2}|\d+\s*[hms]\b)")
_MISSING_HINTS = {
    "policy": 'start the file with a [policy] table, e.g. [policy] id = "acme-kids"',
    "message": 'e.g. message = { zh-CN = "…", en = "…" }',
    "zh-CN": "a message is given in both `zh-CN` and `en`",
    "en": "a message is given in both `zh-CN` and `en`",
    "from": "the first age in the band, e.g. from = 8",
    "limit": 'e.g. limit = "1h"',
    "period": 'one of "transaction", "day" or "month"',
    "max": 'e.g. max = "50.00"',
    "after": 'e.g. after = "30m"',
    "before": 'e.g. before = "5m"',
    "between": 'e.g. between = ["20:00", "21:00"]',
}
_ID_EXAMPLES = {"policy": '"acme-kids"', "bands": '"8-12"', "rules": '"curfew"'}


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One policy file as read: its document, raw table, positions and content digest."""

    path: str
    document: schema.PolicyDocument
    raw: dict[str, Any]
    positions: PositionIndex
    sha256: str
    data: bytes = b""  # the exact bytes loaded, for the last-good snapshot

    def problem(self, path: KeyPath, code: str, message: str, **more: Any) -> Problem:
        """A problem located at ``path`` in this file."""
        where = self.positions.find(path)
        line, column = where if where else (None, None)
        return Problem(code, message, self.path, line, column, format_key(path) or None, **more)


def format_key(path: KeyPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else f'"{part}"'
            out += f".{text}" if out else text
    return out


def policy_files(paths: Iterable[str | Path]) -> list[Path]:
    """Every `*.toml` policy file named, or inside a named folder (not recursive), sorted."""
    files: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            # `*_test.toml` files beside the policies are policy tests, not policies.
            files.extend(
                sorted(
                    p
                    for p in path.glob("*.toml")
                    if p.is_file() and not p.name.endswith("_test.toml")
                )
            )
        else:
            files.append(path)
    return files


def load_file(path: Path) -> tuple[SourceFile | None, list[Problem]]:
    """One file's document, or its problems. Never raises: whatever goes wrong reading one
    file is a problem of that file, and the load that includes it is rejected."""
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        reason = err.strerror or str(err)
        return None, [Problem("unreadable_file", f"cannot read `{name}`: {reason}", name)]
    try:
        return load_text(data, name)
    except RecursionError:
        message = "values are nested too deeply to read (arrays or tables inside each other)"
        hint = "a policy needs a few levels of nesting; is this the file you meant?"
        return None, [Problem("toml_syntax", message, name, hint=hint)]
    except Exception as err:  # MemoryError, a parser bug, ...: the file, not the server, fails
        reason = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        return None, [Problem("unreadable_file", f"cannot read `{name}`: {reason}", name)]


def load_text(data: bytes, name: str) -> tuple[SourceFile | None, list[Problem]]:
    """Parse and validate one file's bytes; returns the file or the problems found."""
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark, as some editors write, is fine
    except UnicodeDecodeError as err:
        return None, [_encoding_problem(err, data, name)]
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        return None, [_syntax_problem(err, text, name)]
    positions = index_positions(text)
    try:
        document = schema.PolicyDocument.model_validate(raw)
    except ValidationError as err:
        errors = _merge_match_errors(err.errors())
        found = [_schema_problem(e, raw, positions, name) for e in errors]
        return None, sorted(found, key=Problem.sort_key)  # in file order, not the schema's
    digest = hashlib.sha256(data).hexdigest()
    return SourceFile(name, document, raw, positions, digest, data), []


def _encoding_problem(err: UnicodeDecodeError, data: bytes, name: str) -> Problem:
    line = data.count(b"\n", 0, err.start) + 1
    column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
    message = f"file is not UTF-8: byte 0x{data[err.start]:02x} is not valid here ({err.reason})"
    return Problem("invalid_encoding", message, name, line, column, hint="save the file as UTF-8")


def _syntax_problem(err: tomllib.TOMLDecodeError, source: str, name: str) -> Problem:
    message = str(err)
    match = _TOML_POSITION.search(message)
    line, column = (int(match[1]), int(match[2])) if match else (None, None)
    text = _TOML_POSITION.sub("", message).strip()
    text = _TOML_TABLE.sub(_table_name, text)
    text = text[0].lower() + text[1:] if text else "invalid TOML"
    lines = source.splitlines()
    if text.endswith("(at end of document)"):
        text = text.removesuffix("(at end of document)").strip() + " at the end of the file"
        line = max(len(lines), 1)
    line_text = lines[line - 1] if line is not None and 0 < line <= len(lines) else ""
    return Problem("toml_syntax", text, name, line, column, hint=_syntax_hint(text, line_text))


def _table_name(match: re.Match[str]) -> str:
    """tomllib names tables as Python tuples, `('a', 'b')`: show `table [a.b]` instead."""
    try:
        parts = ast.literal_eval(match[0])
    except (ValueError, SyntaxError):
        return match[0]
    return f"table `[{format_key(tuple(parts))}]`" if isinstance(parts, tuple) else match[0]


def _syntax_hint(text: str, line_text: str) -> str | None:
    lowered = text.lower()
    if lowered.endswith("at the end of the file"):
        return "a list `[`, inline table `{` or string is not closed"
    if "cannot overwrite" in lowered or "cannot declare" in lowered:
        return "a key or table is defined twice"
    if "illegal character '\\n'" in lowered:
        return "close the string with a quote on the same line"
    if "initial character for a key" in lowered and "{" in line_text:
        return "an inline table { ... } stays on one line, with no comma after the last item"
    if re.search(r"=\s*$", line_text.split("#")[0]):
        return "write a value after `=`"
    code = line_text.split("#")[0]
    if "invalid value" in lowered or _UNQUOTED.search(code) or _UNQUOTED_IN_LIST.search(code):
        return 'strings need quotes, e.g. "22:00" or "40m"'
    return None


def _merge_match_errors(errors: list[Any]) -> list[Any]:
    """A bad `match` value fails both `str` and `list[str]`: keep the one error that fits it."""
    out: list[Any] = []
    for error in errors:
        loc = tuple(error["loc"])
        if len(loc) < 6 or loc[0] != "rules" or loc[3] != "match":
            out.append(error)
        elif loc[5] == "str" and not isinstance(error.get("input"), list):
            out.append({**error, "type": "str_or_list_type", "loc": loc[:5]})
        elif loc[5] != "str" and len(loc) > 6:  # an item of a list
            out.append(error)
    return out


def _schema_problem(
    error: Any, raw: dict[str, Any], positions: PositionIndex, name: str
) -> Problem:
    loc = _clean_loc(tuple(error["loc"]))
    kind = error["type"]
    ctx = error.get("ctx") or {}
    key = _key_name(loc)
    code, message, hint = "invalid_value", _lower(error["msg"]), None
    if kind == "extra_forbidden":
        code, message = "unknown_key", f"unknown key `{key}`"
        model = _model_at(loc[:-1], raw)
        allowed = schema.model_keys(model) if model else []
        hint = did_you_mean(key, allowed) or (
            f"allowed keys: {', '.join(allowed)}" if allowed else None
        )
    elif kind == "missing":
        code, message = "missing_key", f"missing required key `{key}`"
        hint = _MISSING_HINTS.get(key)
        if key == "id" and loc and loc[0] in _ID_EXAMPLES:
            hint = f"e.g. id = {_ID_EXAMPLES[str(loc[0])]}"
    elif kind == "union_tag_invalid":
        code, message = "unknown_rule_kind", f"unknown rule kind `{ctx.get('tag')}`"
        loc = (*loc, "kind")
        hint = did_you_mean(str(ctx.get("tag")), kinds.NAMES) or (
            "kinds: " + ", ".join(kinds.NAMES)
        )
    elif kind == "union_tag_not_found":
        code, message = "missing_key", "rule needs a `kind`"
        hint = "kinds: " + ", ".join(kinds.NAMES)
    elif kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        choices = re.findall(r"'([^']*)'", expected)
        message = f"`{error.get('input')}` is not allowed for `{key}`; expected {expected}"
        hint = did_you_mean(str(error.get("input")), choices)
    elif kind in {"invalid_duration", "invalid_time", "invalid_amount", "invalid_date"}:
        code, hint = kind, ctx.get("hint")
    elif kind.endswith("_type") or kind in {"model_attributes_type", "tuple_type"}:
        code = "invalid_type"
        message = f"`{key}` must be {_expected(kind)}, not {_toml_type(error.get('input'))}"
        if kind in {"int_type", "decimal_type"} and isinstance(error.get("input"), str):
            hint = "write the number without quotes"
    elif kind in {"too_short", "too_long"} and isinstance(error.get("input"), list):
        count = len(error["input"])
        wanted = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        items = f"{count} item{'s' if count != 1 else ''}"
        message = f"`{key}` needs {'at least' if kind == 'too_short' else 'at most'} {wanted}"
        message += f" items, not {items}"
        if key == "between":
            message = f"`between` needs a start and an end time, not {items}"
            hint = 'e.g. between = ["22:00", "06:00"]'
    elif kind == "string_too_short" and ctx.get("min_length") == 1:
        message = f"`{key}` must not be empty"
    elif kind in {"greater_than_equal", "greater_than"}:
        bound = ctx.get("ge", ctx.get("gt"))
        relation = "at least" if kind == "greater_than_equal" else "more than"
        message = f"`{key}` must be {relation} {bound}, not {error.get('input')}"
    where = positions.find(loc)
    line, column = where if where else (None, None)
    return Problem(
        code,
        message,
        name,
        line,
        column,
        format_key(loc) or None,
        hint=hint,
        rule=_rule_id(loc, raw),
    )


def _key_name(loc: KeyPath) -> str:
    """The key a problem is about, with any list indexes after it: `official_years[0]`."""
    end = len(loc)
    while end > 0 and isinstance(loc[end - 1], int):
        end -= 1
    return (str(loc[end - 1]) if end else "") + "".join(f"[{i}]" for i in loc[end:])


def _rule_id(loc: KeyPath, raw: dict[str, Any]) -> str | None:
    """The id of the rule a problem is in, when the rule table has one."""
    if len(loc) < 2 or loc[0] != "rules" or not isinstance(loc[1], int):
        return None
    rules = raw.get("rules")
    rule = rules[loc[1]] if isinstance(rules, list) and loc[1] < len(rules) else None
    rule_id = rule.get("id") if isinstance(rule, dict) else None
    return rule_id if isinstance(rule_id, str) else None


def _clean_loc(loc: tuple[Any, ...]) -> KeyPath:
    """Drop pydantic's union-member tags so the path is the file's own key path."""
    out: list[str | int] = []
    for i, part in enumerate(loc):
        if i == 2 and loc[0] == "rules" and part in kinds.MODELS:
            continue
        if isinstance(part, str) and ("[" in part or part.startswith("function-")):
            continue
        out.append(part)
    return tuple(out)


def _model_at(path: KeyPath, raw: dict[str, Any]) -> type[BaseModel] | None:
    """The schema model of the table at ``path``, for listing its allowed keys."""
    fixed: dict[KeyPath, type[BaseModel]] = {
        (): schema.PolicyDocument,
        ("policy",): schema.PolicyMeta,
        ("calendar",): schema.CalendarOverrides,
        ("catalog",): schema.Catalog,
    }
    if path in fixed:
        return fixed[path]
    if len(path) == 2 and path[0] == "bands":
        return schema.Band
    if len(path) == 3 and path[:2] == ("catalog", "actions"):
        return schema.ActionSpec
    if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
        rules = raw.get("rules")
        rule = rules[path[1]] if isinstance(rules, list) and path[1] < len(rules) else {}
        if len(path) == 2:
            return kinds.MODELS.get(rule.get("kind", "")) if isinstance(rule, dict) else None
        if path[2] == "message":
            return schema.Messages
        if path[2] == "windows":
            return schema.Window
    return None


def _expected(kind: str) -> str:
    return {
        "string_type": "a string",
        "int_type": "a whole number",
        "bool_type": "true or false",
        "list_type": "a list",
        "dict_type": "a table",
        "model_type": "a table",
        "model_attributes_type": "a table",
        "tuple_type": "a list",
        "decimal_type": "a decimal string",
        "date_type": "a date",
        "str_or_list_type": "a string or a list of strings",
    }.get(kind, kind.removesuffix("_type"))


def _toml_type(value: object) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    for kind, name in names.items():
        if type(value) is kind:
            return f"{name} `{value}`"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _lower(text: str) -> str:
    return text[0].lower() + text[1:] if text else text
