"""Every ledger store backend, for the tests that run on each of them: `BACKENDS` is the
fixtures' params, `open_backend` opens a fresh, empty store of one of them for one test and
cleans it up after. A new backend is one more name and one more branch.

- sqlite: a file in the test's own tmp_path;
- redis: a key prefix of the test's own on the shared Redis (redis_support.py);
- redis-cluster: a key prefix of the test's own on the run's 3-primary cluster
  (redis_cluster_support.py);
- postgresql: a schema of the test's own in the run's own database (postgres_support.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_support import schema_url

from youthmode.ledger import open_store
from youthmode.ledger.store import Store

BACKENDS = ["sqlite", "redis", "redis-cluster", "postgresql"]


def backend_url(request: pytest.FixtureRequest, tmp_path: Path, prefix: str = "ym-test") -> str:
    """The URL of a fresh store of the backend ``request.param`` names (for a process of its
    own, such as `youthmode nppa report`; `open_backend` opens one here)."""
    kind = request.param
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/ledger.db"
    if kind == "redis":
        return f"{request.getfixturevalue('redis_url')}?prefix={prefix}-{uuid.uuid4().hex}:"
    if kind == "redis-cluster":
        cluster_url = request.getfixturevalue("redis_cluster_url")
        return f"{cluster_url}?prefix={prefix}-{uuid.uuid4().hex}:"
    if kind == "postgresql":
        return schema_url(request.getfixturevalue("postgres_url"))
    raise AssertionError(f"unknown store backend `{kind}`")


def open_backend(
    request: pytest.FixtureRequest, tmp_path: Path, prefix: str = "ym-test"
) -> Iterator[Store]:
    """A fresh store of the backend ``request.param`` names, removed after the test."""
    opened = open_store(backend_url(request, tmp_path, prefix))
    yield opened
    if request.param != "sqlite":
        opened.delete_all()  # type: ignore[attr-defined]
    opened.close()
