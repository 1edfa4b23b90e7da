"""The PostgreSQL store's own parts: its URL, its migrations, the decision's one query, and a
clear error without psycopg. (The ledger's behaviour on it is tested with every backend:
store_backends.py; its faults in faults/test_postgres_faults.py.)"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from postgres_support import schema_url
from test_ledger import ev, t
from test_server import Server

import youthmode
from youthmode.ledger import Ledger, open_store
from youthmode.ledger.postgres_schema import MIGRATIONS
from youthmode.ledger.postgres_store import PostgresStore, loaded_text, stored_text


def test_without_psycopg_the_url_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` fails
    monkeypatch.delitem(sys.modules, "youthmode.ledger.postgres_store")
    with pytest.raises(ValueError, match=r"pip install 'youthmode\[postgresql\]'"):
        open_store("postgresql://postgres@127.0.0.1/x")


def test_workers_opening_a_fresh_database_at_once_migrate_it_once(postgres_url: str) -> None:
    url = schema_url(postgres_url)
    with ThreadPoolExecutor(max_workers=4) as pool:
        stores = list(pool.map(lambda _: open_store(url), range(4)))
    schema = stores[0].schema  # type: ignore[attr-defined]
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute(f'SELECT version FROM "{schema}".schema_version').fetchall()
    assert [r[0] for r in rows] == [v for v, _ in MIGRATIONS]
    stores[0].atomic("kid", lambda tx: tx.put("a", 1))
    assert stores[3].read("kid", lambda tx: tx.get("a")) == 1
    for store in stores[1:]:
        store.close()
    stores[0].delete_all()  # type: ignore[attr-defined]


def test_postgres_scheme_and_options(postgres_url: str) -> None:
    url = schema_url(postgres_url).replace("postgresql://", "postgres://")
    store = open_store(url + "&pool_size=2&atomic=serializable&application_name=ym")
    assert isinstance(store, PostgresStore)
    assert (store.backend, store.pool_size, store.serializable) == ("postgresql", 2, True)
    store.atomic("kid", lambda tx: tx.put("a", {"x": "未成年"}))
    assert store.read("kid", lambda tx: tx.get("a")) == {"x": "未成年"}
    store.delete_all()


def test_a_decision_reads_the_ledger_in_one_query(
    engine: youthmode.Engine, postgres_url: str, freezer: Any
) -> None:
    """The decision's documents come in one `= ANY(...)` SELECT, whatever was stored."""
    freezer.move_to("2026-11-27T12:30:00Z")
    store = open_store(schema_url(postgres_url))
    try:
        ledger = Ledger(engine, store)
        ledger.record_usage("kid", [ev("1", t("20:00:00"), t("20:20:00"), "game.play")])
        ledger.update_guardian("kid", {"daily_limit": "30m"}, actor="parent")
        ledger.grant_time("kid", "10m", actor="parent")
        queries: list[str] = []
        with store._connection(fast=True) as conn:  # type: ignore[attr-defined]
            cls = type(conn)
        real = cls.execute

        def counting(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            queries.append(str(query).split()[0])
            return real(self, query, *args, **kwargs)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(cls, "execute", counting)
            request = {"subject": {"id": "kid", "age": 12, "verified": True}, "action": "game.play"}
            decision = ledger.decide(request)
        assert queries == ["SELECT"]
        assert decision.facts.today_seconds == 1200
        assert decision.facts.guardian == {"daily_limit_seconds": 1800, "extra_seconds": 600}
    finally:
        store.delete_all()  # type: ignore[attr-defined]


def test_youthmode_serve_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    """Two gunicorn workers, each with its own pools: what one records, the other decides on."""
    url = schema_url(postgres_url)
    server = Server(tmp_path, args=("--store", url))
    try:
        _, ready = server.get("/readyz")
        assert ready["store"] == {"backend": "postgresql", "ok": True}
        end = datetime.now(UTC).replace(microsecond=0)
        event = {
            "id": "e1",
            "action": "app.use",
            "start": (end - timedelta(minutes=20)).isoformat(),
        }
        body = {"subject_id": "kid-1", "events": [{**event, "end": end.isoformat()}]}
        status, answer = server.call("POST", "/v1/usage", body)
        assert status == 200 and answer["results"][0]["status"] == "accepted"
        for _ in range(4):  # either worker: the same documents
            _, again = server.call("POST", "/v1/usage", body)
            assert again["results"][0]["status"] == "duplicate"
            request = {"subject": {"id": "kid-1", "age": 12, "verified": True}, "action": "app.use"}
            _, decision = server.call("POST", "/v1/decisions", {**request, "at": end.isoformat()})
            assert decision["facts"]["today_seconds"] == 1200
    finally:
        server.stop()
        open_store(url).delete_all()  # type: ignore[attr-defined]


@given(st.text(alphabet=st.sampled_from("a0\\\x00/"), max_size=12), st.text(max_size=6))
def test_stored_text_has_no_nul_and_comes_back_keeping_prefixes(text: str, more: str) -> None:
    stored = stored_text(text + more)
    assert "\x00" not in stored and loaded_text(stored) == text + more
    assert stored.startswith(stored_text(text))  # `stored_keys` lists by prefix
    if not (text + more).startswith(more) and more:
        assert not stored_text(more + "x").startswith(stored_text(text + more + "y"))


def test_a_nul_in_a_subject_id_or_an_app_is_kept_like_any_other_character(
    engine: youthmode.Engine, postgres_url: str, freezer: Any
) -> None:
    """PostgreSQL's text holds no NUL, which SQLite and Redis keep: such an id is stored
    escaped, not refused as the store's failure (which would open the breaker for everyone)."""
    freezer.move_to("2026-11-27T12:30:00Z")
    store = open_store(schema_url(postgres_url))
    try:
        ledger = Ledger(engine, store)
        for subject in ("a\x00b", "a\\0b", "a"):
            use = ev("1", t("20:00:00"), t("20:10:00"), app="x\x00y\\z")
            assert ledger.record_usage(subject, [use])["results"][0]["status"] == "accepted"
        ledger.record_usage("a\x00b", [ev("2", t("20:10:00"), t("20:30:00"))])
        totals = ledger.totals("a\x00b")
        assert totals["today_seconds"] == 1800
        assert totals["apps"] == {"x\x00y\\z": 600}
        assert ledger.totals("a\\0b")["today_seconds"] == 600  # not the NUL subject's
        request = {"subject": {"id": "a\x00b", "age": 12}, "action": "app.use"}
        assert ledger.decide(request).facts.today_seconds == 1800
        assert store.breaker.allow()  # type: ignore[attr-defined]
    finally:
        store.delete_all()  # type: ignore[attr-defined]
