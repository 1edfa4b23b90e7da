"""Every code example of README.md and docs/ runs, and prints what it says it prints.

- Python blocks are executed statement by statement, the blocks of one file in one namespace,
  from the repository root (so `configs` is the repository's packs), with the clock frozen
  unless the block talks to a server. A comment that states a result is asserted:
  `x  # 1800: why` (x == 1800), `x  # 2026-11-28 06:00:00+08:00` (str(x)),
  `print(...)` followed by `# lines` (the printed text), `name = ...  # ['monthly_cap']` (the
  value the name holds after the block). Prose comments are read, not asserted.
- `youthmode ...` commands run through the CLI in a folder with the repository's packs and the
  files the examples name (request.json, old/, other/, a pack to floor), clock frozen; a console
  transcript's shown output must appear, line by line and in order.
- `curl` examples go to a real `youthmode serve` (test_server.Server): one in development mode,
  one with API keys for the examples that send `Authorization: Bearer $YM_KEY`; the
  `"key": value` pairs their comments show must be in the answer.
- What cannot run here is in NOT_RUN with the reason; an entry that matches no example fails.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import re
import shlex
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from docs_examples import (
    ROOT,
    Block,
    Command,
    all_fields,
    anchors,
    claimed_fields,
    claimed_literal,
    comments,
    links,
    python_blocks,
    shell_commands,
)
from test_server import Server

from youthmode.cli import build_parser, main

FROZEN = "2026-11-27T12:00:00Z"  # Friday 20:00 in Shanghai
build_parser()  # import every authoring module before any test freezes the clock

# (file, how the command starts): why it is not run here.
NOT_RUN = {
    ("README.md", "make serve"): "installs a .venv and serves until stopped; the servers here "
    "are the same `youthmode serve`",
    ("README.md", "make test"): "the whole suite, this test included",
    ("README.md", "youthmode serve"): "serves until stopped: the servers here are started so",
    ("docs/api.md", "make serve"): "installs a .venv and serves until stopped",
    ("docs/nppa.md", "youthmode nppa report"): "reports until stopped, with NPPA credentials; "
    "tests/test_nppa_cli.py runs `report --once` as a process",
    ("docs/nppa.md", "youthmode nppa selftest --code"): "needs the NPPA's test URLs and the "
    "console's codes; tests/test_nppa_cli.py runs the same cases against the mock process",
    ("docs/nppa.md", "youthmode nppa selftest --mock"): "needs NPPA credentials in the "
    "environment; tests/test_nppa_cli.py runs it as a process",
    ("docs/api.md", "jq "): "reads a production decision log and needs jq",
    ("docs/api.md", "YOUTHMODE_"): "a production environment file, not a command",
    ("docs/authoring.md", "youthmode diff app-v1/"): "app-v1/ and app-v2/ are a reader's two "
    "versions of an app policy; diff's output format is held by tests/test_cli_analysis.py",
    ("docs/editor-setup.md", "taplo"): "taplo is an editor tool, not a dependency",
    ("docs/ledger.md", "pip install"): "installs a package (the dev extras have it already)",
    ("docs/ledger.md", "YOUTHMODE_STORE="): "serves until stopped, against a reader's database; "
    "the same URL's store is tested by tests/test_postgres_store.py and the store fixtures",
    ("docs/operations.md", ".venv/bin/python tests/faults"): "a slow-client experiment of "
    "minutes; tests/faults/test_server_slow_clients.py runs it as a test",
    ("docs/performance.md", "apt-get"): "installs a system package",
    ("docs/performance.md", "make bench"): "benchmarks take minutes; speed is measured, not tested",
    ("docs/performance.md", ".venv/bin/python benchmarks"): "a benchmark (minutes)",
    ("docs/performance.md", "PYTHONPATH=. .venv/bin/python benchmarks"): "a benchmark (~9 min)",
    ("docs/replay.md", ".venv/bin/python benchmarks"): "a benchmark (200,000 decisions)",
    ("docs/ledger.md", "youthmode serve"): "serves until stopped, against a reader's Redis "
    "Cluster; tests/test_ledger.py runs the ledger on a real cluster",
    ("docs/scaling.md", ".venv/bin/python benchmarks"): "a benchmark (about 6 min)",
    ("docs/scaling.md", ".venv/bin/pytest"): "the failover fault test (about 40 s), run by the "
    "suite itself",
    ("docs/authoring.md", "youthmode check acme.toml"): "a reader's acme.toml with six mistakes "
    "(exit 1); the same problems in one round are held by tests/policy_errors/"
    "every-problem-in-one-round-schema-and-cross-checks.toml and tests/test_check_one_round.py",
    ("docs/authoring.md", "youthmode floor configs/acme.toml"): "a reader's acme.toml with two "
    "loosening overrides (exit 1); floor's rules-first output is held by "
    "tests/test_analysis_rules.py",
}
# Files the examples name, made in the folder they run in.
ACME = '[policy]\nid = "acme"\nversion = "1"\nextends = "cn-baseline"\n'
REQUEST = {"subject": {"age": 12, "verified": True}, "action": "app.use",
           "at": "2026-11-27T22:00:00+08:00"}  # fmt: skip
# Minimum number of claims asserted per file with Python examples: the checker is not idle.
PYTHON_CLAIMS = {
    "README.md": 6,
    "docs/api.md": 2,
    "docs/ledger.md": 3,
    "docs/contract.md": 0,
    "docs/replay.md": 0,
    "docs/world.md": 4,  # the consent-age lookups
}


def not_run_reason(command: Command) -> str | None:
    for (file, start), reason in NOT_RUN.items():
        if command.block.file == file and command.text.startswith(start):
            return reason
    return None


COMMANDS = shell_commands()
RUN = [c for c in COMMANDS if not_run_reason(c) is None]


def test_every_example_is_run_or_listed_with_a_reason() -> None:
    kinds = {c.argv[0] for c in RUN}
    assert kinds <= {"youthmode", "curl", "export"}, kinds
    used = {(c.block.file, s) for c in COMMANDS for (f, s) in NOT_RUN if c.block.file == f
            and c.text.startswith(s)}  # fmt: skip
    assert used == set(NOT_RUN), f"NOT_RUN names examples that are gone: {set(NOT_RUN) - used}"
    assert len([c for c in RUN if c.argv[0] == "curl"]) >= 8
    assert len([c for c in RUN if c.argv[0] == "youthmode"]) >= 15


# -- Python -----------------------------------------------------------------------------------
def by_file(blocks: list[Block]) -> dict[str, list[Block]]:
    files: dict[str, list[Block]] = {}
    for block in blocks:
        files.setdefault(block.file, []).append(block)
    return files


PYTHON = by_file(python_blocks())


@pytest.mark.parametrize("file", sorted(PYTHON))
def test_python_examples(
    file: str,
    servers: Servers,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.chdir(ROOT)
    if file in NEEDS_FILES:  # runs where the files it opens exist, made for real
        monkeypatch.chdir(NEEDS_FILES[file](request.getfixturevalue("tmp_path")))
    monkeypatch.setenv("YM_URL", servers.keyed.url)
    monkeypatch.setenv("YM_KEY", servers.secret)
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    checked = 0
    for block in PYTHON[file]:
        if "YM_URL" not in block.text:
            request.getfixturevalue("freezer").move_to(FROZEN)
        checked += run_python(block, namespace)
    assert checked >= PYTHON_CLAIMS[file], f"{file}: only {checked} claims found"


def replay_folder(folder: Path, clock: str = "21:30") -> Path:
    """What the replay examples open: an edited policy set (the curfew from 21:00) and decision
    logs written by the real writer from decisions made under configs/ at ``clock`` (21:30
    flips under the edit; 20:00 does not, so a command's exit status stays 0)."""
    from test_replay import curfew_at_nine, write_log

    import youthmode

    curfew_at_nine(folder / "edited")
    engine = youthmode.Engine.from_path(ROOT / "configs")
    request = {
        "subject": {"age": 12, "verified": True},
        "action": "app.use",
        "at": f"2026-11-25T{clock}:00+08:00",
    }
    (folder / "var" / "log" / "ym").mkdir(parents=True, exist_ok=True)
    for name in ("decisions.jsonl", "day1.jsonl", "day2.jsonl", "var/log/ym/decisions.jsonl"):
        write_log(folder / name, [request], engine)
    return folder


# Python examples that open a reader's own files: the folder they run in, made with them.
NEEDS_FILES = {"docs/replay.md": replay_folder}


def run_python(block: Block, namespace: dict[str, Any]) -> int:
    """Run ``block``; assert the results its comments state. How many claims were checked."""
    lines, notes = block.text.splitlines(), comments(block.text)
    checked = 0
    for node in ast.parse(block.text).body:
        where = f"{block.file}:{block.line + node.lineno - 1}"
        if not isinstance(node, ast.Expr):
            exec(compile(ast.Module([node], []), where, "exec"), namespace)
            continue
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            value = eval(compile(ast.Expression(node.value), where, "eval"), namespace)
        same_line = notes.get(node.end_lineno)  # type: ignore[arg-type]
        below = following_comments(lines, node.end_lineno)  # type: ignore[arg-type]
        if printed.getvalue() and below:
            assert printed.getvalue().rstrip("\n") == "\n".join(below), where
            checked += 1
        elif claim := same_line or " ".join(below):
            checked += check_claim(value, claim, where)
    return checked + check_assignments(block, namespace)


def following_comments(lines: list[str], end: int) -> list[str]:
    """The comment-only lines right after line ``end`` (1-based)."""
    out = []
    for line in lines[end:]:
        if not line.lstrip().startswith("#"):
            break
        out.append(line.strip().removeprefix("#").strip())
    return out


def check_claim(value: Any, claim: str, where: str) -> int:
    is_literal, expected = claimed_literal(claim)
    if is_literal:
        assert value == expected, f"{where}: the docs say {claim!r}, the code gives {value!r}"
        return 1
    if claim[:1].isdigit():  # a value without a literal form (a datetime): its str()
        assert claim.startswith(str(value)), f"{where}: the docs say {claim!r}, not {value}"
        return 1
    return 0  # prose


def check_assignments(block: Block, namespace: dict[str, Any]) -> int:
    """`name = ...  # literal` anywhere in the block: what ``name`` holds once it has run."""
    notes = comments(block.text)
    checked = 0
    for node in ast.walk(ast.parse(block.text)):
        if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)):
            continue
        is_literal, expected = claimed_literal(notes.get(node.end_lineno, ""))  # type: ignore[arg-type]
        name = node.targets[0].id
        if is_literal and name in namespace:
            assert namespace[name] == expected, f"{block.where}: `{name}` is {namespace[name]!r}"
            checked += 1
    return checked


