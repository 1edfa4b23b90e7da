"""Fault suite, loading: every exception while loading policies or keys is a rejected load,
and the server keeps what it had (issue 10).

On e482a15 a policy file holding `x = [[[...5000 deep...]]]` made tomllib raise RecursionError:
the admin reload answered 500, and SIGHUP stopped the gunicorn master (its workers failed to
boot). The same file as the keys file stopped the master at the keys re-read. The SIGHUP
checks against the real server are in tests/test_server.py.
"""

from __future__ import annotations

import logging
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from youthmode.api import create_app
from youthmode.engine import Engine
from youthmode.policies import loader
from youthmode.server.config import ServerConfig
from youthmode.server.reloader import PolicyHolder

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
DEEP = "x = " + "[" * 5000 + "]" * 5000 + "\n"
GAME = {"subject": {"age": 12, "verified": True}, "action": "game.play"}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    policies = tmp_path / "policies"
    policies.mkdir()
    shutil.copy(CONFIGS / "cn-baseline.toml", policies)
    return policies


@pytest.fixture
def client(folder: Path, tmp_path: Path) -> FlaskClient:
    config = ServerConfig(
        policies=str(folder), state_dir=str(tmp_path / "state"), decision_log="off", store="off"
    )
    return create_app(config).test_client()


def test_admin_reload_of_a_too_deep_file_is_rejected_not_500(
    client: FlaskClient, folder: Path
) -> None:
    before = client.get("/readyz").get_json()["digest"]
    (folder / "deep.toml").write_text(DEEP)
    response = client.post("/v1/admin/reload")
    assert response.status_code == 422, response.get_data(as_text=True)
    problem = response.get_json()["problems"][0]
    assert problem["code"] == "toml_syntax" and problem["file"].endswith("deep.toml")
    assert "nested too deeply" in problem["message"]
    ready = client.get("/readyz").get_json()
    assert ready["digest"] == before and ready["stale"] is True
    assert client.post("/v1/decisions", json=GAME).status_code == 200


@pytest.mark.parametrize(
    "error",
    [MemoryError(), RuntimeError("parser bug"), OSError(5, "Input/output error")],
)
def test_any_exception_reading_a_file_is_that_files_problem(
    folder: Path, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    def broken(text: str) -> Any:
        raise error

    monkeypatch.setattr(tomllib, "loads", broken)  # as the reader (source.py) calls it
    source, problems = loader.load_file(folder / "cn-baseline.toml")
    assert source is None and problems[0].code == "unreadable_file"
    assert problems[0].file == str(folder / "cn-baseline.toml")
    assert type(error).__name__ in problems[0].message


def test_an_unreadable_file_is_a_problem(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)
    _, problems = loader.load_file(folder / "cn-baseline.toml")
    assert problems[0].code == "unreadable_file" and "Permission denied" in problems[0].message


def test_not_utf8_is_a_problem(folder: Path) -> None:
    (folder / "latin.toml").write_bytes(b'[policy]\nid = "caf\xe9"\n')
    _, problems = loader.load_file(folder / "latin.toml")
    assert problems[0].code == "invalid_encoding"


def test_a_reload_that_raises_anything_keeps_the_policies(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = PolicyHolder(folder, tmp_path / "state", None)
    before = holder.digest

    def exploding(*args: Any, **kwargs: Any) -> Engine:
        raise RuntimeError("something nobody foresaw")

    monkeypatch.setattr(Engine, "from_path", exploding)
    result = holder.reload("admin")
    assert not result.ok and result.digest == before and holder.digest == before
    assert result.problems[0].code == "unreadable_file"
    assert "RuntimeError: something nobody foresaw" in result.problems[0].message


def test_a_worker_booting_on_a_too_deep_file_serves_the_snapshot(
    folder: Path, tmp_path: Path
) -> None:
    good = PolicyHolder(folder, tmp_path / "state", None)
    (folder / "deep.toml").write_text(DEEP)
    booted = PolicyHolder(folder, tmp_path / "state", None)  # a worker after SIGHUP
    assert booted.source == "last-good snapshot" and booted.digest == good.digest
    assert booted.stale()


def test_the_keys_re_read_on_sighup_survives_any_exception(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from youthmode.server import runner as server

    keys = object()
    config = ServerConfig(policies=str(CONFIGS), keys_file=str(tmp_path / "keys.toml"))
    app = server._GunicornApp(config, keys)  # loads the gunicorn settings once

    def deep(config: ServerConfig) -> Any:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(server, "_load_keys", deep)
    caplog.set_level(logging.ERROR, logger="youthmode.server")
    app.load_config()  # what gunicorn's master runs on SIGHUP
    assert app.ym_keys is keys
    assert "keeping the previous keys: maximum recursion depth" in caplog.text
