"""The NPPA routes (scope `nppa`): a subject's real-name check, submitted and followed.

Mounted when the server has a ledger and `YOUTHMODE_NPPA_APP_ID` is set (nppa/config.py).
The body's name and ID number go to the NPPA once and are never stored nor logged. An NPPA
that is down or throttling answers 503 or 429 with Retry-After; a check the NPPA refuses
(a malformed ID number, quota) 422; credentials it refuses 502: an operator must act.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from youthmode.ledger.checks import check_subject_id
from youthmode.nppa.errors import (
    NppaConfigError,
    NppaError,
    NppaRejected,
    NppaThrottled,
)
from youthmode.nppa.service import NppaService
from youthmode.server.body import parse_json_body
from youthmode.server.caller import check_subject, requires
from youthmode.server.openapi_operation import errors, operation
from youthmode.server.problems import ApiProblem, problem_response, respond

OPERATIONS = {
    "nppa_status": "getRealName",
    "nppa_check": "checkRealName",
    "nppa_poll": "pollRealName",
}
PATH = "/v1/subjects/<subject_id>/nppa"


def blueprint(service: NppaService) -> Blueprint:
    bp = Blueprint("nppa", __name__)
    bp.register_error_handler(NppaError, _on_nppa_error)

    @bp.get(PATH)
    @requires("nppa")
    def nppa_status(subject_id: str) -> Response:
        _own(subject_id)
        return respond(service.realname.status(subject_id))

    @bp.post(PATH + "/check")
    @requires("nppa")
    def nppa_check(subject_id: str) -> Response:
        _own(subject_id)
        body = parse_json_body()
        if not isinstance(body, dict) or set(body) - {"name", "id_number"}:
            raise ApiProblem(
                400, "Invalid request", 'the body must be {"name": "...", "id_number": "..."}'
            )
        return respond(service.realname.submit(subject_id, body.get("name"), body.get("id_number")))

    @bp.post(PATH + "/poll")
    @requires("nppa")
    def nppa_poll(subject_id: str) -> Response:
        _own(subject_id)
        return respond(service.realname.poll(subject_id))

    return bp


def _own(subject_id: str) -> None:
    check_subject_id(subject_id)
    check_subject(subject_id, loc=("subject_id",))


def _on_nppa_error(err: NppaError) -> Response:
    extra: dict[str, Any] = {
        "nppa_errcode": err.code or None,
        "message": err.message_zh,
        "message_en": err.message_en,
    }
    if isinstance(err, NppaThrottled):
        retry = max(1, int(err.retry_after + 0.999))
        problem = ApiProblem(429, "NPPA rate limit", str(err), **extra)
        return problem_response(problem, {"Retry-After": str(retry)})
    if isinstance(err, NppaRejected):
        return problem_response(ApiProblem(422, "Refused by the NPPA", str(err), **extra))
    if isinstance(err, NppaConfigError):
        return problem_response(ApiProblem(502, "NPPA refused our credentials", str(err), **extra))
    problem = ApiProblem(503, "NPPA unavailable", str(err), **extra)
    return problem_response(problem, {"Retry-After": "5"})


STATUS_SCHEMA = {
    "type": "object",
    "properties": {
        "subject_id": {"type": "string"},
        "status": {"enum": ["none", "pending", "verified", "failed", "expired"]},
        "verified": {"type": "boolean"},
        "birthdate": {"type": ["string", "null"], "format": "date"},
        "message": {"type": "string"},
        "message_en": {"type": "string"},
    },
}
CHECK_SCHEMA = {
    "type": "object",
    "required": ["name", "id_number"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "description": "name as on the ID card (never stored)"},
        "id_number": {"type": "string", "description": "18-character resident ID (never stored)"},
    },
}
EXAMPLE = {
    "subject_id": "u-42",
    "status": "verified",
    "verified": True,
    "birthdate": "2012-05-01",
    "message": "实名认证成功",
    "message_en": "identity verified",
}


def openapi_paths() -> dict[str, Any]:
    """The OpenAPI entries of these routes (openapi.py adds them when they are served)."""
    param = [
        {
            "name": "subject_id",
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "example": "u-42",
        }
    ]

    def answer(summary: str) -> dict[str, Any]:
        content = {"application/json": {"schema": STATUS_SCHEMA, "example": EXAMPLE}}
        return {"200": {"description": summary, "content": content}, **errors(503)}

    check = operation(
        "Submit a real-name check to the NPPA",
        "nppa",
        {**answer("the check's status"), **errors(422)},
        params=param,
    )
    check["requestBody"] = {
        "required": True,
        "content": {
            "application/json": {
                "schema": CHECK_SCHEMA,
                "example": {"name": "张三", "id_number": "110101201205011234"},
            }
        },
    }
    check["responses"].update(errors(400, 413, 415))
    path = "/v1/subjects/{subject_id}/nppa"
    return {
        path: {
            "get": operation(
                "A subject's real-name status", "nppa", answer("the status"), params=param
            )
        },
        path + "/check": {"post": check},
        path + "/poll": {
            "post": operation(
                "Ask the NPPA about a pending check",
                "nppa",
                answer("the status after asking"),
                params=param,
            )
        },
    }
