"""Stage 1 of loading: read TOML files into policy documents, keeping where every key is.

Each file is parsed by `tomllib`, its key positions indexed, and its tables validated into
`PolicyDocument` models. Every problem is collected, with file, line, key and a hint, and none
stops the others from being found.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from youthmode.errors import Problem, did_you_mean
from youthmode.policies import diagnostics as d
from youthmode.policies import kinds, schema
from youthmode.policies.languages import raw_message_keys
from youthmode.policies.positions import KeyPath, PositionIndex
from youthmode.policies.salvage import Salvaged, file_path, salvage
from youthmode.policies.source import TomlSource, format_key, locate, pasted_hint, read_toml

__all__ = ["SourceFile", "format_key", "load_file", "load_file_salvaging", "policy_files"]


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One policy file as read: its document, key positions and content digest."""

    path: str
    document: schema.PolicyDocument
    positions: PositionIndex
    sha256: str
    data: bytes = b""  # the exact bytes loaded, for the last-good snapshot

    def problem(self, path: KeyPath, finding: d.Finding, rule: str | None = None) -> Problem:
        """``finding`` located at the key ``path`` of this file."""
        return locate(finding, self.path, self.positions, path, rule)


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
    source, problems, _ = load_file_salvaging(path, salvaging=False)
    return source, problems


def load_file_salvaging(
    path: Path, salvaging: bool = True
) -> tuple[SourceFile | None, list[Problem], Salvaged | None]:
    """As `load_file`; and for a file whose tables have errors, a mended document to
    cross-check (`salvage.py`) with what the mending masks. Its problems are the same."""
    name = str(path)
    try:
        source, problems = read_toml(path)
        if source is None:
            return None, problems, None
        return _document(source, salvaging)
    except RecursionError:
        return None, [d.TOML_TOO_DEEP().at(name)], None
    except Exception as err:  # MemoryError, a parser bug, ...: the file, not the server, fails
        reason = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        return None, [d.UNREADABLE_FILE(name=name, reason=reason).at(name)], None


def _document(
    source: TomlSource, salvaging: bool
) -> tuple[SourceFile | None, list[Problem], Salvaged | None]:
    """Validate a parsed file into a policy document; the file, or every problem in order."""
    raw, positions, name = source.raw, source.positions, source.name
    try:
        document = schema.PolicyDocument.model_validate(raw)
    except ValidationError as err:
        errors = _merge_match_errors(err.errors())
        undeclared = raw_message_keys(raw)  # a key, not its value, is the problem there
        keys = {path for path, _ in undeclared}
        errors = [e for e in errors if file_path(tuple(e["loc"])) not in keys]
        found = [_schema_problem(e, raw, positions, name) for e in errors]
        for path, finding in undeclared:
            found.append(locate(finding, name, positions, path, _rule_id(path, raw)))
        found.sort(key=Problem.sort_key)  # in file order, not the schema's
        mended = salvage(raw, err.errors()) if salvaging else None
        if mended is None:
            return None, found, None
        return SourceFile(name, mended.document, positions, "", source.data), found, mended
    digest = hashlib.sha256(source.data).hexdigest()
    return SourceFile(name, document, positions, digest, source.data), [], None


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
    loc = file_path(tuple(error["loc"]))
    if error["type"] == "union_tag_invalid":
        loc = (*loc, "kind")  # the problem is the rule's `kind`, not the rule
    finding = _schema_finding(error, loc, raw)
    return locate(finding, name, positions, loc, _rule_id(loc, raw))


_UNIT_KINDS = frozenset(d.UNIT_ERRORS)
_TYPE_KINDS = frozenset({"model_attributes_type", "tuple_type"})


def _schema_finding(error: Any, loc: KeyPath, raw: dict[str, Any]) -> d.Finding:
    """What a pydantic error means in the words of a policy file."""
    kind, ctx = error["type"], error.get("ctx") or {}
    key = _key_name(loc[:-1] if kind == "union_tag_invalid" else loc)
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1], raw)
        allowed = schema.model_keys(model) if model else []
        hint = did_you_mean(key, allowed) or (
            f"allowed keys: {', '.join(allowed)}" if allowed else None
        )
        return d.UNKNOWN_KEY(key=key, hint=hint)
    if kind == "missing":
        hint = d.MISSING_KEY_HINTS.get(key)
        if key == "id" and loc and loc[0] in d.ID_EXAMPLES:
            hint = f"e.g. id = {d.ID_EXAMPLES[str(loc[0])]}"
        return d.MISSING_KEY(key=key, hint=hint)
    if kind == "union_tag_invalid":
        tag = str(ctx.get("tag"))
        hint = did_you_mean(tag, kinds.NAMES) or ("kinds: " + ", ".join(kinds.NAMES))
        return d.UNKNOWN_RULE_KIND(kind=ctx.get("tag"), hint=hint)
    if kind == "union_tag_not_found":
        return d.MISSING_RULE_KIND(kinds=", ".join(kinds.NAMES))
    if kind in _UNIT_KINDS:
        value = error.get("input")
        pasted = pasted_hint(value, in_value=True) if isinstance(value, str) else None
        return d.UNIT_ERRORS[kind](detail=_lower(error["msg"]), hint=pasted or ctx.get("hint"))
    if kind.endswith("_type") or kind in _TYPE_KINDS:
        return _type_finding(error, key)
    return _value_finding(error, key)


def _type_finding(error: Any, key: str) -> d.Finding:
    kind, value = error["type"], error.get("input")
    quoted = kind in {"int_type", "decimal_type"} and isinstance(value, str)
    wording = d.INVALID_TYPE_QUOTED_NUMBER if quoted else d.INVALID_TYPE
    return wording(key=key, expected=_expected(kind), found=_toml_type(value))


def _value_finding(error: Any, key: str) -> d.Finding:
    """An `invalid_value`: a choice, a length or a bound, or pydantic's own words."""
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        hint = did_you_mean(str(value), re.findall(r"'([^']*)'", expected))
        return d.NOT_A_CHOICE(value=value, key=key, expected=expected, hint=hint)
    if kind in {"too_short", "too_long"} and isinstance(value, list):
        count = len(value)
        items = f"{count} item{'s' if count != 1 else ''}"
        if key == "between":
            return d.BETWEEN_LENGTH(items=items)
        short = kind == "too_short"
        wanted = ctx.get("min_length") if short else ctx.get("max_length")
        return d.WRONG_LENGTH(
            key=key, bound="at least" if short else "at most", wanted=wanted, items=items
        )
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return d.EMPTY_TEXT(key=key)
    if kind in {"greater_than_equal", "greater_than"}:
        relation = "at least" if kind == "greater_than_equal" else "more than"
        return d.OUT_OF_RANGE(
            key=key, relation=relation, bound=ctx.get("ge", ctx.get("gt")), value=value
        )
    return d.INVALID_VALUE(detail=_lower(error["msg"]))


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
