"""Reading a TOML file with positions: the one reader of policy files and policy-test files.

`read_toml` reads the bytes, `parse_toml` decodes them (UTF-8, a byte-order mark allowed),
parses them with `tomllib` and indexes where every key is (`positions.py`). What goes wrong is
a located problem, never an exception: `unreadable_file`, `invalid_encoding` (at the bad
byte) or `toml_syntax` (at tomllib's line and column, in plainer words, with a hint). What the
tables must hold is the caller's: `loader.py` validates a policy document.
"""

from __future__ import annotations

import ast
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from youthmode.errors import Problem
from youthmode.policies import diagnostics as d
from youthmode.policies.positions import KeyPath, PositionIndex, index_positions

_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
_TOML_TABLE = re.compile(r"\((?:'[^']*',? ?)+\)")
# A bare value TOML cannot read but a person meant as a string: 22:00, 40m, no-games.
_UNQUOTED = re.compile(
    r"=\s*(?!true\b|false\b|inf\b|nan\b)(\d{1,2}:\d{2}|\d+\s*[hms]\b|[A-Za-z][\w.-]*)"
)
# An unquoted time or duration inside a list: `between = [22:00, 06:00]`, `["40m"` aside.
_UNQUOTED_IN_LIST = re.compile(r"[\[,]\s*(\d{1,2}:\d{2}|\d+\s*[hms]\b)")


@dataclass(frozen=True, slots=True)
class TomlSource:
    """One TOML file as read: its name, exact bytes, text, tables and key positions."""

    name: str
    data: bytes
    text: str
    raw: dict[str, Any]
    positions: PositionIndex

    def problem(self, path: KeyPath, finding: d.Finding, rule: str | None = None) -> Problem:
        """``finding`` located at the key ``path`` of this file."""
        return locate(finding, self.name, self.positions, path, rule)


def locate(
    finding: d.Finding,
    name: str,
    positions: PositionIndex,
    path: KeyPath,
    rule: str | None = None,
) -> Problem:
    """``finding`` at the line and column of ``path`` (or its nearest ancestor) in ``name``."""
    where = positions.find(path)
    line, column = where if where else (None, None)
    return finding.at(name, line, column, format_key(path) or None, rule)


def format_key(path: KeyPath) -> str:
    """A key path as a person writes it: `rules[3].between`, `catalog.actions."game.play"`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else f'"{part}"'
            out += f".{text}" if out else text
    return out


def read_toml(path: Path) -> tuple[TomlSource | None, list[Problem]]:
    """Read and parse one file; the source, or the one problem that stopped it."""
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        reason = err.strerror or str(err)
        return None, [d.UNREADABLE_FILE(name=name, reason=reason).at(name)]
    return parse_toml(data, name)


def parse_toml(data: bytes, name: str) -> tuple[TomlSource | None, list[Problem]]:
    """Decode and parse one file's bytes; the source, or the one problem that stopped it."""
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark, as some editors write, is fine
    except UnicodeDecodeError as err:
        return None, [_encoding_problem(err, data, name)]
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        return None, [_syntax_problem(err, text, name)]
    except RecursionError:
        return None, [d.TOML_TOO_DEEP().at(name)]
    return TomlSource(name, data, text, raw, index_positions(text)), []


def _encoding_problem(err: UnicodeDecodeError, data: bytes, name: str) -> Problem:
    line = data.count(b"\n", 0, err.start) + 1
    column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
    found = d.INVALID_ENCODING(byte=data[err.start], reason=err.reason)
    return found.at(name, line, column)


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
    found = d.TOML_SYNTAX(detail=text, hint=_syntax_hint(text, line_text))
    return found.at(name, line, column)


def _table_name(match: re.Match[str]) -> str:
    """tomllib names tables as Python tuples, `('a', 'b')`: show `table [a.b]` instead."""
    try:
        parts = ast.literal_eval(match[0])
    except (ValueError, SyntaxError):
        return match[0]
    return f"table `[{format_key(tuple(parts))}]`" if isinstance(parts, tuple) else match[0]


# Characters that come with text pasted from a chat, a document or a web page, which TOML reads
# as none of the quotes, colons, commas and spaces they look like; each with what to type.
_PASTED: tuple[tuple[str, str], ...] = (
    ("\u201c\u201d\u201e\u2033\uff02", 'replace the curly quotes “ ” with straight quotes "'),
    ("\u2018\u2019\u2032\uff07", "replace the curly quotes ‘ ’ with straight quotes '"),
    ("\uff1a", "replace the full-width colon ： with `:`"),
    ("\uff0c\u3001", "replace the full-width comma ， with `,`"),
    ("\uff1d", "replace the full-width equals sign ＝ with `=`"),
    ("\uff3b\uff3d\u3010\u3011", "replace the full-width brackets ［ ］ with `[` and `]`"),
    ("\u00a0\u2007\u202f", "replace the non-breaking space (U+00A0) with an ordinary space"),
    ("\u3000", "replace the full-width space (U+3000) with an ordinary space"),
    ("\u200b\u200c\u200d\u2060", "delete the invisible zero-width space (U+200B)"),
    ("\ufeff", "delete the byte-order mark (U+FEFF) left inside the file by joining files"),
)


# Inside a value only (`"22:00<tab>"` copied from a table): a tab before a key is TOML's own
# whitespace, so a syntax error on such a line is not the tab's.
_PASTED_IN_VALUES: tuple[tuple[str, str], ...] = (("\t", "delete the tab inside the text"),)


def pasted_hint(text: str, in_value: bool = False) -> str | None:
    """The fix for a pasted character in ``text`` that TOML or a value cannot read, if any:
    a line of the file, or (``in_value``) a value in quotes."""
    for characters, hint in (*_PASTED, *(_PASTED_IN_VALUES if in_value else ())):
        if any(c in text for c in characters):
            return hint
    return None


def _syntax_hint(text: str, line_text: str) -> str | None:
    pasted = pasted_hint(line_text)
    if pasted is not None:
        return pasted
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
