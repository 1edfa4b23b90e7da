"""Shared fixtures: the shipped policy packs, loaded once per test session."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_support import create_database, drop_database, shared_server
from redis_cluster_support import shared_cluster_url
from redis_support import RedisProcess, shared_redis_url

import youthmode
import youthmode.api
from youthmode.cli import build_parser

# Every pydantic model is built before any test freezes the clock: a model with a datetime
# field built under pytest-freezer fails (FakeDatetime has no schema), so a test that imports
# a module lazily would pass or fail by the order tests run in.
build_parser()

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
# CONTRACT section 2: every decision has these fields, in this order.
DECISION_FIELDS = (
    "decision_id", "effect", "allowed", "band", "reasons", "obligations", "remedies",
    "remaining_seconds", "valid_until", "next_allowed_at", "facts", "policy",
)  # fmt: skip


@pytest.fixture(scope="session")
def engine() -> youthmode.Engine:
    return youthmode.Engine.from_path(CONFIGS)


@pytest.fixture(scope="session")
def world_engine(tmp_path_factory: pytest.TempPathFactory) -> youthmode.Engine:
    """Every shipped pack (without its policy tests) and configs/examples/acme-global.toml,
    which puts them together with jurisdiction floors: "serving users in several countries"."""
    folder = tmp_path_factory.mktemp("world")
    for pack in CONFIGS.glob("*.toml"):
        if not pack.name.endswith("_test.toml"):
            shutil.copy(pack, folder)
    shutil.copy(CONFIGS / "examples" / "acme-global.toml", folder)
    return youthmode.Engine.from_path(folder)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis for the ledger tests (see redis_support.py); each test adds its own prefix."""
    url, started = shared_redis_url()
    yield url
    if started is not None:
        started.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test run's own (see postgres_support.py), dropped at the end; each
    store in it gets a schema of its own."""
    port, started = shared_server()
    url = create_database(port)
    yield url
    drop_database(url)
    if started is not None:
        started.stop()


@pytest.fixture(scope="session")
def redis_cluster_url() -> Iterator[str]:
    """A Redis Cluster (3 primaries, 3 replicas) for the ledger tests, started on first use
    (see redis_cluster_support.py); each test adds its own prefix."""
    url, started = shared_cluster_url()
    yield url
    if started is not None:
        started.stop()


@pytest.fixture
def redis_store_url(redis_url: str) -> str:
    """A store URL with a key prefix of this test's own."""
    return f"{redis_url}?prefix=ym-test-{uuid.uuid4().hex}:"


@pytest.fixture
def redis_process(tmp_path: Path) -> Iterator[RedisProcess]:
    """A redis-server of this test's own, to stop, stall (SIGSTOP) or restart."""
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.stop()
