"""A decision's SQLite read takes its days' use documents as one range of keys (sqlite_store.py):
every document it then reads is the one a lookup by key gives, in one statement."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from youthmode.ledger import open_store
from youthmode.ledger.documents import decision_keys, usage_key

DAYS = [date(2026, 11, 9) + timedelta(days=n) for n in range(28)]  # four ISO weeks


@settings(max_examples=60, deadline=None)
@given(
    stored=st.sets(st.sampled_from(DAYS), max_size=20),
    others=st.sets(st.sampled_from(["guardian", "spend", "orders", "identity", "ua", "u:x"])),
    day=st.sampled_from(DAYS[7:]),
    app=st.sampled_from([None, "a"]),
)
def test_a_decision_read_gets_what_lookups_get(
    stored: set[date], others: set[str], day: date, app: str | None
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{folder}/ledger.db")
        try:
            documents: dict[str, Any] = {usage_key(d): {"iv": [[1, d.day]]} for d in stored}
            documents |= {key: {"doc": key} for key in others}
            documents[f"a:{day.isoformat()}:a"] = {"iv": [[2, 3]]}

            def write(tx: Any) -> None:
                for key, value in documents.items():
                    tx.put(key, value)

            store.atomic("kid", write)
            keys = decision_keys(day, usage=True, app=app)
            statements: list[str] = []

            def read(tx: Any) -> dict[str, Any]:
                tx.conn.set_trace_callback(statements.append)
                tx.prefetch(keys)
                found = {key: tx.get(key) for key in keys}
                tx.conn.set_trace_callback(None)
                return found

            quick = store.read("kid", read, decision=True)
            slow = store.read("kid", lambda tx: {key: tx.get(key) for key in keys})
        finally:
            store.close()
    assert quick == slow == {key: documents.get(key) for key in keys}
    assert len(statements) == 1
    if sum(key.startswith("u:") for key in keys) > 1:
        assert "BETWEEN" in statements[0]
