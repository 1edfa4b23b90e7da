"""The Flask decision API's front door (CONTRACT section 4): `create_app(config)`.

A promised path (`youthmode.api:create_app` for your own WSGI server). The API itself lives in
`youthmode.server`: the app factory (`server/app.py`), its blueprints (`decisions`, `ledger`,
`health`), problems, body parsing, auth, config and the gunicorn runner.
"""

from __future__ import annotations

from youthmode.server.app import create_app as create_app
from youthmode.server.body import MAX_DEPTH as MAX_DEPTH
from youthmode.server.body import parse_json_body as parse_json_body
from youthmode.server.caller import request_id as request_id
from youthmode.server.problems import ApiProblem as ApiProblem
from youthmode.server.problems import problem_response as problem_response
from youthmode.server.problems import request_problem as request_problem

__all__ = [
    "MAX_DEPTH",
    "ApiProblem",
    "create_app",
    "parse_json_body",
    "problem_response",
    "request_id",
    "request_problem",
]
