"""The app factory: `create_app(config)` builds the decision API from its blueprints.

Every error is RFC 9457 problem+json; no input produces a 500. Bodies are parsed with amounts
as Decimal (never float). Each decision is logged as one JSON line and counted in Prometheus
metrics. (`youthmode.api.create_app` is the promised front door to this.)
"""

from __future__ import annotations

import logging
import secrets

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from youthmode.engine import Clock, Engine, system_clock
from youthmode.ledger import Ledger, StoreUnavailable, open_store
from youthmode.nppa.config import NppaSettings
from youthmode.nppa.service import NppaService
from youthmode.server import decisions, docs_pages, health
from youthmode.server import ledger as ledger_routes
from youthmode.server import nppa as nppa_routes
from youthmode.server.auth import KeyRing
from youthmode.server.caller import request_id, requires
from youthmode.server.config import ServerConfig
from youthmode.server.decision_log import DecisionLog
from youthmode.server.http_metrics import HttpMetrics, note_route
from youthmode.server.lane import DecisionLane
from youthmode.server.logs import AccessLog
from youthmode.server.metrics import Metrics
from youthmode.server.openapi import Route
from youthmode.server.problems import ApiProblem, problem_response
from youthmode.server.reloader import PolicyHolder
from youthmode.server.state import ServerState
from youthmode.server.studio import blueprint as studio_blueprint
from youthmode.studio.workspace import Workspace

log = logging.getLogger("youthmode.api")
# Each blueprint's view -> operationId table, by blueprint name (the operation's tag).
OPERATIONS = {
    "decisions": decisions.OPERATIONS,
    "health": health.OPERATIONS,
    "docs": docs_pages.OPERATIONS,
    "ledger": ledger_routes.OPERATIONS,
    "nppa": nppa_routes.OPERATIONS,
}


def create_app(
    config: ServerConfig | None = None,
    *,
    engine: Engine | None = None,
    keys: KeyRing | None = None,
    clock: Clock | None = None,
    nppa: NppaSettings | None = None,
) -> Flask:
    """The decision API. Pass ``engine`` to serve an engine you built (tests, embedding).

    ``clock`` is the app's one clock: the engines it loads decide by it, and the ledger's
    writes, the decision log's `ts`, load times and batch ids read it. Default: the clock of
    the ``engine`` you pass, else the system's.

    ``nppa``: NPPA settings (default: from `YOUTHMODE_NPPA_*`, none when unset); with them and
    a ledger, usage feeds NPPA reporting and the real-name routes are served (server/nppa.py).
    """
    config = config or ServerConfig.from_env()
    app = Flask("youthmode")
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    clock = clock or (engine.clock if engine is not None else system_clock)
    state = build_state(config, engine, keys, clock)
    app.extensions["youthmode"] = state
    state.holder.start_polling(config.poll_seconds)
    _register_errors(app)
    app.register_blueprint(decisions.blueprint(state))
    app.register_blueprint(health.blueprint(state))
    app.register_blueprint(docs_pages.blueprint())
    if state.ledger is not None:
        app.register_blueprint(ledger_routes.blueprint(state))
        _mount_nppa(app, state, nppa)
    state.routes = route_table(app)
    state.metrics.prime(
        [(r.path, r.method.upper()) for r in state.routes], list(state.holder.engine.policies)
    )
    app.before_request(note_route)
    # Policy Studio is a page for people, not part of the API contract: mounted after the route
    # table is taken, so it stays out of the OpenAPI document. Its endpoints need `admin`.
    workspace = Workspace([config.policies])
    served = lambda: state.holder.engine.policies  # noqa: E731 - the set serving right now
    app.register_blueprint(
        studio_blueprint(workspace, served, requires("admin"), clock), url_prefix="/studio"
    )
    # The common decision request is answered beneath Flask (lane.py): same answers, less work.
    app.wsgi_app = DecisionLane(app.wsgi_app, state)  # type: ignore[method-assign]
    app.wsgi_app = HttpMetrics(app.wsgi_app, state.metrics)  # type: ignore[method-assign]
    if config.access_log:
        app.wsgi_app = AccessLog(app.wsgi_app)  # type: ignore[method-assign]
    return app


