"""Answers: JSON bodies, and errors as RFC 9457 problem+json (the exception every view raises)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response

from youthmode.errors import RequestError
from youthmode.server.openapi_operation import PROBLEM

PROBLEM_BASE = "urn:youthmode:problem:"


class ApiProblem(Exception):
    """An error answered as problem+json."""

    def __init__(self, status: int, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra

    def body(self) -> dict[str, Any]:
        slug = self.title.lower().replace(" ", "-")
        return {
            "type": PROBLEM_BASE + slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **{k: v for k, v in self.extra.items() if v is not None},
        }


def problem_response(problem: ApiProblem, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(problem.body(), ensure_ascii=False, default=str)
    return Response(body, status=problem.status, mimetype=PROBLEM, headers=headers)


def request_problem(err: RequestError, index: int | None = None) -> ApiProblem:
    known = next((p.extra.get("known") for p in err.problems if p.extra.get("known")), None)
    return ApiProblem(
        400,
        "Invalid request",
        str(err),
        index=index,
        known=known,
        errors=[{k: v for k, v in p.to_dict().items() if k != "known"} for p in err.problems],
    )


def respond(data: Any, status: int = 200) -> Response:
    """``data`` as a JSON answer (amounts and times as text, non-ASCII kept)."""
    return Response(
        json.dumps(data, ensure_ascii=False, default=str),
        status=status,
        mimetype="application/json",
    )
