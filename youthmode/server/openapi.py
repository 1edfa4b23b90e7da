"""The OpenAPI 3.1 document, generated from the same pydantic models the engine uses.

Nothing here restates a field by hand: request and response bodies come from `youthmode.model`
and the API's envelope models (`schemas.py`), so the document cannot drift from the code.
Which paths it lists, and each operation's `operationId` and `tags`, come from the app's own
route table (`Route`, one per blueprint view: `youthmode.server.app.route_table`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic.json_schema import models_json_schema

from youthmode.server.examples import ANSWERS, DENIAL, PARAMETERS
from youthmode.server.openapi_operation import errors, json_answer, operation
from youthmode.server.schemas import EXAMPLES, INPUT, OUTPUT


@dataclass(frozen=True)
class Route:
    """One operation the app serves: its method and OpenAPI path, blueprint and operationId."""

    method: str  # lowercase, as OpenAPI keys operations
    path: str  # `{name}` parameters, as OpenAPI writes them
    tag: str  # the blueprint's name
    operation_id: str


def _schemas() -> dict[str, Any]:
    from youthmode.ledger_models import INPUT_MODELS, OUTPUT_MODELS

    inputs, outputs = [*INPUT, *INPUT_MODELS], [*OUTPUT, *OUTPUT_MODELS]
    pairs: list[Any] = [(m, "validation") for m in inputs] + [(m, "serialization") for m in outputs]
    _, top = models_json_schema(pairs, ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = top["$defs"]
    return schemas


@dataclass(frozen=True)
class LedgerOperation:
    """One operation of the `ledger` blueprint, as its OpenAPI entry needs it."""

    path: str
    method: str
    summary: str  # also the description of its answer
    scope: str
    answer: str  # the schema of the success answer
    body: str | None = None  # the schema of the request body
    params: tuple[str, ...] = ()  # `policy` is a query parameter, the others path parameters
    errors: tuple[int, ...] = ()  # besides 503 and what `_operation` adds
    ok: str = "200"


GUARDIAN = "/v1/subjects/{subject_id}/guardian"
LEDGER_OPERATIONS = (
    LedgerOperation(
        "/v1/usage",
        "post",
        "Record active-use intervals",
        "usage",
        "UsageAnswer",
        "UsageBody",
        errors=(409,),
    ),
    LedgerOperation(
        "/v1/purchases",
        "post",
        "Record a completed purchase",
        "usage",
        "PurchaseAnswer",
        "PurchaseBody",
        errors=(409,),  # the id was recorded with other content
    ),
    LedgerOperation(
        "/v1/purchases/reserve",
        "post",
        "Decide and hold a purchase against spend plus outstanding holds",
        "usage",
        "ReserveAnswer",
        "ReserveBody",
        errors=(409,),
    ),
    LedgerOperation(
        "/v1/purchases/{order_id}/commit",
        "post",
        "The payment went through",
        "usage",
        "OrderAnswer",
        "OrderBody",
        ("order_id",),
        (404, 409),
    ),
    LedgerOperation(
        "/v1/purchases/{order_id}/release",
        "post",
        "The payment failed or was refunded",
        "usage",
        "OrderAnswer",
        "OrderBody",
        ("order_id",),
        (404, 409),
    ),
    LedgerOperation(
        "/v1/subjects/{subject_id}/usage",
        "get",
        "Today's (in all and per app), this week's and this month's totals",
        "usage",
        "Totals",
        None,
        ("subject_id", "policy"),
        (400,),
    ),
    LedgerOperation(
        GUARDIAN,
        "get",
        "Guardian settings, today's grants and requests",
        "guardian",
        "GuardianView",
        None,
        ("subject_id", "policy"),
        (400,),
    ),
    LedgerOperation(
        GUARDIAN,
        "patch",
        "Change guardian settings (tighten freely; loosen only what is waivable)",
        "guardian",
        "GuardianView",
        "GuardianPatch",
        ("subject_id",),
        (422,),
    ),
    LedgerOperation(
        GUARDIAN + "/grants",
        "post",
        "Grant extra time for today",
        "guardian",
        "GuardianView",
        "GrantBody",
        ("subject_id",),
        (422,),
    ),
    LedgerOperation(
        GUARDIAN + "/requests",
        "post",
        "Ask for more time (the child's app)",
        "usage or guardian",
        "TimeRequest",
        "AskBody",
        ("subject_id",),
        (409, 422),  # 409: 20 requests already wait for an answer
        ok="201",
    ),
    LedgerOperation(
        GUARDIAN + "/requests/{request_id}/answer",
        "post",
        "Approve (15m, 1h, rest_of_day) or deny a request",
        "guardian",
        "TimeRequest",
        "AnswerBody",
        ("subject_id", "request_id"),
        (404, 409, 422),
    ),
    LedgerOperation(
        GUARDIAN + "/log",
        "get",
        "Every guardian change: who, when, what, before, after",
        "guardian",
        "GuardianLog",
        None,
        ("subject_id",),
    ),
)


def _string_param(name: str) -> dict[str, Any]:
    """A string parameter: `policy` in the query (optional), any other in the path."""
    where = "query" if name == "policy" else "path"
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "schema": {"type": "string"},
        "example": PARAMETERS[name],
    }


def _ledger_paths() -> dict[str, Any]:
    """The operations of the `ledger` blueprint (usage, purchases, guardian controls)."""
    paths: dict[str, Any] = {}
    for op in LEDGER_OPERATIONS:
        responses = {op.ok: json_answer(op.answer, op.summary), **errors(503, *op.errors)}
        params = [_string_param(name) for name in op.params] or None
        described = operation(op.summary, op.scope, responses, body=op.body, params=params)
        paths.setdefault(op.path, {})[op.method] = described
    return paths


def _decision_paths() -> dict[str, Any]:
    """The operations of the `decisions` blueprint."""
    explain = [
        {
            "name": "explain",
            "in": "query",
            "required": False,
            "schema": {"type": "boolean"},
            "description": "add the rule trace",
            "example": True,
        }
    ]
    return {
        "/v1/decisions": {
            "post": operation(
                "Decide one request",
                "decide",
                {"200": json_answer("DecisionWithTrace", "the decision (allow and deny alike)")},
                body="DecisionRequest",
                params=explain,
            )
        },
        "/v1/decisions/batch": {
            "post": operation(
                "Decide many requests in order",
                "decide",
                {"200": json_answer("BatchResponse", "one decision or problem per request")},
                body="BatchRequest",
                params=explain,
            )
        },
        "/v1/policies": {
            "get": operation(
                "List loaded policies",
                "decide",
                {"200": json_answer("PolicyList", "loaded policies")},
            )
        },
        "/v1/policies/{policy_id}": {
            "get": operation(
                "One loaded policy with its rules",
                "decide",
                {"200": json_answer("PolicyDetail", "the policy"), **errors(404)},
                params=[_string_param("policy_id")],
            )
        },
    }


def _operations_paths() -> dict[str, Any]:
    """The operations of the `health` blueprint (health, readiness, metrics, the document,
    admin reload)."""
    return {
        "/v1/admin/reload": {
            "post": operation(
                "Reload policy files, all or nothing",
                "admin",
                {"200": json_answer("ReloadAnswer", "new policies in force"), **errors(422)},
            )
        },
        "/healthz": {"get": operation("Liveness", None, {"200": json_answer("Health", "alive")})},
        "/readyz": {
            "get": operation(
                "Readiness",
                None,
                {
                    "200": json_answer("Readiness", "ready"),
                    "503": json_answer("Readiness", "not ready"),
                },
            )
        },
        "/metrics": {
            "get": operation(
                "Prometheus metrics",
                None,
                {
                    "200": {
                        "description": "text exposition format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            )
        },
        "/openapi.json": {
            "get": operation(
                "This document",
                None,
                {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            )
        },
    }


def _docs_paths() -> dict[str, Any]:
    """The operations of the `docs` blueprint (docs_pages.py)."""
    return {
        "/docs": {"get": _page("API documentation: Swagger UI, try-it-out included")},
        "/docs/reference": {"get": _page("The compact reference: every endpoint and schema")},
        "/docs/assets/{name}": {
            "get": operation(
                "A file of the documentation pages (Swagger UI's, served from this server)",
                None,
                {
                    "200": {
                        "description": "the file",
                        "content": {
                            kind: {"schema": {"type": "string"}} for kind in ASSET_CONTENT_TYPES
                        },
                    },
                    **errors(404),
                },
                params=[_string_param("name")],
            )
        },
    }


# What `/docs/assets/{name}` answers with (youthmode/server/docs_pages.py serves them).
ASSET_CONTENT_TYPES = ("text/css", "text/javascript", "image/png")


def _page(summary: str) -> dict[str, Any]:
    answer = {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}
    return operation(summary, None, {"200": answer})


def build_openapi(
    actions: list[str] | None = None,
    version: str | None = None,
    ledger: bool = True,
    routes: list[Route] | None = None,
) -> dict[str, Any]:
    """The whole document. ``actions`` narrows `action` to the loaded catalogs' names.

    With ``routes`` (the app's route table), the document lists exactly those operations,
    each with its `operationId`, its blueprint as tag and, when it takes a body, an example.
    """
    if version is None:
        from youthmode import __version__ as version  # the one place: pyproject.toml
    schemas = _schemas()
    if actions:
        # Examples, not an enum: a client generated today must accept an action added tomorrow.
        schemas["DecisionRequest"]["properties"]["action"]["examples"] = sorted(actions)
    paths: dict[str, Any] = {**_decision_paths(), **_operations_paths(), **_docs_paths()}
    if ledger or routes is not None:
        paths.update(_ledger_paths())
    if routes is not None and any(r.tag == "nppa" for r in routes):
        from youthmode.server.nppa import openapi_paths  # served only with NPPA configured

        paths.update(openapi_paths())
    if routes is not None:
        paths = _served(paths, routes)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "youthmode decision API",
            "version": version,
            "description": "Minors-protection (youth mode) decisions. See CONTRACT.md.",
        },
        # Relative: "try it out" in /docs calls the server that served the document.
        "servers": [{"url": "/", "description": "this server"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "API key; scopes decide, usage, guardian, admin, nppa",
                }
            },
        },
    }


def _served(described: dict[str, Any], routes: list[Route]) -> dict[str, Any]:
    """The operations of ``routes``, in the order described, with ids, tags and examples."""
    served = {(r.path, r.method): r for r in routes}
    missing = sorted(set(served) - {(p, m) for p, ops in described.items() for m in ops})
    if missing:  # INVARIANT: every route is described; a new one needs its entry above
        raise LookupError(f"routes without an OpenAPI description: {missing}")
    paths: dict[str, Any] = {}
    for path, ops in described.items():
        for method, op in ops.items():
            route = served.get((path, method))
            if route is None:
                continue
            op = _with_examples({"operationId": route.operation_id, "tags": [route.tag], **op})
            paths.setdefault(path, {})[method] = op
    return paths


def _with_examples(op: dict[str, Any]) -> dict[str, Any]:
    """``op`` with its example request body (`schemas.EXAMPLES`) and example success answer
    (`examples.ANSWERS`); the decision operations show an allow and a deny."""
    name = op["operationId"]
    if name not in ANSWERS and name != "decide":
        return op  # an entry that carries its own examples (server/nppa.py)
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None and name in EXAMPLES:
        body = {**body, "example": EXAMPLES[name]}
        op = {**op, "requestBody": {**op["requestBody"], "content": {"application/json": body}}}
    ok = next(code for code in op["responses"] if code.startswith("2"))
    answer = op["responses"][ok]
    kind, media = next(iter(answer["content"].items()))
    if name == "decide":
        media = {
            **media,
            "examples": {"allow": {"value": ANSWERS[name]}, "deny": {"value": DENIAL}},
        }
    else:
        media = {**media, "example": ANSWERS[name]}
    responses = {**op["responses"], ok: {**answer, "content": {kind: media}}}
    return {**op, "responses": responses}