# -- youthmode commands -------------------------------------------------------------------------
def workspace(folder: Path, command: Command) -> Path:
    """The repository's packs and the files the examples name (acme.toml, the pack `floor`
    is shown on, only for the command naming it: `diff old/ configs/` must find no change)."""
    packs = [p for p in (ROOT / "configs").glob("*.toml")]
    for name in ("configs", "old", "other"):
        (folder / name).mkdir()
        for pack in packs:
            shutil.copy(pack, folder / name)
    (folder / "tests").mkdir()
    for pack in packs:
        if pack.name.endswith("_test.toml"):
            shutil.copy(pack, folder / "tests")
    if "acme.toml" in command.text:
        (folder / "configs" / "acme.toml").write_text(ACME, encoding="utf-8")
    (folder / "request.json").write_text(json.dumps(REQUEST), encoding="utf-8")
    (folder / "docs").mkdir()
    (folder / "etc" / "youthmode").mkdir(parents=True)
    if command.argv[1:2] == ["replay"]:
        replay_folder(folder, clock="20:00")
    if command.argv[1:3] in (["keys", "list"], ["keys", "rotate"], ["keys", "revoke"]):
        keys_file(folder / "etc" / "youthmode" / "keys.toml")
    return folder


def keys_file(path: Path) -> None:
    """The keys the listing, rotating and revoking examples name, made by `keys create`."""
    for key_id, scopes in (("game-backend", "decide"), ("acme-backend", "decide,usage")):
        with contextlib.redirect_stdout(io.StringIO()):  # the secret: not part of the example
            assert (
                main(["keys", "create", "--id", key_id, "--scopes", scopes, "--file", str(path)])
                == 0
            )


