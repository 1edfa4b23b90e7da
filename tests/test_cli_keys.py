"""`youthmode keys list / revoke / rotate`: what they print (never a secret but the new one),
what they write, and a running server that honours them without a restart."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from test_server import GAME, Server

from youthmode.cli import main
from youthmode.server.auth import KEYS_CHECK_SECONDS, KeyRing, create_key, hash_key, load_keys


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "keys.toml"
    secrets = {
        "backend": create_key(path, "backend", ["decide", "usage"]),
        "acme": create_key(path, "acme", ["decide"], subjects="acme:"),
    }
    return path, secrets


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_every_key_but_no_secret_or_hash(
    keys: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, secrets = keys
    code, out, _ = run(capsys, "keys", "list", "--file", str(path))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "ID",
        "SCOPES",
        "SUBJECTS",
        "STATUS",
        "CREATED",
        "ROTATED",
        "REVOKED",
    ]
    assert lines[1].split()[:4] == ["backend", "decide,usage", "*", "active"]
    assert lines[2].split()[:4] == ["acme", "decide", "acme:", "active"]
    code, out, _ = run(capsys, "keys", "list", "--file", str(path), "--json")
    rows = json.loads(out)
    assert [r["id"] for r in rows] == ["backend", "acme"]
    assert set(rows[0]) == {"id", "scopes", "subjects", "status", "created", "rotated", "revoked"}
    for secret in secrets.values():
        assert secret not in out and hash_key(secret) not in out


def test_revoke_keeps_the_entry_and_refuses_the_key(
    keys: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str], freezer: Any
) -> None:
    path, secrets = keys
    freezer.move_to("2026-12-01T09:00:00Z")
    code, out, err = run(capsys, "keys", "revoke", "backend", "--file", str(path))
    assert code == 0 and out == "" and "revoked" in err
    assert [k.id for k in load_keys(path)] == ["acme"]
    table = tomllib.loads(path.read_text())["keys"]
    assert table[0]["id"] == "backend" and table[0]["revoked"] == "2026-12-01T09:00:00Z"
    assert table[1]["subjects"] == "acme:"  # the other key is written back as it was
    assert KeyRing(load_keys(path)).find(secrets["backend"]) is None
    assert KeyRing(load_keys(path)).find(secrets["acme"]) is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    _, out, _ = run(capsys, "keys", "list", "--file", str(path), "--json")
    assert json.loads(out)[0]["status"] == "revoked"
    # A revoked id is neither revoked again, rotated nor taken by a new key.
    code, _, err = run(capsys, "keys", "revoke", "backend", "--file", str(path))
    assert code == 2 and "was revoked at 2026-12-01T09:00:00Z" in err
    code, out, err = run(capsys, "keys", "rotate", "backend", "--file", str(path))
    assert code == 2 and out == "" and "was revoked" in err
    create = ("keys", "create", "--id", "backend", "--scopes", "decide", "--file", str(path))
    code, _, err = run(capsys, *create)
    assert code == 2 and "already exists" in err


def test_rotate_prints_only_the_new_secret(
    keys: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, secrets = keys
    code, out, err = run(capsys, "keys", "rotate", "acme", "--file", str(path))
    new = out.strip()
    assert code == 0 and new.startswith("ym_") and out == new + "\n"
    assert new not in err and secrets["acme"] not in out + err
    ring = KeyRing(load_keys(path))
    assert ring.find(secrets["acme"]) is None
    rotated = ring.find(new)
    assert rotated is not None and rotated.id == "acme" and rotated.subjects == "acme:"
    assert rotated.scopes == {"decide"} and ring.find(secrets["backend"]) is not None
    assert "rotated" in tomllib.loads(path.read_text())["keys"][1]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("revoke", "nobody"), "no key `nobody`"),
        (("rotate", "nobody"), "(active keys: `backend`, `acme`)"),
    ],
)
def test_unknown_ids_are_refused_and_change_nothing(
    keys: tuple[Path, dict[str, str]],
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    message: str,
) -> None:
    path, _ = keys
    before = path.read_bytes()
    code, out, err = run(capsys, "keys", *argv, "--file", str(path))
    assert code == 2 and out == "" and message in err
    assert path.read_bytes() == before


def test_a_missing_or_broken_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "keys", "list", "--file", str(tmp_path / "none.toml"))
    assert code == 2 and "no keys file" in err and "youthmode keys create" in err
    broken = tmp_path / "broken.toml"
    broken.write_text("[[keys]]\nid = 'x'\n")
    code, _, err = run(capsys, "keys", "revoke", "x", "--file", str(broken))
    assert code == 2 and "needs `id`, `sha256` and `scopes`" in err
    assert broken.read_text() == "[[keys]]\nid = 'x'\n"


def test_a_ring_from_a_file_follows_it(
    keys: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str], freezer: Any
) -> None:
    path, secrets = keys
    ring = KeyRing.from_file(path)
    assert ring.tenants
    run(capsys, "keys", "revoke", "acme", "--file", str(path))
    assert ring.find(secrets["acme"]) is not None  # not re-read before the check interval
    freezer.tick(KEYS_CHECK_SECONDS)
    assert ring.find(secrets["acme"]) is None and not ring.tenants
    path.write_text("[[keys]]\nid = 'half-written'\n")  # a bad file: keep the keys in force
    freezer.tick(KEYS_CHECK_SECONDS)
    assert ring.find(secrets["backend"]) is not None


def test_a_running_server_honours_rotate_and_revoke(tmp_path: Path) -> None:
    path = tmp_path / "keys.toml"
    old = create_key(path, "backend", ["decide"])
    server = Server(tmp_path, env={"YOUTHMODE_KEYS_FILE": str(path)})
    try:

        def status(secret: str) -> int:
            headers = {"Authorization": f"Bearer {secret}"}
            return server.call("POST", "/v1/decisions", GAME, headers)[0]

        def always(secret: str, code: int) -> bool:  # every worker, not one
            return all(status(secret) == code for _ in range(8))

        assert status(old) == 200
        argv = ["keys", "rotate", "backend", "--file", str(path)]
        rotated = subprocess.run(
            [sys.executable, "-m", "youthmode.cli", *argv],
            capture_output=True,
            text=True,
            check=True,
        )
        new = rotated.stdout.strip()
        server.wait_until(lambda: always(old, 401) and always(new, 200), "rotation not seen")
        main(["keys", "revoke", "backend", "--file", str(path)])
        server.wait_until(lambda: always(new, 401), "revocation not seen")
    finally:
        server.stop()
    assert old not in (tmp_path / "server.log").read_text()


@pytest.mark.parametrize("argv", [("rotate", "backend"), ("revoke", "acme")])
def test_a_rewrite_killed_before_its_rename_leaves_the_old_file_whole(
    keys: tuple[Path, dict[str, str]], tmp_path: Path, argv: tuple[str, ...]
) -> None:
    """kill -9 in the middle of `keys rotate` / `revoke`, after the new text is written and
    synced but before it is renamed over the file: the file a server reads is the old one,
    whole, every key still working, and no staging file is taken for a keys file."""
    path, secrets = keys
    before = path.read_bytes()
    script = (
        "import os, sys\n"
        "from youthmode.cli import main\n"
        "os.replace = lambda *a, **k: os.kill(os.getpid(), 9)  # dies where the rename was\n"
        f"main(['keys', *{list(argv)!r}, '--file', {str(path)!r}])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == -9
    assert path.read_bytes() == before
    ring = KeyRing.from_file(path)
    assert all(ring.find(secret) is not None for secret in secrets.values())
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".toml")] == ["keys.toml"]
