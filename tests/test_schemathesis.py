"""Schemathesis against /openapi.json: generated requests never get a 5xx, and every response
matches the documented schema, status code and content type."""

from __future__ import annotations

import tempfile

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
from youthmode.config import ServerConfig

_STATE = tempfile.TemporaryDirectory(prefix="youthmode-schemathesis-")
APP = create_app(ServerConfig(policies=str(CONFIGS), state_dir=_STATE.name, decision_log="off"))
schema = schemathesis.openapi.from_wsgi("/openapi.json", APP)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schema.exclude(path="/v1/admin/reload").parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)