YOUTHMODE = [c for c in RUN if c.argv[0] == "youthmode"]


@pytest.mark.parametrize("command", YOUTHMODE, ids=[c.where for c in YOUTHMODE])
def test_youthmode_examples(
    command: Command,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    freezer: Any,
) -> None:
    monkeypatch.chdir(workspace(tmp_path, command))
    freezer.move_to(FROZEN)
    argv = [
        arg.replace("/etc/youthmode/", "etc/youthmode/").replace("/var/log/", "var/log/")
        for arg in command.argv[1:]
    ]
    target = None
    if ">" in argv:
        argv, target = argv[: argv.index(">")], argv[argv.index(">") + 1]
    try:
        status = main(argv)
    except SystemExit as done:  # --version
        status = int(done.code or 0)
    out = capsys.readouterr().out
    assert status == 0, f"{command.where}: exit {status}\n{out}"
    if target is not None:
        Path(target).write_text(out, encoding="utf-8")
    rest = iter(out.splitlines())
    for line in command.shown:
        assert any(line == got for got in rest), f"{command.where}: no `{line}` in\n{out}"
    if argv[:2] == ["schema", "--output"]:
        assert Path(argv[2]).read_text() == (ROOT / argv[2]).read_text()


# -- curl against a real server -----------------------------------------------------------------
@dataclass(frozen=True)
class Servers:
    """A development-mode server, one with a keys file, and the secret of its key."""

    dev: Server
    keyed: Server
    secret: str


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """The two servers, both serving every pack and the example app policy (acme-global)."""
    roots = {name: tmp_path_factory.mktemp(name) for name in ("dev", "keys")}
    for root in roots.values():
        (root / "policies").mkdir()
        for pack in (ROOT / "configs").glob("*.toml"):
            if not pack.name.endswith("_test.toml"):
                shutil.copy(pack, root / "policies")
        shutil.copy(ROOT / "configs" / "examples" / "acme-global.toml", root / "policies")
    keys_file = roots["keys"] / "keys.toml"
    with contextlib.redirect_stdout(io.StringIO()) as out:
        main(["keys", "create", "--id", "docs", "--scopes", "decide,usage,guardian,admin",
              "--file", str(keys_file)])  # fmt: skip
    secret = out.getvalue().strip()
    dev = Server(roots["dev"])
    keyed = Server(roots["keys"], env={"YOUTHMODE_KEYS_FILE": str(keys_file)})
    try:
        yield Servers(dev, keyed, secret)
    finally:
        dev.stop()
        keyed.stop()


