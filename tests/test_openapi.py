"""The OpenAPI document lists the app's own route table: one operation per route, each with a
stable operationId, its blueprint as tag, and an example body the request model accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import CONFIGS
from pydantic import BaseModel

from youthmode.api import create_app
from youthmode.ledger_models import (
    AnswerBody,
    AskBody,
    GrantBody,
    GuardianPatch,
    OrderBody,
    PurchaseBody,
    ReserveBody,
    UsageBody,
)
from youthmode.model import DecisionRequest
from youthmode.server.config import ServerConfig
from youthmode.server.schemas import EXAMPLES

BODIES: dict[str, type[BaseModel]] = {
    "decide": DecisionRequest,
    "recordUsage": UsageBody,
    "recordPurchase": PurchaseBody,
    "reservePurchase": ReserveBody,
    "commitPurchase": OrderBody,
    "releasePurchase": OrderBody,
    "updateGuardian": GuardianPatch,
    "grantTime": GrantBody,
    "askForTime": AskBody,
    "answerTimeRequest": AnswerBody,
}


def document(tmp_path: Path, **settings: Any) -> dict[str, Any]:
    config = ServerConfig(
        policies=str(CONFIGS), state_dir=str(tmp_path), decision_log="off", **settings
    )
    doc: dict[str, Any] = create_app(config).test_client().get("/openapi.json").get_json()
    return doc


def operations(doc: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        op["operationId"]: (method, path, op)
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
    }


def test_every_operation_has_an_id_a_tag_and_its_route(tmp_path: Path) -> None:
    doc = document(tmp_path, store=f"sqlite:///{tmp_path}/ledger.db")
    ops = operations(doc)
    assert sum(len(o) for o in doc["paths"].values()) == len(ops)  # ids are unique
    assert ops["decide"][:2] == ("post", "/v1/decisions")
    assert ops["decideBatch"][:2] == ("post", "/v1/decisions/batch")
    assert ops["recordUsage"][:2] == ("post", "/v1/usage")
    assert ops["reservePurchase"][:2] == ("post", "/v1/purchases/reserve")
    assert ops["grantTime"][:2] == ("post", "/v1/subjects/{subject_id}/guardian/grants")
    tags = {name: op["tags"] for name, (_, _, op) in ops.items()}
    assert tags["decide"] == tags["getPolicy"] == ["decisions"]
    assert tags["recordUsage"] == tags["getGuardianLog"] == ["ledger"]
    assert tags["health"] == tags["reloadPolicies"] == ["health"]


def test_every_body_has_an_example_its_model_accepts(tmp_path: Path) -> None:
    ops = operations(document(tmp_path, store=f"sqlite:///{tmp_path}/ledger.db"))
    with_body = {k for k, (_, _, op) in ops.items() if "requestBody" in op}
    assert with_body == {*BODIES, "decideBatch"}
    for name, (_, _, op) in ops.items():
        if name in with_body:
            assert op["requestBody"]["content"]["application/json"]["example"] == EXAMPLES[name]
    for name, model in BODIES.items():
        model.model_validate(EXAMPLES[name])
    for item in EXAMPLES["decideBatch"]["requests"]:
        DecisionRequest.model_validate(item)
