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

from youthmode.server.schemas import EXAMPLES, INPUT, OUTPUT

PROBLEM = "application/problem+json"


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


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {"schema": _ref("Problem")}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "invalid request",
        401: "missing or unknown API key",
        403: "the key lacks the scope, or the subject is outside the key's tenant prefix",
        404: "not found",
        405: "method not allowed",
        409: "conflicts with the ledger (order id reused, reservation expired)",
        413: "body or batch too large",
        415: "body is not JSON",
        422: "refused: policy files rejected, or a guardian change the policy does not allow",
        503: "store unavailable; nothing was changed (see Retry-After)",
    }
    return {str(c): _problem(text[c]) for c in codes}


def _operation(
    summary: str,
    scope: str | None,
    responses: dict[str, Any],
    body: str | None = None,
    params: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    params = [*(params or []), REQUEST_ID_PARAM]
    if scope:
        op["security"] = [{"bearer": []}]
        op["description"] = f"Scope: `{scope}`."
        responses.update(_errors(401, 403))
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
        responses.update(_errors(400, 413, 415))
    if any(p["in"] in ("path", "query") for p in params):
        responses.update(_errors(400))  # parameters that are not valid UTF-8
    op["parameters"] = params
    for answer in responses.values():
        answer["headers"] = {"X-Request-Id": REQUEST_ID_HEADER}
    return op


REQUEST_ID_PARAM = {
    "name": "X-Request-Id",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "your id for this request: echoed when 1-128 characters of "
    "[A-Za-z0-9._:-], else the server makes one up",
}
REQUEST_ID_HEADER = {
    "description": "the request's id (yours, or one the server made up); also in the logs",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"},
}


def _ledger_paths() -> dict[str, Any]:
    """The operations of the `ledger` blueprint (usage, purchases, guardian controls)."""
    subject = [{"name": "subject_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    policy = [{"name": "policy", "in": "query", "required": False, "schema": {"type": "string"}}]
    order = [{"name": "order_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    request_id = [
        {"name": "request_id", "in": "path", "required": True, "schema": {"type": "string"}}
    ]

    def op(
        summary: str,
        scope: str,
        answer: str,
        body: str | None = None,
        params: list[dict[str, Any]] | None = None,
        extra: tuple[int, ...] = (),
        ok: str = "200",
    ) -> dict[str, Any]:
        responses = {ok: _json(answer, summary), **_errors(503, *extra)}
        return _operation(summary, scope, responses, body=body, params=params)

    base = "/v1/subjects/{subject_id}/guardian"
    return {
        "/v1/usage": {
            "post": op("Record active-use intervals", "usage", "UsageAnswer", "UsageBody")
        },
        "/v1/purchases": {
            "post": op("Record a completed purchase", "usage", "PurchaseAnswer", "PurchaseBody")
        },
        "/v1/purchases/reserve": {
            "post": op(
                "Decide and hold a purchase against spend plus outstanding holds",
                "usage",
                "ReserveAnswer",
                "ReserveBody",
                extra=(409,),
            )
        },
        "/v1/purchases/{order_id}/commit": {
            "post": op(
                "The payment went through", "usage", "OrderAnswer", "OrderBody", order, (404, 409)
            )
        },
        "/v1/purchases/{order_id}/release": {
            "post": op(
                "The payment failed or was refunded",
                "usage",
                "OrderAnswer",
                "OrderBody",
                order,
                (404, 409),
            )
        },
        "/v1/subjects/{subject_id}/usage": {
            "get": op(
                "Today's and this month's totals", "usage", "Totals", None, subject + policy, (400,)
            )
        },
        base: {
            "get": op(
                "Guardian settings, today's grants and requests",
                "guardian",
                "GuardianView",
                None,
                subject + policy,
                (400,),
            ),
            "patch": op(
                "Change guardian settings (tighten freely; loosen only what is waivable)",
                "guardian",
                "GuardianView",
                "GuardianPatch",
                subject,
                (422,),
            ),
        },
        base + "/grants": {
            "post": op(
                "Grant extra time for today",
                "guardian",
                "GuardianView",
                "GrantBody",
                subject,
                (422,),
            )
        },
        base + "/requests": {
            "post": op(
                "Ask for more time (the child's app)",
                "usage or guardian",
                "TimeRequest",
                "AskBody",
                subject,
                (422,),
                ok="201",
            )
        },
        base + "/requests/{request_id}/answer": {
            "post": op(
                "Approve (15m, 1h, rest_of_day) or deny a request",
                "guardian",
                "TimeRequest",
                "AnswerBody",
                subject + request_id,
                (404, 409, 422),
            )
        },
        base + "/log": {
            "get": op(
                "Every guardian change: who, when, what, before, after",
                "guardian",
                "GuardianLog",
                None,
                subject,
            )
        },
    }


def _decision_paths() -> dict[str, Any]:
    """The operations of the `decisions` blueprint."""
    explain = [
        {
            "name": "explain",
            "in": "query",
            "required": False,
            "schema": {"type": "boolean"},
            "description": "add the rule trace",
        }
    ]
    return {
        "/v1/decisions": {
            "post": _operation(
                "Decide one request",
                "decide",
                {"200": _json("DecisionWithTrace", "the decision (allow and deny alike)")},
                body="DecisionRequest",
                params=explain,
            )
        },
        "/v1/decisions/batch": {
            "post": _operation(
                "Decide many requests in order",
                "decide",
                {"200": _json("BatchResponse", "one decision or problem per request")},
                body="BatchRequest",
                params=explain,
            )
        },
        "/v1/policies": {
            "get": _operation(
                "List loaded policies", "decide", {"200": _json("PolicyList", "loaded policies")}
            )
        },
        "/v1/policies/{policy_id}": {
            "get": _operation(
                "One loaded policy with its rules",
                "decide",
                {"200": _json("PolicyDetail", "the policy"), **_errors(404)},
                params=[
                    {
                        "name": "policy_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
            )
        },
    }


def _operations_paths() -> dict[str, Any]:
    """The operations of the `health` blueprint (health, metrics, docs, admin reload)."""
    return {
        "/v1/admin/reload": {
            "post": _operation(
                "Reload policy files, all or nothing",
                "admin",
                {"200": _json("ReloadAnswer", "new policies in force"), **_errors(422)},
            )
        },
        "/healthz": {"get": _operation("Liveness", None, {"200": _json("Health", "alive")})},
        "/readyz": {
            "get": _operation(
                "Readiness",
                None,
                {"200": _json("Readiness", "ready"), "503": _json("Readiness", "not ready")},
            )
        },
        "/metrics": {
            "get": _operation(
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
            "get": _operation(
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
        "/docs": {
            "get": _operation(
                "API documentation page",
                None,
                {
                    "200": {
                        "description": "HTML",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            )
        },
    }


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
        for name in ("DecisionRequest",):
            schemas[name]["properties"]["action"]["enum"] = sorted(actions)
    paths: dict[str, Any] = {**_decision_paths(), **_operations_paths()}
    if ledger or routes is not None:
        paths.update(_ledger_paths())
    if routes is not None:
        paths = _served(paths, routes)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "youthmode decision API",
            "version": version,
            "description": "Minors-protection (youth mode) decisions. See CONTRACT.md.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "API key; scopes decide, usage, guardian, admin",
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
            op = {"operationId": route.operation_id, "tags": [route.tag], **op}
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None and route.operation_id in EXAMPLES:
                body = {**body, "example": EXAMPLES[route.operation_id]}
                op["requestBody"] = {**op["requestBody"], "content": {"application/json": body}}
            paths.setdefault(path, {})[method] = op
    return paths
