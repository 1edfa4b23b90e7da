"""Stage 1 of loading: read TOML files into policy documents, keeping where every key is.

Each file is parsed by `tomllib`, its key positions indexed, and its tables validated into
`PolicyDocument` models. Every problem is collected, with file, line, key and a hint, and none
stops the others from being found.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from youthmode.errors import Problem, did_you_mean
from youthmode.policies import schema
from youthmode.policies.positions import Path as KeyPath
from youthmode.policies.positions import PositionIndex, index_positions

_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
_RULE_MODELS: dict[str, type[BaseModel]] = {
    "deny_window": schema.DenyWindowRule,
    "allow_window": schema.AllowWindowRule,
    "daily_budget": schema.DailyBudgetRule,
    "spending_cap": schema.SpendingCapRule,
    "forbid": schema.ForbidRule,
    "require_consent": schema.ConsentRule,
    "require_verified": schema.VerifiedRule,
    "content_age": schema.ContentAgeRule,
    "stranger_contact": schema.StrangerContactRule,
    "resource_match": schema.ResourceMatchRule,
    "rest_reminder": schema.RestReminderRule,
    "lockout_warning": schema.LockoutWarningRule,
}


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One policy file as read: its document, raw table, positions and content digest."""

    path: str
    document: schema.PolicyDocument
    raw: dict[str, Any]
    positions: PositionIndex
    sha256: str

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
            files.extend(sorted(p for p in path.glob("*.toml") if p.is_file()))
        else:
            files.append(path)
    return files


def load_file(path: Path) -> tuple[SourceFile | None, list[Problem]]:
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        return None, [Problem("unreadable_file", f"cannot read `{name}`: {err.strerror}", name)]
    return load_text(data, name)


def load_text(data: bytes, name: str) -> tuple[SourceFile | None, list[Problem]]:
    """Parse and validate one file's bytes; returns the file or the problems found."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        return None, [Problem("invalid_encoding", f"file is not UTF-8 ({err.reason})", name)]
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        return None, [_syntax_problem(err, name)]
    positions = index_positions(text)
    try:
        document = schema.PolicyDocument.model_validate(raw)
    except ValidationError as err:
        return None, [_schema_problem(e, raw, positions, name) for e in err.errors()]
    digest = hashlib.sha256(data).hexdigest()
    return SourceFile(name, document, raw, positions, digest), []


def _syntax_problem(err: tomllib.TOMLDecodeError, name: str) -> Problem:
    message = str(err)
    match = _TOML_POSITION.search(message)
    line, column = (int(match[1]), int(match[2])) if match else (None, None)
    text = _TOML_POSITION.sub("", message).strip()
    text = text[0].lower() + text[1:] if text else "invalid TOML"
    return Problem("toml_syntax", f"{text}", name, line, column, hint=_syntax_hint(text))


def _syntax_hint(text: str) -> str | None:
    if "invalid value" in text.lower():
        return 'strings need quotes, e.g. "22:00" or "40m"'
    if "cannot overwrite" in text.lower() or "cannot declare" in text.lower():
        return "a key or table is defined twice"
    return None


def _schema_problem(
    error: Any, raw: dict[str, Any], positions: PositionIndex, name: str
) -> Problem:
    loc = _clean_loc(tuple(error["loc"]))
    kind = error["type"]
    ctx = error.get("ctx") or {}
    key = str(loc[-1]) if loc else ""
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
    elif kind == "union_tag_invalid":
        code, message = "unknown_rule_kind", f"unknown rule kind `{ctx.get('tag')}`"
        loc = (*loc, "kind")
        hint = did_you_mean(str(ctx.get("tag")), schema.RULE_KINDS) or (
            "kinds: " + ", ".join(schema.RULE_KINDS)
        )
    elif kind == "union_tag_not_found":
        code, message = "missing_key", "rule needs a `kind`"
        hint = "kinds: " + ", ".join(schema.RULE_KINDS)
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
        code = "invalid_value"
        message = f"`{key}` has {len(error['input'])} items; {_lower(error['msg'])}"
    where = positions.find(loc)
    line, column = where if where else (None, None)
    return Problem(code, message, name, line, column, format_key(loc) or None, hint=hint)


def _clean_loc(loc: tuple[Any, ...]) -> KeyPath:
    """Drop pydantic's union-member tags so the path is the file's own key path."""
    out: list[str | int] = []
    for i, part in enumerate(loc):
        if i == 2 and loc[0] == "rules" and part in _RULE_MODELS:
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
            return _RULE_MODELS.get(rule.get("kind", "")) if isinstance(rule, dict) else None
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
