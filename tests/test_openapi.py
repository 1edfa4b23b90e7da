"""The OpenAPI document lists the app's own route table: one operation per route, each with a
stable operationId, its blueprint as tag, and an example body the request model accepts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from conftest import CONFIGS
from pydantic import BaseModel

from youthmode.api import create_app
from youthmode.ledger_models import (
    OUTPUT_MODELS,
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
from youthmode.server import schemas
from youthmode.server.config import ServerConfig
from youthmode.server.schemas import EXAMPLES, DecisionWithTrace

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

# Every answer schema the document names, by name.
ANSWER_MODELS: dict[str, type[BaseModel]] = {
    m.__name__: m for m in [*schemas.OUTPUT, *OUTPUT_MODELS]
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


def test_every_operation_has_tags_and_an_example_answer(tmp_path: Path) -> None:
    from youthmode.server.examples import ANSWERS

    doc = document(tmp_path, store=f"sqlite:///{tmp_path}/ledger.db")
    ops = operations(doc)
    assert set(ops) == set(ANSWERS)  # every operation, and no example for a missing one
    for name, (_, _, op) in ops.items():
        assert op["tags"] and op["operationId"] == name
        assert re.fullmatch(r"[a-z][A-Za-z]{2,24}", name), name  # short camelCase
        ok = next(code for code in op["responses"] if code.startswith("2"))
        media = next(iter(op["responses"][ok]["content"].values()))
        assert "example" in media or "examples" in media, name
        for param in op["parameters"]:
            assert param["in"] == "header" or "example" in param, (name, param["name"])
    assert doc["servers"] == [{"url": "/", "description": "this server"}]


def test_example_answers_are_what_the_response_models_accept(tmp_path: Path) -> None:
    from youthmode.server.examples import ANSWERS, DENIAL

    doc = document(tmp_path, store=f"sqlite:///{tmp_path}/ledger.db")
    for name, (_, _, op) in operations(doc).items():
        ok = next(code for code in op["responses"] if code.startswith("2"))
        media = op["responses"][ok]["content"].get("application/json")
        if media is None or "$ref" not in media["schema"]:
            continue  # text (metrics, pages, assets), and the document itself
        model = ANSWER_MODELS[media["schema"]["$ref"].rsplit("/", 1)[1]]
        if media["schema"]["$ref"].endswith("/Health"):
            assert set(ANSWERS[name]) == set(model.model_fields)
        model.model_validate(ANSWERS[name])
    decide = operations(doc)["decide"][2]["responses"]["200"]["content"]["application/json"]
    assert decide["examples"]["deny"]["value"] == DENIAL
    DecisionWithTrace.model_validate(DENIAL)
    assert DENIAL["effect"] == "deny" and DENIAL["reasons"][0]["message_en"]


def test_action_is_an_open_string_with_the_loaded_actions_as_examples(tmp_path: Path) -> None:
    action = document(tmp_path)["components"]["schemas"]["DecisionRequest"]["properties"]["action"]
    assert action["type"] == "string" and "enum" not in action
    assert {"game.play", "livestream.tip", "app.use"} <= set(action["examples"])
    assert action["examples"] == sorted(action["examples"])


def test_answers_match_the_examples_shape(tmp_path: Path) -> None:
    """The decide example is a real answer's shape: the server's answer to the example
    request has the same fields, and the health example names the running version."""
    from youthmode import __version__
    from youthmode.server.examples import ANSWERS

    config = ServerConfig(policies=str(CONFIGS), state_dir=str(tmp_path), decision_log="off")
    client = create_app(config).test_client()
    answer = client.post("/v1/decisions", json=EXAMPLES["decide"]).get_json()
    assert set(answer) == set(ANSWERS["decide"])
    assert set(answer["facts"]) == set(ANSWERS["decide"]["facts"])
    assert client.get("/healthz").get_json() == {"status": "ok", "version": __version__}


def test_the_document_has_issue_15s_fields(tmp_path: Path) -> None:
    """subject.timezone in, warnings (id, after_seconds) and use_instead out."""
    found = document(tmp_path)["components"]["schemas"]
    assert "IANA" in found["Subject"]["properties"]["timezone"]["description"]
    assert {"id", "after_seconds"} <= set(found["Obligation"]["properties"])
    assert "use_instead" in found["Remedy"]["properties"]["type"]["description"]
    batch = operations(document(tmp_path))["decideBatch"][2]
    example = batch["requestBody"]["content"]["application/json"]["example"]
    assert example["requests"][1]["subject"]["timezone"] == "America/New_York"
