"""Text pasted from a chat, a document or a web page: `toml_syntax` names the character to fix.

Curly and full-width quotes, full-width colons, commas and spaces, non-breaking and zero-width
spaces and a byte-order mark inside the file look like what TOML wants but are not; the hint
used to say "strings need quotes" even when the quotes were there (issue 14).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from youthmode.policies import check_policies

HEAD = '[policy]\nid = "kids"\nversion = "2026.1"\ntimezone = "Asia/Shanghai"\n'

CASES = [
    ("between = [“22:00”, “06:00”]", 'replace the curly quotes “ ” with straight quotes "'),
    ("between = [‘22:00’, '06:00']", "replace the curly quotes ‘ ’ with straight quotes '"),
    ('between = [＂22:00＂, "06:00"]', 'replace the curly quotes “ ” with straight quotes "'),
    ('between = ["22:00"， "06:00"]', "replace the full-width comma ， with `,`"),
    ('limit："1h"', "replace the full-width colon ： with `:`"),
    ('limit ＝ "1h"', "replace the full-width equals sign ＝ with `=`"),
    ('limit\u00a0= "1h"', "replace the non-breaking space (U+00A0) with an ordinary space"),
    ('limit =\u3000"1h"', "replace the full-width space (U+3000) with an ordinary space"),
    ('limit = "1h"\u200b', "delete the invisible zero-width space (U+200B)"),
    (
        '\ufefflimit = "1h"',
        "delete the byte-order mark (U+FEFF) left inside the file by joining files",
    ),
]


@pytest.mark.parametrize(("line", "hint"), CASES)
def test_a_pasted_character_gets_its_own_hint(tmp_path: Path, line: str, hint: str) -> None:
    path = tmp_path / "kids.toml"
    path.write_text(HEAD + "\n[calendar]\n" + line + "\n", encoding="utf-8")
    _, found = check_policies([path])
    assert [(p.code, p.line, p.hint) for p in found] == [("toml_syntax", 7, hint)]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_bare_time_still_asks_for_quotes(tmp_path: Path, newline: str) -> None:
    path = tmp_path / "kids.toml"
    path.write_bytes((HEAD + "x = 22:00\n").replace("\n", newline).encode())
    _, found = check_policies([path])
    assert [(p.code, p.hint) for p in found] == [
        ("toml_syntax", 'strings need quotes, e.g. "22:00" or "40m"')
    ]


def test_a_byte_order_mark_at_the_start_and_crlf_line_ends_are_fine(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    text = (root / "configs" / "cn-baseline.toml").read_text(encoding="utf-8")
    path = tmp_path / "cn-baseline.toml"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    policies, found = check_policies([path])
    assert [p.id for p in policies] == ["cn-baseline"]
    assert not [p for p in found if p.severity == "error"]


RULE = """
[[bands]]
id = "child"
from = 0

[catalog.actions."app.use"]

[[rules]]
id = "curfew"
kind = "deny_window"
reason = "curfew"
actions = ["*"]
message = { zh-CN = "不可以", en = "Not allowed" }
"""


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ('"22：00"', "replace the full-width colon ： with `:`"),
        ('"22:00\t"', "delete the tab inside the text"),
        ('"22:00\u00a0"', "replace the non-breaking space (U+00A0) with an ordinary space"),
        ('"22:00 "', 'write 24-hour time like "22:00"'),
    ],
)
def test_a_pasted_character_inside_a_value_gets_its_own_hint(
    tmp_path: Path, value: str, hint: str
) -> None:
    path = tmp_path / "kids.toml"
    text = HEAD + RULE + f'between = [{value}, "06:00"]\n'
    path.write_text(text, encoding="utf-8")
    _, found = check_policies([path])
    assert [(p.code, p.key, p.hint) for p in found] == [
        ("invalid_time", "rules[0].between[0]", hint)
    ]