CURL = [c for c in RUN if c.argv[0] == "curl"]
HOSTS = ("https://youthmode.internal.example", "http://localhost:8080", "localhost:8080", "$YM")


@pytest.mark.parametrize("command", CURL, ids=[c.where for c in CURL])
def test_curl_examples(command: Command, servers: Servers) -> None:
    url, headers, body = parse_curl(command.argv)
    server = servers.keyed if "Authorization" in headers else servers.dev
    headers = {k: v.replace("$YM_KEY", servers.secret) for k, v in headers.items()}
    for host in HOSTS:
        if url.startswith(host):
            url = server.url + url[len(host) :]
    assert url.startswith(server.url), f"{command.where}: unknown host in {url}"
    data = body.encode() if body is not None else None
    sent = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(sent, timeout=10) as response:
            status, answer = response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        status, answer = err.code, json.loads(err.read())
    assert status == 200, f"{command.where}: {status} {answer}"
    claimed = claimed_fields(command.claims)
    assert claimed or not command.claims, f"{command.where}: no field read from its comment"
    have = all_fields(answer)
    for key, value in claimed:
        assert (key, json.dumps(value)) in have, f"{command.where}: no `{key}: {value}` in {answer}"


def parse_curl(argv: list[str]) -> tuple[str, dict[str, str], str | None]:
    """The URL, headers and body of a `curl -s URL -H ... -d ...` command."""
    url, headers, body = "", {}, None
    args = iter(argv[1:])
    for arg in args:
        if arg == "-H":
            name, _, value = next(args).partition(":")
            headers[name.strip().title()] = value.strip()
        elif arg == "-d":
            body = next(args)
        elif not arg.startswith("-"):
            url = arg
    return url, headers, body


def test_export_names_only_what_the_test_supplies() -> None:
    for command in (c for c in RUN if c.argv[0] == "export"):
        names = {word.split("=", 1)[0] for word in command.argv[1:]}
        assert names <= {"YM", "YM_KEY"}, f"{command.where}: export {names}"


def test_curl_comments_are_read() -> None:
    """The claim reader on a README-like comment: `…` parts left out, the rest kept."""
    claims = ['{"effect": "deny", "reasons": [{"code": "consent_revoked", "rule": "us-tx/…", …}],',
              ' "remaining_seconds":600,…']  # fmt: skip
    assert claimed_fields(claims) == [
        ("effect", "deny"),
        ("code", "consent_revoked"),
        ("remaining_seconds", 600),
    ]
    assert shlex.split("a # b", comments=True) == ["a"]


# -- links ---------------------------------------------------------------------------------------
MARKDOWN = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


@pytest.mark.parametrize("page", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_is_to_a_file_of_the_repository(page: Path) -> None:
    """Links resolve inside the checkout (never ../shared/...), and so do their anchors."""
    for link in links(page):
        if re.match(r"[a-z]+:", link):
            continue  # https:, mailto:
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.is_relative_to(ROOT) and target.exists(), f"{page.name}: {link}"
        if anchor and target.suffix == ".md":
            assert anchor in anchors(target), f"{page.name}: no `#{anchor}` in {target.name}"
