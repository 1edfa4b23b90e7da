"""The standalone studio behind `youthmode studio`: the studio blueprint on a small Flask app
for one person's machine, listening on the loopback interface only.

No API keys here: the guard is that only this machine can connect, and that a page from
another site cannot use the studio through the browser: requests must name this server in
`Host` (no DNS rebinding) and bodies must be JSON (no cross-site form posts).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from flask import Flask, Response, redirect, request
from werkzeug.exceptions import HTTPException

from youthmode.server.problems import ApiProblem, problem_response
from youthmode.server.studio import blueprint
from youthmode.studio import fields
from youthmode.studio.logs import LogFolders
from youthmode.studio.workspace import Workspace

log = logging.getLogger("youthmode.studio")
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def create_studio_app(
    folders: Sequence[str | Path],
    clock: Callable[[], datetime] | None = None,
    logs: LogFolders | None = None,
) -> Flask:
    """The studio for the policies of ``folders`` (read, never written), at `/studio/`;
    ``logs``: the decision logs its Replay view may read (none: no replay)."""
    app = Flask("youthmode.studio")
    app.config["MAX_CONTENT_LENGTH"] = fields.MAX_BODY_BYTES
    studio = blueprint(Workspace(folders), clock=clock, logs=logs)
    app.register_blueprint(studio, url_prefix="/studio")

    @app.before_request
    def only_this_machine() -> None:
        host = (request.host or "").rsplit(":", 1)[0] if request.host else ""
        if host not in LOOPBACK_NAMES:
            raise ApiProblem(
                403, "Forbidden", f"the studio answers only at 127.0.0.1, not `{request.host}`"
            )

    @app.get("/")
    def home() -> Response:
        return redirect("/studio/")  # type: ignore[return-value]

    _register_errors(app)
    return app


def _register_errors(app: Flask) -> None:
    @app.errorhandler(ApiProblem)
    def on_problem(err: ApiProblem) -> Response:
        return problem_response(err)

    @app.errorhandler(HTTPException)
    def on_http(err: HTTPException) -> Response:
        status = err.code or 500
        detail = {404: f"no page at `{request.path}`", 413: "the body is too large"}.get(
            status, err.description or ""
        )
        return problem_response(ApiProblem(status, err.name, detail))

    @app.errorhandler(Exception)
    def on_unexpected(err: Exception) -> Response:  # pragma: no cover - a bug, logged loudly
        log.exception("unexpected error in the studio")
        return problem_response(ApiProblem(500, "Internal error", "unexpected error; see the log"))
