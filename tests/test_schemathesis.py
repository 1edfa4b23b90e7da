"""Schemathesis against /openapi.json: generated requests never get a 5xx, every response
matches the documented schema, status code and content type, carries an X-Request-Id, and an
answer of 4xx changes nothing in the ledger. (Hostile values the schemas do not describe:
tests/faults/test_http_fuzz.py.)"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from conftest import CONFIGS
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from youthmode.api import create_app
from youthmode.server.config import ServerConfig

_STATE = tempfile.TemporaryDirectory(prefix="youthmode-schemathesis-")
LEDGER = Path(_STATE.name) / "ledger.db"
APP = create_app(
    ServerConfig(
        policies=str(CONFIGS),
        state_dir=_STATE.name,
        store=f"sqlite:///{LEDGER}",
        decision_log="off",
    )
)
schema = schemathesis.openapi.from_wsgi("/openapi.json", APP)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def ledger_rows() -> list[Any]:
    with sqlite3.connect(LEDGER) as conn:
        return conn.execute("SELECT subject, key, value FROM docs ORDER BY 1, 2").fetchall()


@schema.exclude(path="/v1/admin/reload").parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case: schemathesis.Case) -> None:
    before = ledger_rows()
    response = case.call()
    case.validate_response(response, checks=CHECKS)
    assert {name.lower() for name in response.headers} >= {"x-request-id"}
    if 400 <= response.status_code < 500:
        assert ledger_rows() == before, f"{case.method} {case.path}: a 4xx changed the ledger"
