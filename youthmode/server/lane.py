"""`DecisionLane`: the common decision request, answered beneath Flask.

Most calls are `POST /v1/decisions` with a JSON body and nothing else to negotiate. For those,
Flask's request context, routing, view wrappers, response object and after-request hook cost
more than reading the body and deciding (docs/performance.md). The lane sits in the app's
WSGI stack (`app.wsgi_app`) in front of Flask and answers such a request itself, through the
same pieces the view uses (`parse_json_bytes`, `Decider.decide_one`, the metrics and the
decision log), with the same headers.

It answers only when it is sure the view would answer 200 with that body: the exact path,
`POST`, no query string, `Content-Type: application/json`, a key with the `decide` scope (or
development mode) and no tenant-bound keys; a subject id is looked up in the ledger as the
view does (facts the key may not see withheld alike). Everything else, and every error, passes
through to Flask untouched (the body put back), which answers it as before.
tests/test_lane.py holds the lane's answers to Flask's, header by header, decision-log line by
line.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from youthmode.errors import RequestError
from youthmode.ledger import StoreUnavailable
from youthmode.server.body import parse_json_bytes
from youthmode.server.caller import Caller, bearer_secret, request_id_of
from youthmode.server.decisions import Decider
from youthmode.server.http_metrics import ROUTE_KEY
from youthmode.server.problems import ApiProblem
from youthmode.server.state import ServerState

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


class DecisionLane:
    """WSGI middleware around Flask's `wsgi_app` that answers plain decisions itself."""

    def __init__(self, app: WsgiApp, state: ServerState) -> None:
        self.app = app
        self.state = state
        self.decider = Decider(state)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if (
            environ.get("PATH_INFO") == "/v1/decisions"
            and environ.get("REQUEST_METHOD") == "POST"
            and not environ.get("QUERY_STRING")
            and environ.get("CONTENT_TYPE") == "application/json"
        ):
            answer = self._answer(environ)
            if answer is not None:
                environ[ROUTE_KEY] = "/v1/decisions"
                start_response(
                    "200 OK",
                    [
                        ("Content-Type", "application/json"),
                        ("Content-Length", str(len(answer))),
                        ("X-Request-Id", request_id_of(environ)),
                    ],
                )
                return [answer]
        return self.app(environ, start_response)

    def _answer(self, environ: dict[str, Any]) -> bytes | None:
        """The response body, or None to leave the request to Flask (its body put back)."""
        caller = self._caller(environ)
        if caller is None:
            return None
        stream = environ["wsgi.input"]
        raw = stream.read()
        environ["wsgi.input"] = io.BytesIO(raw)
        try:
            body = parse_json_bytes(raw)
        except ApiProblem:
            return None
        try:
            return self.decider.decide_one(self.state.holder.engine, body, False, caller=caller)
        except (RequestError, ApiProblem, StoreUnavailable):
            return None  # Flask answers it (a decision only reads the ledger: no harm in twice)

    def _caller(self, environ: dict[str, Any]) -> Caller | None:
        """Who asks, when the view's checks would all pass; else None."""
        keys = self.state.keys
        if keys is None:
            return Caller(request_id_of(environ), None, None)
        if keys.tenants:
            return None  # each body's subject is checked against the key: the view's work
        secret = bearer_secret(environ.get("HTTP_AUTHORIZATION", ""))
        key = keys.find(secret) if secret else None
        if key is None or "decide" not in key.scopes:
            return None
        return Caller(request_id_of(environ), key.id, key.scopes)
