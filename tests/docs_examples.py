"""The code examples of README.md and docs/, read for test_docs_examples.py: the fenced blocks,
the shell commands in them with the output their comments claim, and the claims of Python
comments (`x  # 1800: why`).

docs/errors/ is left to test_cli_errors_docs.py, which runs each page's example exactly.
"""

from __future__ import annotations

import ast
import io
import json
import re
import shlex
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "docs" / "packs").glob("*.md")),
]
FENCE = re.compile(r"^( *)```(\w*)[^\n]*\n(.*?)^\1```", re.S | re.M)
SHELLS = ("sh", "bash", "console")


@dataclass(frozen=True)
class Block:
    """One fenced code block: its file (relative to the repository), first line and language."""

    file: str
    line: int
    lang: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Command:
    """One shell command of a block, with the `# ...` lines after it (what it claims to print)
    and, in a console transcript, the output lines shown under it."""

    block: Block
    text: str
    claims: list[str] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.text, comments=True)

    @property
    def where(self) -> str:
        return f"{self.block.where}: {self.text.splitlines()[0][:60]}"


def blocks() -> list[Block]:
    """Every fenced block of the documentation, in file order."""
    found = []
    for path in DOC_FILES:
        text = path.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 2  # the first line inside the fence
            body = "\n".join(row[len(match.group(1)) :] for row in match.group(3).splitlines())
            found.append(Block(str(path.relative_to(ROOT)), line, match.group(2), body))
    return found


def python_blocks() -> list[Block]:
    return [b for b in blocks() if b.lang == "python"]


def shell_commands() -> list[Command]:
    """The commands of every shell block, and of untyped blocks that are `$ ...` transcripts."""
    out = []
    for block in blocks():
        transcript = block.lang == "" and block.text.lstrip().startswith("$ ")
        if block.lang in SHELLS or transcript:
            out.extend(split_commands(block))
    return out


def split_commands(block: Block) -> list[Command]:
    """A block's commands; a backslash or an open quote at the end of a line continues it."""
    commands: list[Command] = []
    rows = iter(block.text.splitlines())
    console = block.lang == "console" or block.text.lstrip().startswith("$ ")
    for row in rows:
        stripped = row.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            if commands:
                commands[-1].claims.append(stripped.lstrip("#").strip())
            continue
        if console and not stripped.startswith("$ "):
            if commands:
                commands[-1].shown.append(row)
            continue
        commands.append(Command(block, _whole_command(stripped.removeprefix("$ "), rows)))
    return commands


def _whole_command(text: str, rows: Iterator[str]) -> str:
    while True:
        if text.endswith("\\"):
            text = text[:-1].rstrip() + " " + next(rows).strip()
            continue
        try:
            shlex.split(text, comments=True)
        except ValueError:  # an open quote: a JSON body over several lines
            text += "\n" + next(rows)
            continue
        return text


# -- what a comment claims -------------------------------------------------------------------
LITERAL_START = re.compile(r"""^(-?\d|['"\[{(]|True\b|False\b|None\b)""")
LITERAL_END = re.compile(r"$|[:,;] | \(")


def comments(source: str) -> dict[int, str]:
    """The text of each `# ...` comment of Python ``source``, by line (1-based)."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {t.start[0]: t.string.lstrip("#").strip() for t in tokens if t.type == tokenize.COMMENT}


def claimed_literal(claim: str) -> tuple[bool, Any]:
    """(True, value) when the claim starts with a Python literal (`1800: the window closes`,
    `['curfew']`, `'2026-12-04T20:00:00+08:00', or None`); (False, None) for prose."""
    if not LITERAL_START.match(claim):
        return False, None
    for end in range(len(claim), 0, -1):
        if not LITERAL_END.match(claim[end:]):
            continue  # `2026` of `2026-11-28 06:00`: a literal ends where the prose starts
        try:
            return True, ast.literal_eval(claim[:end])
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return False, None


def claimed_fields(claims: list[str]) -> list[tuple[str, Any]]:
    """The `"key": value` pairs with a scalar value in a response shown in comments: the
    `…`-elided parts are left out, what remains is what the example promises."""
    text = " ".join(claims)
    scalar = r'"[^"…]*"|-?\d+(?:\.\d+)?|true|false|null'
    return [
        (k, json.loads(v)) for k, v in re.findall(rf'"(\w+)":\s*({scalar})(?=\s*[,}}\]])', text)
    ]


def all_fields(value: Any) -> set[tuple[str, str]]:
    """Every (key, JSON of a scalar value) anywhere in a JSON document."""
    out: set[tuple[str, str]] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(item, dict | list):
                out.add((key, json.dumps(item)))
            out |= all_fields(item)
    elif isinstance(value, list):
        for item in value:
            out |= all_fields(item)
    return out


# -- links ---------------------------------------------------------------------------------------
LINK = re.compile(r"\]\(([^)\s]+)\)")


def links(path: Path) -> list[str]:
    """The link targets of a Markdown file, code blocks left out."""
    return LINK.findall(FENCE.sub("", path.read_text(encoding="utf-8")))


def anchors(path: Path) -> set[str]:
    """The anchors of a Markdown file: GitHub's slug of each heading, and `<a id=...>`."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    headings = re.findall(r"^#+ (.*)$", text, re.M)
    slugs = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}
    return slugs | set(re.findall(r'<a id="([^"]+)"', text))
