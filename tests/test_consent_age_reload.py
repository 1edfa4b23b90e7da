"""The consent-age table a served pack reads goes with it: into the last-good snapshot (so a
worker booting on the snapshot decides with the same ages) and into the polling fingerprint (so
an edited age is reloaded like an edited policy)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_consent_age_rules import FROM_TABLE, OWN_TABLE, ask, folder

from youthmode.policies import consent_limit
from youthmode.server.reloader import PolicyHolder, fingerprint


def test_the_snapshot_carries_the_table_and_serves_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = folder(tmp_path, FROM_TABLE, table=OWN_TABLE.replace("age = 15", "age = 17"))
    state = tmp_path / "state"
    holder = PolicyHolder(where, state, None)
    assert not ask(holder.engine, 16, "FR").allowed  # 17 in this table (15 in the shipped one)
    snapshot = holder.snapshot_dir
    assert (snapshot / "data" / "consent-ages.toml").read_bytes() == (
        where / "data" / "consent-ages.toml"
    ).read_bytes()
    assert (snapshot / "app.toml").is_file()
    # the folder breaks, and its table is gone: a new worker boots on the snapshot alone
    (where / "app.toml").write_text("not toml [", encoding="utf-8")
    (where / "data" / "consent-ages.toml").unlink()
    monkeypatch.setattr(consent_limit, "shipped_consent_table", lambda: None)
    booted = PolicyHolder(where, state, None)
    assert booted.source == "last-good snapshot"
    assert not ask(booted.engine, 16, "FR").allowed
    assert ask(booted.engine, 17, "FR").allowed
    assert booted.engine.policies["app"].digest == holder.engine.policies["app"].digest


def test_an_edited_table_changes_the_fingerprint_and_reloads(tmp_path: Path) -> None:
    where = folder(tmp_path, FROM_TABLE)
    holder = PolicyHolder(where, tmp_path / "state", None)
    before = fingerprint(where)
    assert not ask(holder.engine, 14, "FR").allowed
    table = where / "data" / "consent-ages.toml"
    table.write_text(OWN_TABLE.replace("age = 15", "age = 14"), encoding="utf-8")
    assert fingerprint(where) != before
    result = holder.reload("poll")
    assert result.ok
    assert ask(holder.engine, 14, "FR").allowed