def _mount_nppa(app: Flask, state: ServerState, settings: NppaSettings | None) -> None:
    """The NPPA routes and usage tracking, when NPPA settings are given or in the environment."""
    settings = settings or NppaSettings.from_env()
    if settings is None or state.ledger is None:
        return
    service = NppaService(settings, state.ledger.store, clock=state.clock)
    state.ledger.usage_listeners.append(service.on_usage)
    app.extensions["youthmode_nppa"] = service
    app.register_blueprint(nppa_routes.blueprint(service))


def build_state(
    config: ServerConfig,
    engine: Engine | None,
    keys: KeyRing | None,
    clock: Clock = system_clock,
) -> ServerState:
    """The policies, keys, decision log, metrics and ledger an app serves from."""
    holder = PolicyHolder(config.policies, config.state_dir, config.default_policy, clock)
    if engine is not None:
        holder.engine = engine
    if keys is None and config.keys_file:
        keys = KeyRing.from_file(config.keys_file)
    if keys is None:
        log.warning(
            "DEVELOPMENT MODE: no API keys configured (YOUTHMODE_KEYS_FILE); every "
            "caller has every scope. Do not expose this server."
        )
    if config.log_key is None and config.decision_log != "off":
        log.warning(
            "no YOUTHMODE_LOG_KEY: decision-log pseudonyms use a random key and will "
            "not match across processes or restarts"
        )
    log_key = (config.log_key or "").encode() or secrets.token_bytes(32)
    ledger = None
    if config.store_url is not None:
        ledger = Ledger(
            lambda: holder.engine,
            open_store(config.store_url, read_deadline=config.store_deadline_ms / 1000),
            clock=clock,
            settings=config.ledger_settings(),
        )
    decision_log = DecisionLog(config.decision_log, log_key, clock=clock)
    state = ServerState(config, holder, keys, decision_log, Metrics(), ledger, clock)
    state.publish_policies()
    holder.on_reload.append(state.after_reload)
    return state


def _register_errors(app: Flask) -> None:
    @app.errorhandler(ApiProblem)
    def on_problem(err: ApiProblem) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if err.status == 401 else None
        return problem_response(err, headers)

    @app.errorhandler(StoreUnavailable)
    def on_store(err: StoreUnavailable) -> Response:
        log.warning("store unavailable: %s", err)
        detail = "the ledger cannot be reached right now; nothing was changed, try again"
        return problem_response(ApiProblem(503, "Store unavailable", detail), {"Retry-After": "5"})

    @app.errorhandler(HTTPException)
    def on_http(err: HTTPException) -> Response:
        status = err.code or 500
        titles = {
            404: "Not found",
            405: "Method not allowed",
            413: "Content too large",
            415: "Unsupported media type",
        }
        detail = {
            404: f"no endpoint at `{request.path}`",
            405: f"`{request.method}` is not allowed on `{request.path}`",
            413: "the body is larger than the server accepts",
        }.get(status, err.description or "")
        headers = {}
        if status == 405 and err.get_response().headers.get("Allow"):
            headers["Allow"] = err.get_response().headers["Allow"]
        title = titles.get(status, err.name)
        return problem_response(ApiProblem(status, title, detail), headers)

    @app.errorhandler(Exception)
    def on_unexpected(err: Exception) -> Response:  # pragma: no cover - a bug, logged loudly
        trace_id = request_id()  # the X-Request-Id of the answer: one id to grep the logs for
        log.exception("unexpected error (trace %s)", trace_id)
        return problem_response(
            ApiProblem(500, "Internal error", f"unexpected error; trace id {trace_id}")
        )

    @app.after_request
    def tag(response: Response) -> Response:
        response.headers["X-Request-Id"] = request_id()
        return response


def route_table(app: Flask) -> list[Route]:
    """Every operation the app's blueprints serve (the OpenAPI document lists these)."""
    routes = []
    for rule in app.url_map.iter_rules():
        tag, dot, view = rule.endpoint.partition(".")
        if not dot:
            continue  # Flask's own `static` route: not part of the API
        path = rule.rule.replace("<", "{").replace(">", "}")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append(Route(method.lower(), path, tag, OPERATIONS[tag][view]))
    return routes
