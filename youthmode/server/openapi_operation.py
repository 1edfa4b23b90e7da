"""One operation's OpenAPI entry: its answers, the problems it can answer with, its parameters
and the `X-Request-Id` every answer carries (the building blocks of `openapi.py`)."""

from __future__ import annotations

from typing import Any

PROBLEM = "application/problem+json"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_answer(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(name)}}}


def problem_answer(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {"schema": ref("Problem")}}}


def errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "invalid request",
        401: "missing or unknown API key",
        403: "the key lacks the scope, or the subject is outside the key's tenant prefix",
        404: "not found",
        405: "method not allowed",
        409: "conflicts with the ledger (order id reused, reservation expired, more than 64 "
        "apps with use on one day, 20 time requests already waiting)",
        413: "body or batch too large",
        415: "body is not JSON",
        422: "refused: policy files rejected, or a guardian change the policy does not allow",
        503: "store unavailable; nothing was changed (see Retry-After)",
    }
    return {str(c): problem_answer(text[c]) for c in codes}


def operation(
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
        responses.update(errors(401, 403))
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(body)}},
        }
        responses.update(errors(400, 413, 415))
    if any(p["in"] in ("path", "query") for p in params):
        responses.update(errors(400))  # parameters that are not valid UTF-8
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
